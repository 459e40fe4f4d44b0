package io.odin.ws;

import io.odin.ws.api.ApiSettings;
import io.odin.ws.api.ApiVerticle;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.auth.JwksRefresher;
import io.odin.ws.cluster.ClusterVerticle;
import io.odin.ws.cluster.NodeBatch;
import io.odin.ws.cluster.NodeBatchCodec;
import io.odin.ws.cluster.NodeRelayVerticle;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.dispatch.DispatchBatch;
import io.odin.ws.dispatch.DispatchSettingVerticle;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.auth.ChannelAccess;
import io.odin.ws.dispatch.DispatchBatch;
import io.odin.ws.dispatch.DispatchVerticle;
import io.odin.ws.protocol.Envelope;
import java.util.List;
import java.util.function.Function;
import io.odin.ws.dispatch.LocalCodec;
import io.odin.ws.dispatch.RoutingPlan;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.MemoryHistory;
import io.odin.ws.ingest.KafkaPoolVerticle;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.metrics.VertxMetricsSetup;
import io.odin.ws.node.ConnectionLimits;
import io.odin.ws.node.NodeContext;
import io.odin.ws.registry.ConnectionRegistry;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.shard.ShardBatch;
import io.odin.ws.shard.ShardListener;
import io.odin.ws.shard.ShardSettings;
import io.odin.ws.shard.ShardVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.EventBus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The main verticle: takes the configuration the launcher resolved (or, deployed by tests or by name, resolves its
 * deployment config with the environment), builds the node's shared parts and deploys every role with
 * its instance count: dispatchers, then shards, then (clustered) the relay for other nodes' batches, then the
 * management API, and last (clustered) the cluster membership, which announces the shards once they listen.
 */
