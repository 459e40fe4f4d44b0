package io.odin.ws.bench;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerOptions;

/**
 * The baseline of docs/benchmarks.md's memory figures: a Vert.x 5 WebSocket server that accepts every upgrade
 * and does nothing else (native transport when available, one server instance per core, Vert.x's defaults
 * otherwise; {@code -Dstrict=true} turns on strict thread mode). Answers plain requests with 200, so the load
 * tool's readiness probe and {@code /health} polls find it. Run from the test classpath:
 * <pre>java -cp target/test-classes:target/classes:$(cat cp.txt) io.odin.ws.bench.MinimalVertxServer PORT</pre>
 */
public final class MinimalVertxServer extends VerticleBase {

  private final int port;

  MinimalVertxServer(int port) {
    this.port = port;
  }

  @Override
  public Future<?> start() {
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port)
        .setStrictThreadMode(Boolean.getBoolean("strict")))
      .webSocketHandler(ws -> { })
      .requestHandler(r -> r.response().end("{}"))
      .listen();
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new MinimalVertxServer(port), new DeploymentOptions().setInstances(Runtime.getRuntime().availableProcessors()))
      .onSuccess(id -> System.out.println("minimal Vert.x server on " + port + ", native transport " + vertx.isNativeTransportEnabled()))
      .onFailure(t -> {
        t.printStackTrace();
        System.exit(1);
      });
  }
}
