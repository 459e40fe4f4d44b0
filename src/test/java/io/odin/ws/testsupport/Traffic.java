package io.odin.ws.testsupport;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady publish traffic through the real HTTP API, paced by a timer: every tick one request with
 * {@code perTick} targeted messages for the given tokens (round robin) and, every {@code broadcastEvery} ticks,
 * one broadcast. At most one request is in flight.
 */
public final class Traffic implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
  private final HttpClient http;
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private long tick;
  private int next;
  private boolean inFlight;

  public Traffic(int httpPort, List<String> tokens, long tickMillis, int perTick, int broadcastEvery) {
    http = vertx.createHttpClient();
    vertx.setPeriodic(tickMillis, id -> {
      if (inFlight) {
        return;
      }
      JsonArray batch = new JsonArray();
      for (int i = 0; i < perTick; i++) {
        String token = tokens.get(next++ % tokens.size());
        batch.add(new JsonObject().put("type", "order").put("token", token).put("data", new JsonObject().put("n", next)));
      }
      if (broadcastEvery > 0 && tick++ % broadcastEvery == 0) {
        batch.add(new JsonObject().put("type", "news").put("broadcast", true).put("data", new JsonObject().put("tick", tick)));
      }
      inFlight = true;
      http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(httpPort).setURI("/api/publish"))
        .compose(req -> req.putHeader("content-type", "application/json").send(Buffer.buffer(batch.encode())))
        .compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          inFlight = false;
          if (ar.succeeded() && ar.result() == 202) {
            accepted.addAndGet(batch.size());
          } else {
            failed.incrementAndGet();
          }
        });
    });
  }

  /** Messages the API accepted so far. */
  public long accepted() {
    return accepted.get();
  }

  public long failedRequests() {
    return failed.get();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
