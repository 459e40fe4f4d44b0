package io.odin.ws.auth;

import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.node.NodeContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Keeps the {@link ClientAuthenticator}'s JWKS keys current: fetches {@code auth.jwt.jwksUrl} at start, every
 * {@code auth.jwt.jwksRefreshSeconds}, soon after a JWT names an unknown key (key rotation), at most once per
 * {@link #MIN_REFETCH_MS}, and again {@link #MIN_REFETCH_MS} after a failed fetch.
 * <p>The identity provider is not trusted to behave: a whole fetch (connect, headers, body, redirects) has
 * {@code auth.jwt.jwksTimeoutMs}, and its body at most {@code auth.jwt.jwksMaxBytes}; past either the request is
 * reset and the connection closed, the fetch counted as failed with its reason, and the keys it had are kept. The
 * fetch is non-blocking on this verticle's event loop (Vert.x's HTTP client, no compression); only the parsing of
 * a bounded body runs on a worker thread. A fetch always ends, so one is never stuck "in progress" and rotation
 * never stops. Start-up waits for the first fetch at most its timeout: then the node starts without JWKS keys,
 * says so in the log, and /health/ready answers 503 until a fetch succeeds when no other key is configured.
 */
public final class JwksRefresher extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(JwksRefresher.class);
  static final long MIN_REFETCH_MS = 10_000;
  private static final int MAX_REDIRECTS = 5;

  /**
   * Why a fetch failed; the lower-case name is the {@code reason} of {@code odin_auth_jwks_fetch_errors_total}
   * (GatewayMetrics.JWKS_FETCH_ERRORS registers them up front).
   */
  enum Failure {
    /** No complete answer within auth.jwt.jwksTimeoutMs (a stalled or trickling body, a silent server). */
    TIMEOUT,
    /** A body over auth.jwt.jwksMaxBytes (announced or sent). */
    TOO_LARGE,
    /** An answer other than 200. */
    HTTP_STATUS,
    /** Not a JWKS: not JSON, or no "keys" array. */
    INVALID,
    /** No connection, or the connection failed. */
    UNREACHABLE;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A failed fetch, with its reason. */
  static final class FetchFailed extends RuntimeException {
    final Failure failure;

    FetchFailed(Failure failure, String message) {
      super(message, null, false, false);
      this.failure = failure;
    }
  }

  private final ClientAuthenticator authenticator;
  private final NodeContext node;
  private final GatewayMetrics metrics;
  private final String url;
  private final int refreshSeconds;
  private final int timeoutMs;
  private final int maxBytes;
  private HttpClient http;
  private long timer = -1;
  private long retryTimer = -1;
  private long lastFetchMillis;
  private boolean fetching;
  private int failuresInARow;
  /** What /health shows; written on this verticle's loop, read by the management port's. */
  private volatile long lastSuccessMillis;
  private volatile int jwksKeys;
  private volatile String lastError;

  public JwksRefresher(ClientAuthenticator authenticator, NodeContext node) {
    this.authenticator = authenticator;
    this.node = node;
    this.metrics = node.metrics();
    this.url = node.config().getString(AuthSettings.JWKS_URL);
    this.refreshSeconds = node.config().getInt(AuthSettings.JWKS_REFRESH_SECONDS);
    this.timeoutMs = node.config().getInt(AuthSettings.JWKS_TIMEOUT_MS);
    this.maxBytes = node.config().getInt(AuthSettings.JWKS_MAX_BYTES);
  }

  @Override
  public Future<?> start() {
    http = vertx.createHttpClient(new HttpClientOptions()
      .setConnectTimeout(timeoutMs)
      // one fetch every few minutes: no pooled connection to keep, and a reset one is gone for good
      .setKeepAlive(false)
      .setMaxRedirects(MAX_REDIRECTS));
    // an unknown kid is seen on a shard's loop: hop to this verticle's context to decide about a fetch
    authenticator.onUnknownKey(() -> context.runOnContext(v -> {
      if (System.currentTimeMillis() - lastFetchMillis >= MIN_REFETCH_MS) {
        fetch();
      }
    }));
    timer = vertx.setPeriodic(refreshSeconds * 1000L, id -> fetch());
    node.dependency("jwks", this::health);
    // a node that can verify no JWT at all (the JWKS is its only key source) takes no traffic
    node.readinessCondition("jwks", () -> authenticator.keyCount() > 0 ? null
      : "no JWT signing key yet: the JWKS (auth.jwt.jwksUrl) has not been fetched" + (lastError == null ? "" : " (" + lastError + ")"));
    // the first fetch is awaited, at most auth.jwt.jwksTimeoutMs, so clients find keys once the node is ready; its
    // failure does not stop the node
    return fetch().recover(t -> Future.succeededFuture(0));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    vertx.cancelTimer(retryTimer);
    authenticator.onUnknownKey(() -> { });
    return http.close();
  }

  private Future<Integer> fetch() {
    if (fetching) {
      return Future.succeededFuture(0);
    }
    fetching = true;
    lastFetchMillis = System.currentTimeMillis();
    return download()
      .compose(body -> vertx.executeBlocking(() -> install(body), false))
      .onComplete(ar -> {
        fetching = false;
        metrics.jwksFetched(ar.succeeded());
        if (ar.succeeded()) {
          succeeded(ar.result());
        } else {
          failed(ar.cause());
        }
      });
  }

  /**
   * The JWKS body, within auth.jwt.jwksTimeoutMs from now and auth.jwt.jwksMaxBytes; whichever limit is hit
   * first fails it, and the request is reset so nothing more is read.
   */
  private Future<Buffer> download() {
    Promise<Buffer> body = Promise.promise();
    HttpClientRequest[] request = new HttpClientRequest[1];
    long deadline = vertx.setTimer(timeoutMs, id -> body.tryFail(new FetchFailed(Failure.TIMEOUT,
      "no complete answer within " + timeoutMs + " ms (auth.jwt.jwksTimeoutMs)")));
    body.future().onComplete(ar -> {
      vertx.cancelTimer(deadline);
      if (ar.failed() && request[0] != null) {
        request[0].reset();
      }
    });
    http.request(new RequestOptions().setAbsoluteURI(url).setMethod(HttpMethod.GET).setFollowRedirects(true)
        .putHeader("accept", "application/json"))
      .compose(req -> {
        request[0] = req;
        if (body.future().isComplete()) {
          // timed out while connecting
          req.reset();
          return Future.failedFuture(body.future().cause());
        }
        return req.send();
      })
      .onSuccess(response -> {
        // after redirects, the request whose body is being read is the last one
        request[0] = response.request();
        read(response, body);
      })
      .onFailure(t -> body.tryFail(t instanceof FetchFailed ? t : new FetchFailed(Failure.UNREACHABLE, t.toString())));
    return body.future();
  }

  private void read(HttpClientResponse response, Promise<Buffer> body) {
    if (response.statusCode() != 200) {
      body.tryFail(new FetchFailed(Failure.HTTP_STATUS, "HTTP " + response.statusCode()));
      return;
    }
    String length = response.getHeader("content-length");
    if (length != null && parseLength(length) > maxBytes) {
      body.tryFail(tooLarge(length + " bytes announced"));
      return;
    }
    Buffer received = Buffer.buffer(Math.min(maxBytes, 8192));
    response.handler(chunk -> {
      if (body.future().isComplete()) {
        // refused already: the rest is dropped while the connection closes
        return;
      }
      if (received.length() + chunk.length() > maxBytes) {
        body.tryFail(tooLarge("more than " + maxBytes + " bytes sent"));
      } else {
        received.appendBuffer(chunk);
      }
    });
    response.exceptionHandler(t -> body.tryFail(new FetchFailed(Failure.UNREACHABLE, t.toString())));
    response.endHandler(v -> body.tryComplete(received));
  }

  private FetchFailed tooLarge(String what) {
    return new FetchFailed(Failure.TOO_LARGE, what + ", the limit is " + maxBytes + " (auth.jwt.jwksMaxBytes)");
  }

  private static long parseLength(String length) {
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Parses a bounded body and installs its keys; on a worker thread. */
  private int install(Buffer body) {
    JsonArray keys;
    try {
      keys = new JsonObject(body).getJsonArray("keys");
    } catch (DecodeException | ClassCastException e) {
      throw new FetchFailed(Failure.INVALID, "not a JSON object with a \"keys\" array");
    }
    if (keys == null) {
      throw new FetchFailed(Failure.INVALID, "no \"keys\" array");
    }
    List<JsonObject> list = new ArrayList<>();
    for (Object k : keys) {
      if (k instanceof JsonObject) {
        list.add((JsonObject) k);
      }
    }
    return authenticator.jwks(list);
  }

  private void succeeded(int keys) {
    jwksKeys = keys;
    lastSuccessMillis = System.currentTimeMillis();
    lastError = null;
    if (failuresInARow > 0) {
      log.info("JWKS {}: {} signing keys, after {} failed fetches", url, keys, failuresInARow);
    } else {
      log.debug("JWKS {}: {} signing keys", url, keys);
    }
    failuresInARow = 0;
  }

  private void failed(Throwable cause) {
    Failure failure = cause instanceof FetchFailed ? ((FetchFailed) cause).failure : Failure.INVALID;
    String why = failure.label() + ": " + (cause instanceof FetchFailed ? cause.getMessage() : cause.toString());
    metrics.jwksFetchFailed(failure.label());
    lastError = why;
    failuresInARow++;
    if (authenticator.keyCount() == 0) {
      log.warn("JWKS {} not fetched ({}): no JWT is accepted (401) and /health/ready answers 503 until a fetch"
        + " succeeds; next attempt in {} s", url, why, MIN_REFETCH_MS / 1000);
    } else {
      log.warn("JWKS {} not fetched ({}); keeping the {} JWKS keys it had; next attempt in {} s", url, why, jwksKeys,
        MIN_REFETCH_MS / 1000);
    }
    if (retryTimer < 0) {
      retryTimer = vertx.setTimer(MIN_REFETCH_MS, id -> {
        retryTimer = -1;
        fetch();
      });
    }
  }

  private JsonObject health() {
    long last = lastSuccessMillis;
    JsonObject h = new JsonObject()
      .put("status", lastError == null && last > 0 ? "up" : "down")
      .put("keys", jwksKeys)
      .put("lastFetchedSecondsAgo", last == 0 ? null : (System.currentTimeMillis() - last) / 1000);
    String error = lastError;
    return error == null ? h : h.put("error", error);
  }
}
