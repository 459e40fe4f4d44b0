package io.odin.ws.auth;

import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.TestPki;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node with TLS on both ports (a CA and certificate made at test time) and API keys: wss:// clients and
 * https:// producers work; publishing without or with a wrong key is refused with 401 and delivers nothing;
 * reads need the key, probes do not; a replaced certificate is served to new connections while open ones stay.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsAndApiKeysTest {

  static final String KEY = "producer-key-0123456789";

  private Path dir;
  private TestPki.Certs certs;
  private Path certFile;
  private Path keyFile;
  private TestNode node;
  private Vertx vertx;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("odin-tls-");
    TestPki.ca(dir, "ca1");
    certs = TestPki.signed(dir, "ca1", "server1");
    // the node reads these paths; the reload test replaces their content
    certFile = Files.copy(certs.cert(), dir.resolve("tls.crt"));
    keyFile = Files.copy(certs.key(), dir.resolve("tls.key"));
    node = TestNode.start(1, new JsonObject()
      .put("tls.enabled", true)
      .put("tls.certPath", certFile.toString())
      .put("tls.keyPath", keyFile.toString())
      .put("tls.reloadCheckSeconds", 1)
      .put("api.keys", new JsonArray().add(KEY)));
    vertx = Vertx.vertx();
  }

  @AfterAll
  void stop() throws Exception {
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  private HttpClient https(Path ca) {
    return vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(new PemTrustOptions().addCertPath(ca.toString())));
  }

  private int status(HttpClient http, HttpMethod method, String path, String apiKey, String body) {
    RequestOptions o = new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(node.httpPort).setURI(path);
    if (apiKey != null) {
      o.putHeader("X-API-Key", apiKey);
    }
    if (body != null) {
      o.putHeader("content-type", "application/json");
    }
    return WsClients.awaitResult(http.request(o)
      .compose(req -> body == null ? req.send() : req.send(Buffer.buffer(body)))
      .compose(resp -> resp.body().map(b -> resp.statusCode())));
  }

  private WebSocket wss(Path ca, String token, List<String> frames) {
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(true)
      .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString())));
    WebSocket ws = WsClients.awaitResult(client.connect(new WebSocketConnectOptions().setHost("127.0.0.1")
      .setPort(node.wsPort).setURI("/ws?token=" + token)));
    ws.textMessageHandler(frames::add);
    return ws;
  }

  private static String envelope(String token, String marker) {
    return new JsonObject().put("type", "note").put("token", token).put("data", new JsonObject().put("m", marker)).encode();
  }

  @Test
  @Order(1)
  void wssClientsHttpsProducersAndApiKeys() {
    HttpClient http = https(certs.caCert());
    List<String> frames = new CopyOnWriteArrayList<>();
    wss(certs.caCert(), "tls-user", frames);
    assertEquals(401, status(http, HttpMethod.POST, "/api/publish", null, envelope("tls-user", "no-key")));
    assertEquals(401, status(http, HttpMethod.POST, "/api/publish", "wrong-key-0123456789", envelope("tls-user", "wrong-key")));
    assertEquals(202, status(http, HttpMethod.POST, "/api/publish", KEY, envelope("tls-user", "keyed")));
    await().atMost(Duration.ofSeconds(10)).until(() -> frames.size() == 1);
    assertTrue(frames.get(0).contains("keyed"), frames.toString());
    // reads need the key too (api.protectReads defaults to true); probes never do
    assertEquals(401, status(http, HttpMethod.GET, "/metrics", null, null));
    assertEquals(401, status(http, HttpMethod.GET, "/api/stats", null, null));
    assertEquals(401, status(http, HttpMethod.GET, "/", null, null));
    assertEquals(200, status(http, HttpMethod.GET, "/metrics", KEY, null));
    assertEquals(200, status(http, HttpMethod.GET, "/health", null, null));
    assertEquals(200, status(http, HttpMethod.GET, "/health/ready", null, null));
    assertEquals(1, frames.size(), "refused publishes delivered nothing");
  }

  @Test
  @Order(2)
  void replacedCertificateServesNewConnectionsOpenOnesStay() throws Exception {
    List<String> before = new CopyOnWriteArrayList<>();
    WebSocket open = wss(certs.caCert(), "reload-user", before);
    Path ca2 = TestPki.ca(dir, "ca2");
    TestPki.Certs next = TestPki.signed(dir, "ca2", "server2");
    Files.copy(next.key(), keyFile, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(next.cert(), certFile, StandardCopyOption.REPLACE_EXISTING);
    // new connections get the new certificate (trusted only through the new CA) once the check has run
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> wss(ca2, "reload-user", new CopyOnWriteArrayList<>()) != null);
    assertFalse(open.isClosed(), "the connection opened before the reload stays open");
    // the management port checks its files on its own timer: it serves the new certificate soon after
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
      .until(() -> status(https(ca2), HttpMethod.POST, "/api/publish", KEY, envelope("reload-user", "after-reload")) == 202);
    await().atMost(Duration.ofSeconds(10)).until(() -> before.size() == 1);
  }
}
