package io.odin.ws.status;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.node.NodeContext;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * What the management port shows about the node: {@code GET /metrics} (Prometheus text), {@code GET /} (the
 * status page, one self-contained HTML file) and {@code GET /api/stats} (the JSON the page polls).
 */
public final class StatusRoutes {

  static final String PAGE_RESOURCE = "/io/odin/ws/status/status.html";
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final Vertx vertx;
  private final NodeContext node;
  private final Buffer page;

  private StatusRoutes(Vertx vertx, NodeContext node) {
    this.vertx = vertx;
    this.node = node;
    this.page = loadPage();
  }

  public static void mount(Router router, Vertx vertx, NodeContext node) {
    StatusRoutes routes = new StatusRoutes(vertx, node);
    router.get("/metrics").handler(routes::metrics);
    router.get("/api/stats").handler(routes::stats);
    router.get("/").handler(routes::page);
    // HEAD like GET, without the body (Vert.x leaves it out): link checkers and load balancers ask so
    router.head("/").handler(routes::page);
  }

  private void metrics(RoutingContext ctx) {
    PrometheusMeterRegistry registry = node.prometheus();
    // a scrape walks every meter: off the event loop, which is one of the shards' loops
    vertx.executeBlocking(registry::scrape, false).onComplete(ar -> {
      if (ar.succeeded()) {
        ctx.response().putHeader("content-type", PROMETHEUS_TEXT).end(ar.result());
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  private void stats(RoutingContext ctx) {
    JsonObject self = NodeStats.snapshot(node);
    node.clusterStats().nodes(self)
      .recover(t -> Future.succeededFuture(List.of(self)))
      .onSuccess(nodes -> ctx.response()
        .putHeader("content-type", "application/json")
        .putHeader("cache-control", "no-store")
        .end(new JsonObject().put("self", node.nodeId()).put("nodes", new JsonArray(nodes)).encode()));
  }

  private void page(RoutingContext ctx) {
    ctx.response()
      .putHeader("content-type", "text/html; charset=utf-8")
      .putHeader("cache-control", "no-cache")
      .end(page);
  }

  private static Buffer loadPage() {
    try (InputStream in = StatusRoutes.class.getResourceAsStream(PAGE_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + PAGE_RESOURCE);
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
