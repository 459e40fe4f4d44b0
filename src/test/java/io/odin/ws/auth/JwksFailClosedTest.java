package io.odin.ws.auth;

import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestJwts;
import io.odin.ws.testsupport.TestPki;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.odin.ws.testsupport.TestNode;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.odin.ws.testsupport.TestJwts.claims;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 33, items 1 and 2: an identity provider that misbehaves cannot freeze key rotation, keep a node from
 * starting, or fill its heap. A real JWKS server on loopback (Vert.x) that stalls its body one byte at a time,
 * streams a gigabyte, then recovers with a rotated key set, against a node started by the real launcher.
 */
class JwksFailClosedTest {

  private static final int TIMEOUT_MS = 2_000;
  private static final long GIGABYTE = 1L << 30;

  /** What the JWKS endpoint does. */
  private sealed interface Mode permits Stall, Gigabyte, Keys { }

  /** Headers, then one byte every 500 ms of a body that never ends. */
  private record Stall() implements Mode { }

  /** A chunked body of a gigabyte (no Content-Length: the bound must hold while it streams). */
  private record Gigabyte() implements Mode { }

  private record Keys(JsonObject jwks) implements Mode { }

  private final KeyPair keyA = TestPki.rsa();
  private final KeyPair keyB = TestPki.rsa();
  private final AtomicReference<Mode> mode = new AtomicReference<>(new Stall());
  /** Bytes of the gigabyte the server got onto the socket before the node hung up, per finished response. */
  private final List<Long> gigabyteBytesSent = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger requests = new AtomicInteger();
  private Vertx vertx;
  private HttpServer jwks;

  @BeforeEach
  void startJwksServer() {
    vertx = Vertx.vertx();
    jwks = WsClients.awaitResult(vertx.createHttpServer().requestHandler(req -> {
      requests.incrementAndGet();
      HttpServerResponse resp = req.response().putHeader("content-type", "application/json");
      Mode m = mode.get();
      if (m instanceof Keys k) {
        resp.end(k.jwks().encode());
      } else if (m instanceof Stall) {
        resp.putHeader("content-length", "1000000").write("{\"keys\":[");
        long trickle = vertx.setPeriodic(500, id -> resp.write(" "));
        resp.closeHandler(v -> vertx.cancelTimer(trickle));
      } else {
        resp.setChunked(true);
        AtomicLong sent = new AtomicLong();
        resp.closeHandler(v -> gigabyteBytesSent.add(sent.get()));
        resp.write("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"");
        stream(resp, sent);
      }
    }).listen(Ports.free(), "127.0.0.1"));
  }

  /** Writes the gigabyte as fast as the peer reads it, counting what reached the socket. */
  private void stream(HttpServerResponse resp, AtomicLong sent) {
    Buffer chunk = Buffer.buffer("A".repeat(64 * 1024));
    while (!resp.writeQueueFull() && !resp.closed() && sent.get() < GIGABYTE) {
      resp.write(chunk).onSuccess(v -> sent.addAndGet(chunk.length()));
      if (sent.get() + 64 * 1024 >= GIGABYTE) {
        break;
      }
    }
    if (!resp.closed() && sent.get() < GIGABYTE) {
      resp.drainHandler(v -> stream(resp, sent));
    }
  }

  @AfterEach
  void stopJwksServer() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  private JsonObject keys(KeyPair... pairs) {
    JsonArray keys = new JsonArray();
    for (int i = 0; i < pairs.length; i++) {
      keys.add(ClientAuthenticatorTest.jwk(pairs[i], pairs[i] == keyA ? "kid-a" : "kid-b"));
    }
    return new JsonObject().put("keys", keys);
  }

  private String jwt(KeyPair pair, String kid, String sub) {
    return TestJwts.signed("RS256", TestPki.privatePem(pair), kid, claims(sub, 300));
  }

  /** The handshake's HTTP status for a JWT. */
  private static int handshake(ChildNode node, String jwt) {
    try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?access_token=" + jwt, 0)) {
      return raw.handshakeStatus;
    } catch (IOException e) {
      return -1;
    }
  }

  private static double metric(ChildNode node, String name, String... labels) {
    return new Scrape(node.api().get("/metrics").body).sum(name, labels);
  }

