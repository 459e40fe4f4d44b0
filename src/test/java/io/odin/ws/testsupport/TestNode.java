package io.odin.ws.testsupport;

import io.odin.ws.GatewaySchema;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.BootstrapVerticle;
import io.odin.ws.node.NodeContext;
import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.cluster.HazelcastConfigs;
import io.odin.ws.config.GatewayConfig;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.odin.ws.metrics.VertxMetricsSetup;
import io.odin.ws.registry.ConnectionRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.MicrometerMetricsFactory;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A real odin-ws node in this JVM: its own Vert.x instance, the bootstrap verticle and every role, listening
 * on free loopback ports.
 */
public final class TestNode implements AutoCloseable {

  public final Vertx vertx;
  public final int wsPort;
  public final int httpPort;
  private final BootstrapVerticle bootstrap;
  private final String deploymentId;

  private TestNode(Vertx vertx, BootstrapVerticle bootstrap, String deploymentId, int wsPort, int httpPort) {
    this.vertx = vertx;
    this.bootstrap = bootstrap;
    this.deploymentId = deploymentId;
    this.wsPort = wsPort;
    this.httpPort = httpPort;
  }

  private static final AtomicInteger METRICS_REGISTRIES = new AtomicInteger();

  /** Starts a node with {@code shards} shards and extra config keys. */
  public static TestNode start(int shards, JsonObject extra) {
    return builder().shards(shards).config(extra).start();
  }

  /** For nodes with Vert.x metrics on or a registry of the test's choosing. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a test node. */
  public static final class Builder {
    private int shards = 2;
    private JsonObject extra;
    private boolean metrics;
    private Function<GatewayConfig, ConnectionRegistry> registry;
    private boolean clustered;

    public Builder shards(int shards) {
      this.shards = shards;
      return this;
    }

    public Builder config(JsonObject extra) {
      this.extra = extra;
      return this;
    }

    /**
     * Vert.x's own metrics (event bus, HTTP, WebSocket, JVM) on, as the launcher does, in a Prometheus registry of
     * this node's: /metrics then shows what it shows in production.
     */
    public Builder vertxMetrics(boolean on) {
      this.metrics = on;
      return this;
    }

    /** A connection registry instead of the in-memory one. */
    public Builder registry(Function<GatewayConfig, ConnectionRegistry> registry) {
      this.registry = registry;
      return this;
    }

    /**
     * A clustered node: Hazelcast from the cluster.* keys of its config, and the event bus options the launcher
     * sets (address, and mutual TLS when cluster.tls is on). Quicker than a {@link ChildNode} JVM.
     */
    public Builder clustered(boolean on) {
      this.clustered = on;
      return this;
    }

    public TestNode start() {
      return TestNode.start(this);
    }
  }

  private static TestNode start(Builder b) {
    int shards = b.shards;
    JsonObject extra = b.extra;
    int wsPort = Ports.free();
    int httpPort = Ports.free();
    JsonObject conf = new JsonObject()
      .put("ws.host", "127.0.0.1")
      .put("ws.port", wsPort)
      .put("http.host", "127.0.0.1")
      .put("http.port", httpPort)
      .put("shards.instances", shards);
    if (extra != null) {
      conf.mergeIn(extra);
    }
    // the transport production runs on (node.nativeTransport defaults to true)
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(Math.max(shards, 2)).setPreferNativeTransport(true);
    Vertx vertx;
    if (b.metrics) {
      // a registry name of its own: Vert.x keeps metrics backends in a JVM-wide map by name
      options.setMetricsOptions(VertxMetricsSetup.options("test-node-" + METRICS_REGISTRIES.incrementAndGet()));
      vertx = Vertx.builder().with(options)
        .withMetrics(new MicrometerMetricsFactory(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))).build();
    } else if (b.clustered) {
      ClusterSettings cluster = new ClusterSettings(GatewaySchema.resolve(conf, Map.of()));
      options.getEventBusOptions().setHost(cluster.host()).setPort(0);
      cluster.applyEventBusTls(options.getEventBusOptions());
      try {
        vertx = Vertx.builder().with(options)
          .withClusterManager(new HazelcastClusterManager(HazelcastConfigs.build(cluster)))
          .buildClustered().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException("clustered Vert.x did not start", e);
      }
    } else {
      vertx = Vertx.vertx(options);
    }
    BootstrapVerticle bootstrap = new BootstrapVerticle(Map.of(), b.registry);
    try {
      String id = vertx.deployVerticle(bootstrap, new DeploymentOptions().setConfig(conf))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      return new TestNode(vertx, bootstrap, id, wsPort, httpPort);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("node did not start", e);
    }
  }

  public static TestNode start(int shards) {
    return start(shards, null);
  }

  public NodeContext node() {
    return bootstrap.node();
  }

  /** Open WebSocket connections over the node's shards, as /health counts them. */
  public int connections() {
    return node().shardSummary().connections();
  }

  public String wsUri(String token) {
    return "/ws?token=" + token;
  }

  /** Undeploys everything (the graceful path), then closes Vert.x. */
  @Override
  public void close() throws Exception {
    try {
      vertx.undeploy(deploymentId).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
