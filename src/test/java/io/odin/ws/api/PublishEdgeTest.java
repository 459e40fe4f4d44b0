package io.odin.ws.api;

import io.odin.ws.protocol.EnvelopeFuzz;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawHttp;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The publish API's edge against a real node over real TCP: routing fails closed, and every request limit holds. */
class PublishEdgeTest {

  private static final int MAX_BODY = 64 * 1024;
  private static final int IN_FLIGHT = 100 * 1024;
  /** Long here: a loaded machine must not time out the stalled uploads these tests hold on purpose. */
  private static final int REQUEST_TIMEOUT_MS = 60_000;

  private static TestNode node;
  private static WsClients clients;
  private static Publisher api;

  @BeforeAll
  static void start() {
    node = TestNode.start(2, new JsonObject()
      .put("http.maxBodyBytes", MAX_BODY)
      .put("http.maxInFlightBodyBytes", IN_FLIGHT)
      .put("http.requestTimeoutMs", REQUEST_TIMEOUT_MS)
      .put("http.maxEnvelopesPerRequest", 50)
      .put("dispatch.maxTokensPerEnvelope", 20));
    clients = new WsClients(node.wsPort);
    api = new Publisher(node.httpPort);
  }

  @AfterAll
  static void stop() throws Exception {
    api.close();
    clients.close();
    node.close();
  }

  private static double metric(String name, String... labels) {
    return new Scrape(api.get("/metrics").body).sum(name, labels);
  }

  /** The management port answers JSON that says what went wrong, also where Vert.x's own answer was HTML or empty. */
  @Test
  void aWrongPathMethodOrBodyIsAnsweredInJsonThatSaysWhat() {
    Publisher.Response get = api.get("/api/publish");
    assertEquals(405, get.status, get.toString());
    assertEquals("GET /api/publish: method not allowed; use POST", get.json().getString("error"));
    Publisher.Response typo = api.request(HttpMethod.POST, "/api/pubish", "{}");
    assertEquals(404, typo.status, typo.toString());
    assertEquals("no such endpoint: POST /api/pubish", typo.json().getString("error"));
    Publisher.Response notJson = api.post("{\"type\": \"t\",\n \"data\": nope}");
    assertEquals(400, notJson.status, notJson.toString());
    assertTrue(notJson.json().getString("error").startsWith("body: not valid JSON at line 2, column "), notJson.body);
    assertTrue(!notJson.body.contains("REDACTED") && !notJson.body.contains("StreamReadFeature"), notJson.body);
    Publisher.Response tokn = api.post("{\"type\":\"t\",\"tokn\":\"alice\"}");
    assertEquals(400, tokn.status, tokn.toString());
    assertTrue(tokn.json().getString("error").contains("odin-ws reads no field \"tokn\""), tokn.body);
  }

  /**
   * Issue 33: a type or channel that would broadcast (taken from application data) never widens a message that
   * names its recipient; "broadcast": true beside a token is refused; a broadcast needs no token.
   */
  @Test
  void aMessageThatNamesATokenReachesOnlyThatToken() {
    List<Conn> conns = clients.connectAll(List.of("alice", "bob", "mallory"));
    Conn alice = conns.get(0);
    Publisher.Response typed = api.post("{\"type\":\"system-announcement\",\"token\":\"alice\",\"data\":{\"secret\":\"alice-only\"}}");
    assertEquals(202, typed.status, typed.body);
    assertEquals(1, typed.json().getInteger("targeted"), typed.body);
    assertEquals(0, typed.json().getInteger("broadcast"), typed.body);
    Publisher.Response global = api.post("{\"type\":\"t\",\"channel\":\"global\",\"token\":[\"alice\"],\"data\":{\"secret\":2}}");
    assertEquals(202, global.status, global.body);
    assertEquals(0, global.json().getInteger("broadcast"), global.body);
    double conflicting = metric("odin_http_rejected_total", "reason", "conflicting_target");
    Publisher.Response both = api.post("{\"type\":\"t\",\"broadcast\":true,\"token\":\"alice\",\"data\":{\"secret\":3}}");
    assertEquals(400, both.status, both.body);
    assertTrue(both.json().getString("error").startsWith("broadcast: true together with \"token\""), both.body);
    assertEquals(conflicting + 1, metric("odin_http_rejected_total", "reason", "conflicting_target"));
    // a broadcast by type and one asked for, neither with a token: everyone; the second one is the marker
    assertEquals(1, api.post("{\"type\":\"system-announcement\",\"data\":\"all\"}").json().getInteger("broadcast"));
    assertEquals(202, api.post("{\"type\":\"marker\",\"broadcast\":true}").status);
    await().atMost(Duration.ofSeconds(10)).until(() -> conns.stream().allMatch(c -> c.frames.size() >= (c == alice ? 4 : 2)));
    assertEquals(List.of("{\"type\":\"system-announcement\",\"data\":{\"secret\":\"alice-only\"}}",
      "{\"type\":\"t\",\"channel\":\"global\",\"data\":{\"secret\":2}}",
      "{\"type\":\"system-announcement\",\"data\":\"all\"}", "{\"type\":\"marker\",\"data\":null}"), alice.bodies());
    for (Conn c : conns.subList(1, 3)) {
      assertEquals(List.of("{\"type\":\"system-announcement\",\"data\":\"all\"}", "{\"type\":\"marker\",\"data\":null}"),
        c.bodies(), c.token + " received only the broadcasts");
    }
    conns.forEach(Conn::close);
  }