  @Test
  void aStalledHugeOrRotatedJwksNeverFreezesRotationNorKeepsTheNodeDown() throws Exception {
    try (ChildNode node = ChildNode.launch("jwks", 1, Map.of(
      "ODIN_AUTH_MODE", "jwt",
      "ODIN_AUTH_JWKS_URL", "http://127.0.0.1:" + jwks.actualPort() + "/jwks",
      "ODIN_AUTH_JWT_JWKS_TIMEOUT_MS", String.valueOf(TIMEOUT_MS)))) {
      Publisher api = node.api();

      // 1. a body that trickles forever: the node starts anyway, within the fetch's timeout, and says why it is not ready
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
        assertTrue(node.isAlive(), node.logText());
        return api.get("/health").status == 200;
      });
      Publisher.Response ready = api.get("/health/ready");
      assertEquals(503, ready.status, ready.body);
      assertTrue(ready.json().getJsonObject("waitingFor").getString("jwks").startsWith("no JWT signing key yet"), ready.body);
      assertTrue(node.logText().contains("not fetched (timeout: no complete answer within " + TIMEOUT_MS + " ms"), node.logText());
      assertTrue(node.logText().contains("/health/ready answers 503 until a fetch succeeds"), node.logText());
      // the node waited for the first fetch no longer than its timeout, then started: it says so, then that it is up
      String log = node.logText();
      assertTrue(log.indexOf("not fetched (timeout") < log.indexOf("odin-ws node jwks up"), log);
      assertTrue(metric(node, "odin_auth_jwks_fetch_errors_total", "reason", "timeout") >= 1);
      assertTrue(metric(node, "odin_auth_jwks_fetches_total", "result", "error") >= 1);
      assertEquals(401, handshake(node, jwt(keyA, "kid-a", "early")));

      // 2. the endpoint recovers: the node retries on its own (no client needed), gets ready and accepts JWTs
      mode.set(new Keys(keys(keyA)));
      await().atMost(Duration.ofSeconds(40)).until(() -> api.get("/health/ready").status == 200);
      assertEquals(101, handshake(node, jwt(keyA, "kid-a", "alice")));
      assertEquals("up", api.get("/health").json().getJsonObject("dependencies").getJsonObject("jwks").getString("status"));

      // 3. a gigabyte: the node stops reading at auth.jwt.jwksMaxBytes, keeps its keys and stays healthy
      mode.set(new Gigabyte());
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
        // a JWT with a kid the node does not know makes it fetch (at most every 10 s)
        handshake(node, jwt(keyB, "kid-b", "bob"));
        return metric(node, "odin_auth_jwks_fetch_errors_total", "reason", "too_large") >= 1;
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> !gigabyteBytesSent.isEmpty());
      // 1 MiB read, plus what the socket buffers held when the node hung up; all of it was 1 GiB
      assertTrue(gigabyteBytesSent.get(0) < 32L << 20, "the node hung up after " + gigabyteBytesSent + " bytes");
      assertTrue(node.isAlive());
      assertEquals(200, api.get("/health").status);
      assertEquals(200, api.get("/health/ready").status, "the keys it had are kept");
      assertEquals(101, handshake(node, jwt(keyA, "kid-a", "alice")));

      // 4. a rotated key set: rotation resumes on the next unknown kid
      mode.set(new Keys(keys(keyA, keyB)));
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> handshake(node, jwt(keyB, "kid-b", "bob")) == 101);
      assertTrue(metric(node, "odin_auth_jwks_fetches_total", "result", "ok") >= 2);
    }
  }

  /**
   * Over https the provider's certificate is checked against the JVM's trust store: a JWKS server with a
   * certificate from an unknown CA is not believed (its keys are not installed, the fetch counts as unreachable).
   */
  @Test
  void anHttpsJwksWithAnUntrustedCertificateIsNotBelieved(@TempDir Path dir) throws Exception {
    TestPki.ca(dir, "rogue-ca");
    TestPki.Certs certs = TestPki.signed(dir, "rogue-ca", "idp");
    HttpServer tls = WsClients.awaitResult(vertx.createHttpServer(new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(certs.cert().toString()).setKeyPath(certs.key().toString())))
      .requestHandler(req -> req.response().end(keys(keyA).encode()))
      .listen(Ports.free(), "127.0.0.1"));
    try (TestNode node = TestNode.start(1, new JsonObject()
      .put("auth.mode", "jwt")
      .put("auth.jwt.hmacSecret", "an-hmac-secret-of-at-least-32-characters")
      .put("auth.jwt.jwksUrl", "https://127.0.0.1:" + tls.actualPort() + "/jwks")
      .put("auth.jwt.jwksTimeoutMs", TIMEOUT_MS))) {
      GatewayMetrics metrics = node.node().metrics();
      assertTrue(metrics.registry().counter("odin.auth.jwks.fetch.errors", "reason", "unreachable").count() >= 1);
      assertEquals(0.0, metrics.registry().counter("odin.auth.jwks.fetches", "result", "ok").count());
      try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?access_token=" + jwt(keyA, "kid-a", "alice"), 0)) {
        assertEquals(401, raw.handshakeStatus, "a key from an untrusted endpoint signs nothing");
      }
    }
  }

  /** The failure reasons of the refresher are the labels the metric registers up front. */
  @Test
  void everyFailureReasonIsARegisteredLabel() {
    assertEquals(GatewayMetrics.JWKS_FETCH_ERRORS,
      Arrays.stream(JwksRefresher.Failure.values()).map(JwksRefresher.Failure::label).toList());
  }
}
