package io.odin.ws.auth;

import io.odin.ws.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the {@link ClientAuthenticator}'s JWKS keys current: fetches {@code auth.jwt.jwksUrl} at start, every
 * {@code auth.jwt.jwksRefreshSeconds}, and soon after a JWT names an unknown key (key rotation), at most once per
 * {@link #MIN_REFETCH_MS}. The fetch runs on a worker thread, never on an event loop. A failed fetch keeps the
 * keys it had.
 */
public final class JwksRefresher extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(JwksRefresher.class);
  static final long MIN_REFETCH_MS = 10_000;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ClientAuthenticator authenticator;
  private final String url;
  private final int refreshSeconds;
  private final GatewayMetrics metrics;
  private HttpClient http;
  private long timer = -1;
  private long lastFetchMillis;
  private boolean fetching;

  public JwksRefresher(ClientAuthenticator authenticator, GatewayMetrics metrics, io.odin.ws.config.GatewayConfig config) {
    this.authenticator = authenticator;
    this.url = config.getString(AuthSettings.JWKS_URL);
    this.refreshSeconds = config.getInt(AuthSettings.JWKS_REFRESH_SECONDS);
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL).build();
    // an unknown kid is seen on a shard's loop: hop to this verticle's context to decide about a fetch
    authenticator.onUnknownKey(() -> context.runOnContext(v -> {
      if (System.currentTimeMillis() - lastFetchMillis >= MIN_REFETCH_MS) {
        fetch();
      }
    }));
    timer = vertx.setPeriodic(refreshSeconds * 1000L, id -> fetch());
    // the first fetch is awaited (so clients find keys once the node is ready), but its failure does not stop the node
    return fetch().recover(t -> Future.succeededFuture());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    authenticator.onUnknownKey(() -> { });
    return Future.succeededFuture();
  }

  private Future<Integer> fetch() {
    if (fetching) {
      return Future.succeededFuture(0);
    }
    fetching = true;
    lastFetchMillis = System.currentTimeMillis();
    return vertx.executeBlocking(this::download, false)
      .onComplete(ar -> {
        fetching = false;
        metrics.jwksFetched(ar.succeeded());
        if (ar.succeeded()) {
          log.debug("JWKS {}: {} signing keys", url, ar.result());
        } else {
          log.warn("JWKS {} not fetched, keeping the keys it had: {}", url, ar.cause().toString());
        }
      });
  }

  private int download() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT)
      .header("accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode());
    }
    JsonArray keys = new JsonObject(response.body()).getJsonArray("keys");
    if (keys == null) {
      throw new IllegalStateException("no \"keys\" array");
    }
    List<JsonObject> list = new ArrayList<>();
    for (Object k : keys) {
      if (k instanceof JsonObject) {
        list.add((JsonObject) k);
      }
    }
    return authenticator.jwks(list);
  }
}