public final class BootstrapVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(BootstrapVerticle.class);

  private final GatewayConfig resolved;
  private final Map<String, String> env;
  private final Function<GatewayConfig, ConnectionRegistry> registryOverride;
  private NodeContext node;

  /** Deployed by name: resolves its deployment config with the process environment. */
  public BootstrapVerticle() {
    this(System.getenv());
  }

  /** With the configuration the launcher resolved and checked (and applied to logging) before Vert.x started. */
  public BootstrapVerticle(GatewayConfig resolved) {
    this.resolved = resolved;
    this.env = null;
    this.registryOverride = null;
  }

  /** With an explicit environment, for tests. */
  public BootstrapVerticle(Map<String, String> env) {
    this(env, null);
  }

  /** With an explicit environment and, unless null, a registry of the test's choosing instead of the configured one. */
  public BootstrapVerticle(Map<String, String> env, Function<GatewayConfig, ConnectionRegistry> registryOverride) {
    this.resolved = null;
    this.env = env;
    this.registryOverride = registryOverride;
  }

  @Override
  public Future<?> start() {
    GatewayConfig config;
    try {
      config = resolved != null ? resolved : resolveDeploymentConfig();
    } catch (ConfigException e) {
      return Future.failedFuture(new ConfigException("invalid configuration: " + e.getMessage()));
    }
    boolean clustered = vertx.isClustered();
    ConnectionLimits connectionLimits = new ConnectionLimits(ShardSettings.maxConnections(config),
      config.getInt(ShardSettings.MAX_CONNECTIONS_PER_IP), config.getInt(ShardSettings.MAX_CONNECTIONS_PER_TOKEN),
      config.getInt(ShardSettings.MAX_HANDSHAKES_PER_SECOND));
    node = new NodeContext(config, config.getInt(DispatchSettings.INSTANCES), DispatchSettings.initialSetting(config),
      connectionLimits,
      n -> registryOverride != null ? registryOverride.apply(config)
        : RegistrySettings.create(vertx, config, n.nodeId(), n.directory(), n.metrics(), n::dependency),
      VertxMetricsSetup.registryOf(vertx));
    LogSettings.nodeId(node.nodeId());
    ConnectionRegistry registry = node.registry();
    if (clustered && !RegistrySettings.redisEnabled(config)) {
      log.warn("clustered without redis.url: every targeted message goes to every shard of the cluster");
    }
    registerCodecs(vertx.eventBus());
    if (registry.history() instanceof MemoryHistory memory) {
      // streams of tokens nobody holds any more go history.ttlMs after their last message
      HistorySettings history = new HistorySettings(config);
      vertx.setPeriodic(Math.max(1_000, history.ttlMillis / 10), id -> memory.sweep());
    }
    int shards = ShardSettings.shardCount(config);
    int dispatchers = node.dispatcherCount();
    AtomicInteger nextDispatcher = new AtomicInteger();
    AtomicInteger nextShard = new AtomicInteger();
    // the WebSocket port: one acceptor that hands each connection to the next shard's event loop
    ShardListener wsPort = new ShardListener(vertx, config);
    // JWKS keys first, so the shards find them once they listen
    // who each connection is for (?token= or a JWT): one authenticator shared by the node's shards
    AuthSettings authSettings = new AuthSettings(config);
    ClientAuthenticator clientAuth = new ClientAuthenticator(authSettings);
    // who may subscribe to which channel; join and leave events go through a dispatcher like any channel message
    ChannelAccess channelAccess = new ChannelAccess(authSettings);
    Function<List<Envelope>, Future<?>> publisher = envelopes -> vertx.eventBus()
      .request(node.nextDispatcherAddress(), new DispatchBatch(envelopes, System.nanoTime()));
    Future<String> jwks = config.getString(AuthSettings.JWKS_URL).isEmpty() || !clientAuth.jwt()
      ? Future.succeededFuture("") : vertx.deployVerticle(new JwksRefresher(clientAuth, node));
    return jwks.compose(j -> vertx.deployVerticle(() -> new DispatchVerticle(node, nextDispatcher.getAndIncrement()),
        new DeploymentOptions().setInstances(dispatchers)))
      .compose(id -> vertx.deployVerticle(() -> new ShardVerticle(node, nextShard.getAndIncrement(), clientAuth, channelAccess,
          wsPort, publisher),
        new DeploymentOptions().setInstances(shards)))
      .compose(id -> clustered ? vertx.deployVerticle(new NodeRelayVerticle(node)) : Future.succeededFuture(id))
      // the cluster's dispatch setting before this node takes traffic
      .compose(id -> vertx.deployVerticle(new DispatchSettingVerticle(node)))
      .compose(id -> vertx.deployVerticle(new ApiVerticle(node)))
      .compose(id -> deployKafkaPool(config))
      // last: announce this node's shards to the cluster once they all listen
      .compose(id -> clustered ? vertx.deployVerticle(new ClusterVerticle(node)) : Future.succeededFuture(id))
      .onSuccess(id -> node.markStarted())
      // the first line that says the node listens: every listener is up by now
      .onSuccess(id -> log.info("odin-ws node {} up: WebSocket ws://{}:{}{}, management http://{}:{}; {} shards, {} dispatchers,"
          + " registry {}, transport {}{}", node.nodeId(),
        config.getString(ShardSettings.HOST), config.getInt(ShardSettings.PORT), config.getString(ShardSettings.PATH),
        config.getString(ApiSettings.HOST), config.getInt(ApiSettings.PORT),
        shards, dispatchers, registry.kind(), transport(config), clustered ? ", clustered" : ""));
  }

  /** Deployed without the launcher's configuration: the deployment config with the environment, applied to logging. */
  private GatewayConfig resolveDeploymentConfig() {
    GatewayConfig config = GatewaySchema.resolve(config(), env);
    LogSettings.apply(config);
    return config;
  }

  /** Which I/O transport the node runs on; a wanted native transport that did not load is a warning, with why. */
  private String transport(GatewayConfig config) {
    if (vertx.isNativeTransportEnabled()) {
      return "epoll";
    }
    if (config.getBoolean(NodeContext.NATIVE_TRANSPORT)) {
      Throwable cause = vertx.unavailableNativeTransportCause();
      log.warn("native transport unavailable, running on Java NIO: {}", cause == null ? "unknown" : cause.toString());
    }
    return "nio";
  }

  /** The node's Kafka consumer pool, when kafka.bootstrapServers is set: it needs no broker to start. */
  private Future<String> deployKafkaPool(GatewayConfig config) {
    if (!KafkaSettings.enabled(config)) {
      return Future.succeededFuture("");
    }
    AtomicInteger nextConsumer = new AtomicInteger();
    return vertx.deployVerticle(() -> new KafkaPoolVerticle(node, nextConsumer.getAndIncrement()),
      new DeploymentOptions().setInstances(config.getInt(KafkaSettings.CONSUMERS)));
  }

  @Override
  public Future<?> stop() {
    EventBus bus = vertx.eventBus();
    bus.unregisterDefaultCodec(ShardBatch.class);
    bus.unregisterDefaultCodec(DispatchBatch.class);
    bus.unregisterDefaultCodec(RoutingPlan.class);
    bus.unregisterDefaultCodec(NodeBatch.class);
    return node != null ? node.registry().close() : Future.succeededFuture();
  }

  /** This node's shared parts, once started. */
  public NodeContext node() {
    return node;
  }

  private static void registerCodecs(EventBus bus) {
    bus.registerDefaultCodec(ShardBatch.class, new LocalCodec<>(ShardBatch.class));
    bus.registerDefaultCodec(DispatchBatch.class, new LocalCodec<>(DispatchBatch.class));
    bus.registerDefaultCodec(RoutingPlan.class, new LocalCodec<>(RoutingPlan.class));
    bus.registerDefaultCodec(NodeBatch.class, new NodeBatchCodec());
  }
}