  /**
   * Issue 33: the management port spoke HTTP/2 over cleartext (h2c), undocumented and outside the limits its HTTP/1.1
   * edge was built and tested for. It speaks HTTP/1.1 only: an upgrade to h2c is not taken, a prior-knowledge
   * HTTP/2 preface gets no HTTP/2 answer.
   */
  @Test
  void theManagementPortSpeaksHttp1Only() throws Exception {
    try (RawHttp upgrade = new RawHttp(node.httpPort)) {
      upgrade.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
      RawHttp.Answer a = upgrade.readHead(10_000);
      assertEquals(200, a.status(), a.toString());
      assertTrue(!a.text.toLowerCase(java.util.Locale.ROOT).contains("upgrade: h2c"), a.toString());
    }
    try (RawHttp priorKnowledge = new RawHttp(node.httpPort)) {
      // the connection preface, then an empty SETTINGS frame (length 0, type 4, flags 0, stream 0)
      priorKnowledge.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
      RawHttp.Answer a = priorKnowledge.read(10_000);
      // an HTTP/2 server answers with its own binary SETTINGS frame; the HTTP/1.1 codec refuses the request line
      // ("HTTP/2.0 501 Not Implemented", in text) and closes
      assertTrue(a.text.startsWith("HTTP/") && a.text.contains(" 501 "), a.toString());
      assertTrue(a.closed, a.toString());
    }
  }

  @Test
  void typoOfTokenReachesNobodyAndIsRefused() {
    List<Conn> conns = clients.connectAll(List.of("alice", "mallory"));
    double before = metric("odin_http_rejected_total", "reason", "no_target");
    Publisher.Response r = api.post("{\"type\":\"otp\",\"tokens\":[\"alice\"],\"data\":{\"code\":123456}}");
    assertEquals(400, r.status, r.toString());
    assertTrue(r.json().getString("error").startsWith("token: no target: give \"token\", \"channel\" or \"broadcast\": true"), r.body);
    assertTrue(r.body.contains("\\\"tokens\\\" is not a field"), r.body);
    // in an array the envelope is named by its index, and the whole request is refused
    Publisher.Response batch = api.post("[{\"type\":\"t\",\"token\":\"alice\",\"data\":1},{\"type\":\"t\",\"data\":2}]");
    assertEquals(400, batch.status);
    assertTrue(batch.json().getString("error").startsWith("[1].token: no target"), batch.body);
    assertEquals(before + 2, metric("odin_http_rejected_total", "reason", "no_target"));
    // a marker sent after: once it arrived, anything the refused requests had sent would have arrived before it
    assertEquals(202, api.post("{\"type\":\"marker\",\"broadcast\":true}").status);
    await().atMost(Duration.ofSeconds(10)).until(() -> conns.stream().allMatch(c -> !c.frames.isEmpty()));
    for (Conn c : conns) {
      assertEquals(List.of("{\"type\":\"marker\",\"data\":null}"), c.bodies(), c.token + " received only the marker");
      c.close();
    }
  }

  @Test
  void onlyJsonIsAccepted() {
    for (String type : new String[] {"text/plain", "application/x-www-form-urlencoded", null}) {
      Publisher.Response r = api.request(HttpMethod.POST, "/api/publish", "{\"type\":\"t\",\"token\":\"a\"}", type);
      assertEquals(415, r.status, type + ": " + r);
      assertTrue(r.json().getString("error").startsWith("content-type: publish takes application/json"), r.body);
    }
    assertEquals(202, api.request(HttpMethod.POST, "/api/publish", "{\"type\":\"t\",\"token\":\"a\"}",
      "application/json; charset=utf-8").status);
  }

