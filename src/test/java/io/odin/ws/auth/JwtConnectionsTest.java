package io.odin.ws.auth;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestJwts;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.TestPki;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import static io.odin.ws.testsupport.TestJwts.claims;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real node with auth.mode=jwt (HMAC secret, a PEM public key and a JWKS endpoint served over HTTP) and real
 * WebSocket clients: valid JWTs connect and receive exactly their subject's messages, every bad credential is
 * refused with 401 before the upgrade, ?token= is ignored, a foreign origin gets 403, expiry closes with 4401
 * and refresh extends the connection.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JwtConnectionsTest {

  static final String SECRET = "an-hmac-secret-of-at-least-32-characters";
  static final String ORIGIN = "https://app.example";

  private final KeyPair rsa = TestPki.rsa();
  private final KeyPair jwksKey = TestPki.rsa();
  private Vertx jwksVertx;
  private HttpServer jwks;
  private TestNode node;
  private WsClients clients;
  private Publisher publisher;

  @BeforeAll
  void start() throws Exception {
    jwksVertx = Vertx.vertx();
    JsonObject keys = new JsonObject().put("keys", new JsonArray().add(ClientAuthenticatorTest.jwk(jwksKey, "jwks-1")));
    jwks = WsClients.awaitResult(jwksVertx.createHttpServer()
      .requestHandler(r -> r.response().putHeader("content-type", "application/json").end(keys.encode()))
      .listen(Ports.free(), "127.0.0.1"));
    Path pem = Files.createTempFile("odin-rsa-", ".pem");
    Files.writeString(pem, TestPki.publicPem(rsa));
    node = TestNode.start(2, new JsonObject()
      .put("auth.mode", "jwt")
      .put("auth.jwt.hmacSecret", SECRET)
      .put("auth.jwt.publicKeys", new JsonArray().add(pem.toString()))
      .put("auth.jwt.jwksUrl", "http://127.0.0.1:" + jwks.actualPort() + "/jwks")
      .put("ws.allowedOrigins", new JsonArray().add(ORIGIN)));
    clients = new WsClients(node.wsPort);
    publisher = new Publisher(node.httpPort);
  }

  @AfterAll
  void stop() throws Exception {
    publisher.close();
    clients.close();
    node.close();
    jwksVertx.close().toCompletionStage().toCompletableFuture().get();
  }

  private static WebSocketConnectOptions bearer(String jwt) {
    return new WebSocketConnectOptions().setURI("/ws").setAllowOriginHeader(false).addHeader("Authorization", "Bearer " + jwt);
  }

  private static WebSocketConnectOptions uri(String uri) {
    return new WebSocketConnectOptions().setURI(uri).setAllowOriginHeader(false);
  }

  private Conn connect(String label, WebSocketConnectOptions options) {
    return WsClients.awaitResult(clients.connectAsync(label, options));
  }

  /** The HTTP status the handshake was refused with. */
  private int refusal(WebSocketConnectOptions options) {
    Future<Conn> f = clients.connectAsync("refused", options);
    try {
      f.toCompletionStage().toCompletableFuture().get();
      fail("connected although it should have been refused: " + options.getURI() + " " + options.getHeaders());
      return 0;
    } catch (ExecutionException e) {
      assertInstanceOf(UpgradeRejectedException.class, e.getCause(), e.toString());
      return ((UpgradeRejectedException) e.getCause()).getStatus();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private void publish(String token, int n) {
    JsonObject body = new JsonObject().put("type", "note").put("token", token).put("data", new JsonObject().put("to", token).put("n", n));
    assertEquals(202, publisher.post(body.encode()).status);
  }

  @Test
  void validJwtsReceiveExactlyTheirSubjectsMessages() {
    Conn alice = connect("alice", bearer(TestJwts.hs256(SECRET, claims("alice", 300))));
    Conn bob = connect("bob", uri("/ws?access_token=" + TestJwts.signed("RS256", TestPki.privatePem(rsa), null, claims("bob", 300))));
    Conn carol = connect("carol", bearer(TestJwts.signed("RS256", TestPki.privatePem(jwksKey), "jwks-1", claims("carol", 300))));
    // a stranger naming the victim in ?token= gets only what its own JWT says
    Conn mallory = connect("mallory", uri("/ws?token=alice&access_token=" + TestJwts.hs256(SECRET, claims("mallory", 300))));
    for (String t : List.of("alice", "bob", "carol", "mallory")) {
      publish(t, 1);
    }
    for (Conn c : List.of(alice, bob, carol, mallory)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> c.frames.size() == 1);
    }
    publish("alice", 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.frames.size() == 2);
    for (Conn c : List.of(alice, bob, carol, mallory)) {
      for (JsonObject m : c.messages()) {
        assertEquals(c.token, m.getJsonObject("data").getString("to"), c.token + " got " + m);
      }
    }
    assertEquals(1, mallory.frames.size(), "the victim's messages never reach ?token=alice");
  }

  @Test
  void everyInvalidCredentialGets401() {
    KeyPair stranger = TestPki.rsa();
    Map<String, WebSocketConnectOptions> bad = new LinkedHashMap<>();
    bad.put("missing", uri("/ws"));
    bad.put("?token= alone", uri("/ws?token=victim"));
    bad.put("malformed", bearer("abc.def"));
    bad.put("forged (other secret)", bearer(TestJwts.hs256("some-other-secret-of-at-least-32-chars", claims("victim", 300))));
    bad.put("tampered payload", bearer(TestJwts.tampered(TestJwts.hs256(SECRET, claims("me", 300)), claims("victim", 300))));
    bad.put("alg none", bearer(TestJwts.unsigned(claims("victim", 300))));
    bad.put("wrong key", bearer(TestJwts.signed("RS256", TestPki.privatePem(stranger), null, claims("victim", 300))));
    bad.put("unknown kid", bearer(TestJwts.signed("RS256", TestPki.privatePem(stranger), "jwks-2", claims("victim", 300))));
    bad.put("expired", bearer(TestJwts.hs256(SECRET, claims("victim", -30))));
    bad.put("not yet valid", bearer(TestJwts.hs256(SECRET, claims("victim", 300).put("nbf", TestJwts.now() + 120))));
    bad.put("?access_token= forged", uri("/ws?access_token=" + TestJwts.unsigned(claims("victim", 300))));
    double before = new Scrape(publisher.get("/metrics").body).sum("odin_ws_handshakes_refused_total", "reason", "unauthorized");
    bad.forEach((kind, options) -> assertEquals(401, refusal(options), kind));
    double after = new Scrape(publisher.get("/metrics").body).sum("odin_ws_handshakes_refused_total", "reason", "unauthorized");
    assertEquals(bad.size(), after - before, 0.0);
  }

  @Test
  void foreignOriginGets403() {
    String jwt = TestJwts.hs256(SECRET, claims("web", 300));
    // a browser always sends Origin
    assertEquals(403, refusal(bearer(jwt).setAllowOriginHeader(true).addHeader("Origin", "https://evil.example")));
    Conn ok = connect("web", bearer(jwt).setAllowOriginHeader(true).addHeader("Origin", ORIGIN));
    assertTrue(!ok.isClosed());
  }

  @Test
  void expiryClosesWith4401AndRefreshExtends() {
    long exp = TestJwts.now() + 2;
    Conn expiring = connect("exp", bearer(TestJwts.hs256(SECRET, claims("exp", 0).put("exp", exp))));
    Conn refreshed = connect("ref", bearer(TestJwts.hs256(SECRET, claims("ref", 0).put("exp", exp))));
    Conn wrongSubject = connect("wrong", bearer(TestJwts.hs256(SECRET, claims("wrong", 0).put("exp", exp))));
    refreshed.send(new JsonObject().put("op", "refresh").put("token", TestJwts.hs256(SECRET, claims("ref", 120))).encode());
    wrongSubject.send(new JsonObject().put("op", "refresh").put("token", TestJwts.hs256(SECRET, claims("other", 120))).encode());
    await().atMost(Duration.ofSeconds(10)).until(() -> refreshed.frames.size() == 1 && wrongSubject.frames.size() == 1);
    JsonObject answer = refreshed.messages().get(0);
    assertEquals("refreshed", answer.getString("type"), answer.encode());
    assertEquals((TestJwts.now() + 120) * 1000, answer.getLong("expiresAt"), 5000);
    assertEquals("error", wrongSubject.messages().get(0).getString("type"));
    await().atMost(Duration.ofSeconds(10)).until(() -> expiring.closeCode() != null && wrongSubject.closeCode() != null);
    assertEquals((short) 4401, expiring.closeCode());
    assertEquals("token expired", expiring.closeReason());
    assertEquals((short) 4401, wrongSubject.closeCode(), "a refresh for another subject does not extend");
    // past the first expiry, the refreshed connection is still open and still receives its messages
    await().atMost(Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() > exp * 1000 + 1000);
    assertTrue(!refreshed.isClosed());
    publish("ref", 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> refreshed.frames.size() == 2);
  }

  /** Issue 33: a signed JWT whose exp or iat is not a number dropped the TCP connection without an HTTP answer. */
  @Test
  void timeClaimsOfTheWrongTypeGet401WithTheReason() throws Exception {
    for (JsonObject c : List.of(claims("typed", 300).put("exp", "abc"), claims("typed", 300).put("iat", new JsonObject()))) {
      try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?access_token=" + TestJwts.hs256(SECRET, c), 0)) {
        assertEquals(401, raw.handshakeStatus, c.encode());
        assertEquals(ClientAuthenticator.NOT_NUMERIC_TIME_CLAIM + "\n", raw.handshakeBody, c.encode());
      }
    }
  }

  /** Issue 33: exp = 1e16 overflowed exp * 1000 into the past: the connection was upgraded, then closed 4401 at once. */
  @Test
  void aFarFutureExpKeepsTheConnectionOpen() {
    Conn far = connect("far", bearer(TestJwts.hs256(SECRET, claims("far", 0).put("exp", 1e16))));
    publish("far", 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> far.frames.size() == 1 || far.isClosed());
    assertEquals(null, far.closeCode(), "closed with " + far.closeCode() + " " + far.closeReason());
    assertEquals(1, far.frames.size());
  }
}
