package io.odin.ws.api;

import io.odin.ws.NodeContext;
import io.odin.ws.auth.ApiKeys;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.dispatch.DispatchBatch;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.dispatch.RoutingPlan;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeException;
import io.odin.ws.protocol.EnvelopeParser;
import io.odin.ws.shard.ShardSettings;
import io.odin.ws.status.StatusRoutes;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The management port: {@code POST /api/publish}, {@code GET /health}, {@code GET /health/ready}, and what
 * {@link StatusRoutes} adds: {@code GET /metrics}, {@code GET /} (status page), {@code GET /api/stats}.
 * It parses and checks envelopes, then hands them to a dispatcher and answers once they reached the shards.
 */
public final class ApiVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(ApiVerticle.class);

  private final NodeContext node;
  private EnvelopeParser parser;
  private DeliveryOptions handoff;
  private HttpServer server;
  private Runnable tlsWatch = () -> { };

  public ApiVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    parser = DispatchSettings.parser(node.config());
    handoff = new DeliveryOptions().setSendTimeout(node.config().getInt(DispatchSettings.HANDOFF_TIMEOUT_MS));
    Router router = Router.router(vertx);
    router.route().handler(apiKeyGuard(new ApiKeys(node.config())));
    router.post("/api/publish")
      .handler(BodyHandler.create(false).setBodyLimit(node.config().getInt(ApiSettings.MAX_BODY_BYTES)))
      .handler(this::publish);
    router.get("/health").handler(this::health);
    router.get("/health/ready").handler(this::ready);
    StatusRoutes.mount(router, vertx, node);
    server = vertx.createHttpServer(TlsSettings.apply(node.config(), new HttpServerOptions()));
    tlsWatch = TlsSettings.watch(vertx, server, node.config());
    return server.requestHandler(router)
      .listen(node.config().getInt(ApiSettings.PORT), node.config().getString(ApiSettings.HOST))
      .onSuccess(s -> log.info("management API listening on {}:{}", node.config().getString(ApiSettings.HOST), s.actualPort()));
  }

  @Override
  public Future<?> stop() {
    tlsWatch.run();
    return server.close();
  }

  /** 401 for a request that needs an API key (api.keys) and does not present one; the next handler otherwise. */
  private io.vertx.core.Handler<RoutingContext> apiKeyGuard(ApiKeys keys) {
    return ctx -> {
      HttpServerRequest r = ctx.request();
      if (keys.required(r.method().name(), r.path()) && !keys.presented(r.getHeader("authorization"), r.getHeader("x-api-key"))) {
        node.metrics().apiUnauthorized();
        ctx.response().putHeader("www-authenticate", "Bearer");
        json(ctx, 401, new JsonObject().put("error", "API key required: Authorization: Bearer <key> or X-API-Key: <key>"));
      } else {
        ctx.next();
      }
    };
  }

  private void publish(RoutingContext ctx) {
    long now = System.currentTimeMillis();
    if (ctx.body().buffer() == null || ctx.body().length() == 0) {
      badRequest(ctx, "body: empty (send one envelope or an array of envelopes)");
      return;
    }
    List<Envelope> envelopes;
    try {
      envelopes = parser.parseBatch(ctx.body().buffer().getBytes(), now);
    } catch (EnvelopeException e) {
      badRequest(ctx, e.getMessage());
      return;
    }
    if (envelopes.isEmpty()) {
      json(ctx, 202, new JsonObject().put("accepted", 0));
      return;
    }
    vertx.eventBus().<RoutingPlan>request(node.nextDispatcherAddress(), new DispatchBatch(envelopes), handoff)
      .onSuccess(reply -> {
        RoutingPlan plan = reply.body();
        json(ctx, 202, new JsonObject()
          .put("accepted", envelopes.size())
          .put("targeted", plan.targeted())
          .put("broadcast", plan.broadcast())
          .put("fallback", plan.fallback())
          .put("undeliverable", plan.undeliverable()));
      })
      .onFailure(t -> {
        boolean timeout = t instanceof ReplyException && ((ReplyException) t).failureType() == ReplyFailure.TIMEOUT;
        node.metrics().dropped(io.odin.ws.metrics.GatewayMetrics.DropReason.OVERLOAD, envelopes.size());
        json(ctx, 503, new JsonObject().put("error", timeout
          ? "dispatch did not take the messages in time; retry later"
          : "dispatch failed: " + t.getMessage()));
      });
  }

  private void badRequest(RoutingContext ctx, String message) {
    node.metrics().publishRejected();
    json(ctx, 400, new JsonObject().put("error", message));
  }

  private void health(RoutingContext ctx) {
    JsonArray shards = new JsonArray();
    int total = 0;
    for (NodeContext.ShardStatus s : node.shards().values()) {
      int n = s.connections();
      total += n;
      shards.add(new JsonObject().put("address", s.address()).put("connections", n));
    }
    JsonObject deps = new JsonObject();
    for (Map.Entry<String, Supplier<JsonObject>> e : node.dependencies().entrySet()) {
      deps.put(e.getKey(), e.getValue().get());
    }
    json(ctx, 200, new JsonObject()
      .put("node", node.nodeId())
      .put("status", "up")
      .put("connections", total)
      .put("shards", shards)
      .put("dependencies", deps));
  }

  private void ready(RoutingContext ctx) {
    int expected = ShardSettings.shardCount(node.config());
    int listening = node.shards().size();
    // every verticle deployed (cluster membership and Kafka pool included), not only the shards listening
    boolean ready = node.started() && listening >= expected;
    json(ctx, ready ? 200 : 503, new JsonObject()
      .put("ready", ready)
      .put("started", node.started())
      .put("shardsListening", listening)
      .put("shardsExpected", expected));
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
