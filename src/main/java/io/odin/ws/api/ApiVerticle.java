package io.odin.ws.api;

import io.odin.ws.node.NodeContext;
import io.odin.ws.node.ShardSummary;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.auth.ApiKeys;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.dispatch.DispatchBatch;
import io.odin.ws.node.DispatchSetting;
import io.odin.ws.dispatch.DispatchSettingVerticle;
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
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.logging.RateLimitedLog;
import io.odin.ws.metrics.GatewayMetrics.DropReason;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The management port: {@code POST /api/publish}, {@code PUT|GET /api/dispatch}, {@code GET /api/channels/{name}}, {@code GET /health}, {@code GET /health/ready}, and what
 * {@link StatusRoutes} adds: {@code GET /metrics}, {@code GET /} (status page), {@code GET /api/stats}.
 * It parses and checks envelopes, then hands them to a dispatcher (the requests of one event-loop turn as one batch,
 * {@link PublishCoalescer}) and answers once they reached the shards.
 * <p>
 * The edge fails closed: publish takes only {@code application/json} (415), bodies are admitted by
 * {@link BodyAdmission} before and while they are read (413, 503), a request has {@code http.requestTimeoutMs}
 * from its head to its answer (408, connection closed), and malformed requests are counted in
 * {@code odin_http_rejected_total{reason}} and logged at most once per reason per 10 s, without stack traces.
 */
