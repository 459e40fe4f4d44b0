package io.odin.ws.testsupport;

import io.odin.ws.BootstrapVerticle;
import io.odin.ws.NodeContext;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.concurrent.TimeUnit;

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

  /** Starts a node with {@code shards} shards and extra config keys. */
  public static TestNode start(int shards, JsonObject extra) {
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
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(Math.max(shards, 2)));
    BootstrapVerticle bootstrap = new BootstrapVerticle(Map.of());
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