  @Test
  void tokensPerEnvelopeAndEnvelopesPerRequestAreBounded() {
    JsonArray tokens = new JsonArray();
    for (int i = 0; i < 21; i++) {
      tokens.add("u" + i);
    }
    Publisher.Response many = api.post(new JsonObject().put("type", "t").put("token", tokens).encode());
    assertEquals(400, many.status);
    assertTrue(many.body.contains("dispatch.maxTokensPerEnvelope"), many.body);
    tokens.remove(20);
    assertEquals(202, api.post(new JsonObject().put("type", "t").put("token", tokens).encode()).status);

    JsonArray envelopes = new JsonArray();
    for (int i = 0; i < 51; i++) {
      envelopes.add(new JsonObject().put("type", "t").put("token", "u" + i));
    }
    Publisher.Response tooMany = api.post(envelopes.encode());
    assertEquals(400, tooMany.status);
    assertTrue(tooMany.body.contains("http.maxEnvelopesPerRequest"), tooMany.body);
    envelopes.remove(50);
    assertEquals(202, api.post(envelopes.encode()).status);
    assertTrue(metric("odin_http_rejected_total", "reason", "too_many_tokens") >= 1);
    assertTrue(metric("odin_http_rejected_total", "reason", "too_many_envelopes") >= 1);
  }

  @Test
  void bodiesOverTheInFlightBudgetGet503BeforeTheirBodyIsRead() throws Exception {
    int length = 60 * 1024;
    // each connection opens right before its request: one that sends no head within the timeout is closed
    try (RawHttp stalled = new RawHttp(node.httpPort)) {
      // 60 KiB declared, one byte sent: its whole length is reserved
      stalled.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: " + length)).write("[");
      await().atMost(Duration.ofSeconds(30)).until(() -> metric("odin_http_inflight_body_bytes") >= length);
      // another 60 KiB would go over the 100 KiB budget: answered at once, from the head alone, and closed
      try (RawHttp second = new RawHttp(node.httpPort)) {
        second.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: " + length));
        RawHttp.Answer busy = second.read(10_000);
        assertEquals(503, busy.status(), busy.toString());
        assertTrue(busy.closed, busy.toString());
        assertTrue(busy.text.contains("http.maxInFlightBodyBytes"), busy.text);
      }
      // a chunked body is counted as it streams: refused once its chunks would go over
      try (RawHttp chunked = new RawHttp(node.httpPort)) {
        chunked.write(RawHttp.publishHead("Content-Type: application/json", "Transfer-Encoding: chunked"));
        String chunk = "x".repeat(20 * 1024);
        for (int i = 0; i < 3; i++) {
          chunked.write(Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n");
        }
        RawHttp.Answer chunkedBusy = chunked.read(10_000);
        assertEquals(503, chunkedBusy.status(), chunkedBusy.toString());
      }
      // over http.maxBodyBytes by its declared length: 413 at once
      try (RawHttp large = new RawHttp(node.httpPort)) {
        large.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: " + (MAX_BODY + 1)));
        assertEquals(413, large.read(10_000).status());
      }
    }
    // the stalled upload's connection closed: its reservation is given back
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("odin_http_inflight_body_bytes") == 0);
    assertTrue(metric("odin_http_rejected_total", "reason", "in_flight_bytes") >= 2);
    assertEquals(202, api.post("{\"type\":\"t\",\"token\":\"a\"}").status);
  }

  @Test
  void fuzzedEnvelopesThroughTheLiveApiReachOnlyTheirTargets() {
    List<Conn> conns = clients.connectAll(List.of("alice", "bob", "carol"));
    EnvelopeFuzz fuzz = new EnvelopeFuzz(System.nanoTime());
    long start = System.currentTimeMillis();
    int sent = 0;
    int accepted = 0;
    // a few seconds, and at least 100 inputs (a loaded machine is slow), never more than 30 s
    while (System.currentTimeMillis() - start < 3_000 || sent < 100 && System.currentTimeMillis() - start < 30_000) {
      byte[] body = fuzz.next();
      Publisher.Response r = api.post(new String(body, StandardCharsets.UTF_8));
      sent++;
      assertTrue(r.status == 202 || r.status == 400, r.toString());
      if (r.status == 202) {
        accepted++;
      }
    }
    assertEquals(202, api.post("{\"type\":\"end-marker\",\"broadcast\":true}").status);
    await().atMost(Duration.ofSeconds(20)).until(() -> conns.stream().allMatch(c -> c.frames.stream().anyMatch(f -> f.contains("end-marker"))));
    assertTrue(sent >= 10, "only " + sent + " requests");
    assertTrue(accepted > 0, "no fuzzed envelope was accepted");
    assertEquals(200, api.get("/health").status);
    // what a client got is a broadcast or addressed to it; the fuzzer's only data objects carry their field name
    for (Conn c : conns) {
      for (JsonObject m : c.messages()) {
        String type = m.getString("type");
        assertTrue(type != null, m.encode());
      }
      c.close();
    }
  }
}