public final class ApiVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(ApiVerticle.class);
  private static final long REJECT_LOG_INTERVAL_MS = 10_000;
  private static final long CLOSE_GRACE_MS = 2_000;

  private final NodeContext node;
  private final RateLimitedLog rejectLog = new RateLimitedLog(log, REJECT_LOG_INTERVAL_MS);
  /** Connections whose first request head has not arrived yet, with the timer that closes them if it never does. */
  private final Map<HttpConnection, Long> awaitingHead = new HashMap<>();
  private EnvelopeParser parser;
  private BodyAdmission admission;
  private int maxEnvelopes;
  private long requestTimeoutMs;
  private DeliveryOptions handoff;
  private PublishCoalescer coalescer;
  private HttpServer server;
  private Runnable tlsWatch = () -> { };

  public ApiVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    GatewayConfig config = node.config();
    parser = DispatchSettings.parser(config);
    admission = new BodyAdmission(config.getInt(ApiSettings.MAX_BODY_BYTES), config.getInt(ApiSettings.MAX_IN_FLIGHT_BODY_BYTES));
    maxEnvelopes = config.getInt(ApiSettings.MAX_ENVELOPES_PER_REQUEST);
    requestTimeoutMs = config.getInt(ApiSettings.REQUEST_TIMEOUT_MS);
    handoff = new DeliveryOptions().setSendTimeout(config.getInt(DispatchSettings.HANDOFF_TIMEOUT_MS));
    coalescer = new PublishCoalescer(
      batch -> vertx.eventBus().<RoutingPlan>request(node.nextDispatcherAddress(), new DispatchBatch(batch), handoff).map(m -> m.body()),
      task -> context.runOnContext(v -> task.run()),
      config.getInt(ApiSettings.COALESCE_MAX_ENVELOPES));
    Router router = Router.router(vertx);
    router.route().handler(this::deadline);
    // before any body is read: a request without a valid key (api.keys) is answered 401 at once
    router.route().handler(apiKeyGuard(new ApiKeys(node.config())));
    router.post("/api/publish").handler(this::publish);
    // the rollout switch of the whole cluster (docs/rollout.md): beside publish, behind the same protection
    router.put("/api/dispatch")
      .handler(BodyHandler.create(false).setBodyLimit(4096))
      .handler(this::changeDispatch);
    router.get("/api/dispatch").handler(ctx -> json(ctx, 200, node.dispatchControl().current().toJson()));
    // presence: a channel's subscribers across the cluster, from the registry (no node is asked)
    router.get(CHANNELS_PATH + "*").handler(this::channelCount);
    router.get("/health").handler(this::health);
    router.get("/health/ready").handler(this::ready);
    router.head("/health").handler(this::health);
    router.head("/health/ready").handler(this::ready);
    StatusRoutes.mount(router, vertx, node);
    // a request the router could not serve: one rate-limited line, no stack trace for what a client sent
    router.errorHandler(400, ctx -> rejected("malformed_http", "management request refused: {}", describe(ctx.failure())));
    router.errorHandler(500, ctx -> log.error("management request {} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure()));
    // a path or a method nothing serves: JSON like every other answer of this port (Vert.x's own are an HTML page and
    // an empty body), saying what was asked and, for a known path, which method it takes
    router.errorHandler(404, ctx -> json(ctx, 404, new JsonObject().put("error",
      "no such endpoint: " + ctx.request().method() + " " + truncate(ctx.request().path()))));
    router.errorHandler(405, ctx -> {
      String allow = allowedMethods(router, ctx.request().path());
      ctx.response().putHeader(HttpHeaders.ALLOW, allow);
      json(ctx, 405, new JsonObject().put("error", ctx.request().method() + " " + truncate(ctx.request().path())
        + ": method not allowed; use " + allow));
    });
    server = vertx.createHttpServer(TlsSettings.apply(node.config(), new HttpServerOptions()
      // HTTP/1.1 only: no h2c upgrade or prior-knowledge HTTP/2 (Vert.x's default is on), whose streams multiplexed
      // on one connection would sidestep the per-request limits below; with TLS, ALPN stays off so h2 is not offered
      .setHttp2ClearTextEnabled(false)
      // a connection silent for this long (half a request head, a stalled body, an idle keep-alive) is closed. A read
      // idle timeout only: an all-idle one puts a listener on every write of the process's HTTP connections, which
      // cost targeted delivery a third more CPU and several times its p99 (docs/benchmarks.md)
      // one second past the request deadline, so a stalled request gets its 408 before the connection is cut
      .setReadIdleTimeout((int) requestTimeoutMs + 1_000).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)));
    tlsWatch = TlsSettings.watch(vertx, server, node.config());
    return server
      .invalidRequestHandler(this::invalidRequest)
      .connectionHandler(this::connected)
      .exceptionHandler(t -> log.debug("management connection failed: {}", t.toString()))
      .requestHandler(req -> {
        Long timer = awaitingHead.remove(req.connection());
        if (timer != null) {
          vertx.cancelTimer(timer);
        }
        router.handle(req);
      })
      // the node says it listens once every listener is up (BootstrapVerticle)
      .listen(config.getInt(ApiSettings.PORT), config.getString(ApiSettings.HOST))
      .recover(t -> Future.failedFuture(ListenFailure.of(config.getString(ApiSettings.HOST), config.getInt(ApiSettings.PORT),
        ApiSettings.PORT, t)));
  }

  @Override
  public Future<?> stop() {
    tlsWatch.run();
    return server.close();
  }

  /** A connection must send a complete request head within the request timeout (a trickled head is cut off). */
  private void connected(HttpConnection conn) {
    long timer = vertx.setTimer(requestTimeoutMs, id -> {
      if (awaitingHead.remove(conn) != null) {
        rejected("request_timeout", "management connection from {} sent no complete request in {} ms: closed",
          conn.remoteAddress(), requestTimeoutMs);
        conn.close();
      }
    });
    awaitingHead.put(conn, timer);
    conn.closeHandler(v -> {
      Long t = awaitingHead.remove(conn);
      if (t != null) {
        vertx.cancelTimer(t);
      }
    });
    // resets and decoder failures would otherwise be logged by Vert.x with a stack trace each
    conn.exceptionHandler(t -> log.debug("management connection {}: {}", conn.remoteAddress(), t.toString()));
  }

  /** A request head Netty could not decode: Vert.x's default answer (400, 414, 431), counted and logged once per 10 s. */
  private void invalidRequest(HttpServerRequest req) {
    Throwable cause = req.decoderResult().cause();
    rejected("malformed_http", "malformed management request from {}: {}", req.remoteAddress(),
      cause == null ? "invalid request" : describe(cause));
    HttpServerRequest.DEFAULT_INVALID_REQUEST_HANDLER.handle(req);
  }

  /** Every request is answered within {@code http.requestTimeoutMs} of its head, or its connection is closed. */
  private void deadline(RoutingContext ctx) {
    long timer = vertx.setTimer(requestTimeoutMs, id -> {
      HttpServerResponse resp = ctx.response();
      if (resp.ended() || resp.closed()) {
        return;
      }
      rejected("request_timeout", "management request {} {} from {} not complete after {} ms: closed",
        ctx.request().method(), ctx.request().path(), ctx.request().remoteAddress(), requestTimeoutMs);
      if (resp.headWritten()) {
        ctx.request().connection().close();
      } else {
        answerAndClose(ctx, 408, "request not complete within " + requestTimeoutMs + " ms (http.requestTimeoutMs)");
      }
    });
    ctx.addEndHandler(ar -> vertx.cancelTimer(timer));
    ctx.next();
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
    HttpServerRequest req = ctx.request();
    String contentType = req.getHeader(HttpHeaders.CONTENT_TYPE);
    if (!BodyAdmission.isJson(contentType)) {
      refuse(ctx, 415, "unsupported_media_type", "content-type: publish takes application/json, got "
        + (contentType == null ? "none" : "'" + truncate(contentType) + "'"));
      return;
    }
    String lengthHeader = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    long length;
    try {
      length = lengthHeader == null ? -1 : Long.parseLong(lengthHeader.trim());
    } catch (NumberFormatException e) {
      refuse(ctx, 400, "malformed_http", "content-length: not a number");
      return;
    }
    Body body = new Body(length);
    if (length >= 0) {
      BodyAdmission.Verdict verdict = admission.admit(length);
      if (verdict != BodyAdmission.Verdict.ADMIT) {
        refuse(ctx, verdict, length);
        return;
      }
      body.reserved = length;
      inFlightChanged();
    }
    // given back once the request is answered or its connection closes, whatever happened in between
    ctx.addEndHandler(ar -> {
      admission.release(body.reserved);
      body.reserved = 0;
      inFlightChanged();
    });
    if (req.isEnded()) {
      handleBody(ctx, body.buffer);
      return;
    }
    if ("100-continue".equalsIgnoreCase(req.getHeader(HttpHeaders.EXPECT))) {
      // the body is admitted: only now ask the client for it (curl waits for this on bodies over 1 KiB)
      ctx.response().writeContinue();
    }
    req.handler(chunk -> {
      if (body.refused) {
        return;
      }
      if (length < 0) {
        BodyAdmission.Verdict verdict = admission.grow(body.buffer.length(), chunk.length());
        if (verdict != BodyAdmission.Verdict.ADMIT) {
          body.refused = true;
          refuse(ctx, verdict, body.buffer.length() + chunk.length());
          return;
        }
        body.reserved += chunk.length();
        inFlightChanged();
      }
      body.buffer.appendBuffer(chunk);
    });
    req.exceptionHandler(t -> {
      if (t instanceof HttpClosedException) {
        // the client went away mid-body (or the request timeout closed it): nothing to answer, nothing malformed
        body.refused = true;
      } else if (!body.refused) {
        body.refused = true;
        refuse(ctx, 400, "malformed_http", "body: " + describe(t));
      }
    });
    req.endHandler(v -> {
      if (!body.refused) {
        handleBody(ctx, body.buffer);
      }
    });
  }

  private void handleBody(RoutingContext ctx, Buffer buffer) {
    long now = System.currentTimeMillis();
    if (buffer.length() == 0) {
      badRequest(ctx, "not_json", "body: empty (send one envelope or an array of envelopes)");
      return;
    }
    List<Envelope> envelopes;
    try {
      envelopes = parser.parseBatch(buffer.getBytes(), now, maxEnvelopes);
    } catch (EnvelopeException e) {
      badRequest(ctx, e.reason().label(), e.getMessage());
      return;
    }
    if (envelopes.isEmpty()) {
      json(ctx, 202, new JsonObject().put("accepted", 0));
      return;
    }
    coalescer.submit(envelopes)
      .onSuccess(share -> json(ctx, 202, new JsonObject()
        .put("accepted", envelopes.size())
        .put("targeted", share.count(RoutingPlan.Route.TARGETED))
        .put("broadcast", share.count(RoutingPlan.Route.BROADCAST))
        .put("fallback", share.count(RoutingPlan.Route.FALLBACK))
        .put("undeliverable", share.count(RoutingPlan.Route.UNDELIVERABLE))
        .put("filtered", share.count(RoutingPlan.Route.FILTERED))
        .put("channel", share.count(RoutingPlan.Route.CHANNEL))))
      .onFailure(t -> {
        boolean timeout = t instanceof ReplyException && ((ReplyException) t).failureType() == ReplyFailure.TIMEOUT;
        // a timeout: the dispatcher is behind (it may still deliver them); otherwise it refused or failed them
        node.metrics().dropped(timeout ? DropReason.OVERLOAD : DropReason.DISPATCH_FAILED, envelopes.size());
        json(ctx, 503, new JsonObject().put("error", timeout
          ? "dispatch did not take the messages in time; retry later"
          : "dispatch failed: " + t.getMessage()));
      });
  }

  private void refuse(RoutingContext ctx, BodyAdmission.Verdict verdict, long bytes) {
    if (verdict == BodyAdmission.Verdict.TOO_LARGE) {
      refuse(ctx, 413, "body_too_large", "body: " + bytes + " bytes or more, over http.maxBodyBytes ("
        + node.config().getInt(ApiSettings.MAX_BODY_BYTES) + ")");
    } else {
      refuse(ctx, 503, "in_flight_bytes", "busy: the bodies being received already hold http.maxInFlightBodyBytes ("
        + node.config().getInt(ApiSettings.MAX_IN_FLIGHT_BODY_BYTES) + "); retry later");
    }
  }

  /**
   * Answers before (or instead of) reading the rest of the body, then closes the connection: whatever more of the
   * body arrives is discarded, never held. The close waits {@link #CLOSE_GRACE_MS} so that the answer is not lost to
   * the TCP reset a close with unread bytes causes.
   */
  private void refuse(RoutingContext ctx, int status, String reason, String message) {
    rejected(reason, "management request refused ({}): {}", status, message);
    if (status == 400) {
      node.metrics().publishRejected();
    }
    answerAndClose(ctx, status, message);
  }

  private void answerAndClose(RoutingContext ctx, int status, String message) {
    HttpServerRequest req = ctx.request();
    if (!req.isEnded()) {
      req.handler(chunk -> { });
      req.endHandler(v -> { });
      req.exceptionHandler(t -> { });
    }
    HttpServerResponse resp = ctx.response();
    if (resp.ended() || resp.closed()) {
      return;
    }
    HttpConnection conn = req.connection();
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").putHeader(HttpHeaders.CONNECTION, "close")
      .end(new JsonObject().put("error", message).encode())
      .onComplete(ar -> vertx.setTimer(CLOSE_GRACE_MS, id -> conn.close()));
  }

  /**
   * {@code PUT /api/dispatch} {@code {"mode":..,"targetedPercent":..}}: applied here at once, then published to every
   * node, each of which applies it at its dispatchers' next batch. Answers the setting now in force here.
   */
  private void changeDispatch(RoutingContext ctx) {
    DispatchSetting next;
    try {
      JsonObject body = ctx.body().length() == 0 ? null : new JsonObject(ctx.body().buffer());
      next = node.dispatchControl().current().change(body, node.nodeId());
    } catch (io.vertx.core.json.DecodeException e) {
      json(ctx, 400, new JsonObject().put("error", "body: not a JSON object"));
      return;
    } catch (IllegalArgumentException | ClassCastException e) {
      json(ctx, 400, new JsonObject().put("error", e.getMessage()));
      return;
    }
    DispatchSetting now = node.dispatchControl().offer(next);
    DispatchSettingVerticle.publish(vertx.eventBus(), now);
    json(ctx, 200, now.toJson());
  }

  private void badRequest(RoutingContext ctx, String reason, String message) {
    node.metrics().publishRejected();
    node.metrics().httpRejected(reason);
    json(ctx, 400, new JsonObject().put("error", message));
  }

  /** Counts a refused request and logs it at most once per reason per 10 s. */
  private void rejected(String reason, String format, Object... args) {
    node.metrics().httpRejected(reason);
    rejectLog.warn(reason, format, args);
  }

  private void inFlightChanged() {
    node.metrics().inFlightBodyBytes(admission.inFlight());
  }

  private static String describe(Throwable t) {
    return t == null ? "unknown" : RateLimitedLog.describe(t);
  }

  /** The methods the router's routes of exactly this path take ("GET, HEAD"). */
  private static String allowedMethods(Router router, String path) {
    java.util.TreeSet<String> methods = new java.util.TreeSet<>();
    for (io.vertx.ext.web.Route route : router.getRoutes()) {
      if (path.equals(route.getPath()) && route.methods() != null) {
        route.methods().forEach(m -> methods.add(m.name()));
      }
    }
    return String.join(", ", methods);
  }

  private static String truncate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  /** A publish body being received. */
  private static final class Body {
    final Buffer buffer;
    long reserved;
    boolean refused;

    Body(long length) {
      // a declared length was admitted (within http.maxBodyBytes and the in-flight budget) before this buffer is
      // sized for it: no growth copies while it fills
      buffer = Buffer.buffer((int) Math.max(256, length));
    }
  }

  private void health(RoutingContext ctx) {
    ShardSummary shards = node.shardSummary();
    JsonObject deps = new JsonObject();
    for (Map.Entry<String, Supplier<JsonObject>> e : node.dependencies().entrySet()) {
      deps.put(e.getKey(), e.getValue().get());
    }
    json(ctx, 200, new JsonObject()
      .put("node", node.nodeId())
      .put("status", "up")
      .put("connections", shards.connections())
      .put("shards", shards.shards())
      .put("dispatch", node.dispatchControl().current().toJson())
      .put("dependencies", deps));
  }

  private void ready(RoutingContext ctx) {
    int expected = ShardSettings.shardCount(node.config());
    int listening = node.shards().size();
    // every verticle deployed (cluster membership and Kafka pool included), not only the shards listening, and
    // nothing else missing (JWT signing keys when the JWKS is the only source)
    Map<String, String> waiting = node.notReady();
    boolean ready = node.started() && listening >= expected && waiting.isEmpty();
    JsonObject body = new JsonObject()
      .put("ready", ready)
      .put("started", node.started())
      .put("shardsListening", listening)
      .put("shardsExpected", expected);
    if (!waiting.isEmpty()) {
      body.put("waitingFor", new JsonObject(new HashMap<>(waiting)));
    }
    json(ctx, ready ? 200 : 503, body);
  }

  static final String CHANNELS_PATH = "/api/channels/";

  /**
   * {@code GET /api/channels/{name}} (the name URL-encoded, so {@code /} may be part of it): {@code {"channel":NAME,
   * "subscribers":N}}, the count over the cluster's live shards in one registry read; 503 when the registry cannot
   * say (Redis down, a cluster without Redis).
   */
  private void channelCount(RoutingContext ctx) {
    String raw = ctx.request().path().substring(CHANNELS_PATH.length());
    String name;
    try {
      name = java.net.URLDecoder.decode(raw, java.nio.charset.StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      json(ctx, 400, new JsonObject().put("error", "channel: not a valid URL-encoded name"));
      return;
    }
    String problem = io.odin.ws.protocol.ChannelName.problem(name);
    if (problem != null) {
      json(ctx, 400, new JsonObject().put("error", "channel: " + problem));
      return;
    }
    node.registry().subscriberCount(name).onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, 200, new JsonObject().put("channel", name).put("subscribers", ar.result()));
      } else {
        json(ctx, 503, new JsonObject().put("error", "subscriber count unavailable: " + ar.cause().getMessage()));
      }
    });
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
