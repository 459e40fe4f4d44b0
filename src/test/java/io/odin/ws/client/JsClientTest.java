package io.odin.ws.client;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.JsClientDriver;
import io.odin.ws.testsupport.JsClientDriver.Env;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TcpProxy;
import io.odin.ws.testsupport.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JavaScript client (clients/js) against real odin-ws nodes, in Node.js (the ws package) and in headless
 * Chromium (a page that loads the package): what the close codes of docs/protocol.md make it do, JWT refresh and
 * re-fetch, liveness. The scenarios that need message ids and since= (issue 25) are in {@link JsClientRecoveryTest}.
 */
class JsClientTest {

  static final String SECRET = "js-client-test-secret-0123456789abcdef";
  static final Duration WITHIN = Duration.ofSeconds(30);

  static String url(int port) {
    return "ws://127.0.0.1:" + port + "/ws";
  }

  static JsonArray seqMessages(String token, int from, int count) {
    JsonArray batch = new JsonArray();
    IntStream.range(from, from + count).forEach(i ->
      batch.add(new JsonObject().put("type", "seq").put("token", token).put("data", new JsonObject().put("seq", i))));
    return batch;
  }

  static void publish(Publisher api, JsonArray batch) {
    Publisher.Response r = api.post(batch.encode());
    assertEquals(202, r.status, r.body);
  }

  static List<Integer> range(int from, int count) {
    return IntStream.range(from, from + count).boxed().toList();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Env.class)
  void deliversInOrderAndDoesNotRetryAPolicyViolationOrATooBigFrame(Env env) throws Exception {
    try (TestNode node = TestNode.start(2); Publisher api = new Publisher(node.httpPort);
         JsClientDriver js = JsClientDriver.start(env, null)) {
      JsonObject fast = new JsonObject().put("minDelayMs", 100).put("maxDelayMs", 500);
      js.open("flood", url(node.wsPort), "js-flood", fast);
      js.open("big", url(node.wsPort), "js-big", fast);
      js.awaitEvent("flood", "connected", 0, WITHIN);
      js.awaitEvent("big", "connected", 0, WITHIN);
      await().atMost(WITHIN).until(() -> node.connections() == 2);

      JsonArray batch = seqMessages("js-flood", 0, 100);
      seqMessages("js-big", 0, 100).forEach(batch::add);
      publish(api, batch);
      await().atMost(WITHIN).until(() -> js.seqs("flood").size() == 100 && js.seqs("big").size() == 100);
      assertEquals(range(0, 100), js.seqs("flood"));
      assertEquals(range(0, 100), js.seqs("big"));

      // more than ws.maxClientFramesPerSecond (50) frames in a second: 1008; a frame over ws.maxFrameBytes: 1009
      js.send("flood", "{\"op\":\"ping\"}", 80);
      js.send("big", "{\"op\":\"ping\",\"pad\":\"" + "x".repeat(5000) + "\"}", 1);
      JsonObject flood = js.awaitEvent("flood", "disconnected", 0, WITHIN);
      JsonObject big = js.awaitEvent("big", "disconnected", 0, WITHIN);
      assertEquals(1008, flood.getInteger("code"), flood.encode());
      assertEquals(1009, big.getInteger("code"), big.encode());
      assertFalse(flood.getBoolean("willRetry"));
      assertFalse(big.getBoolean("willRetry"));
      assertEquals("closed", js.events("flood", "error").get(0).getString("kind"));
      // and no reconnect, though the back-off here would have retried within half a second
      double connects = new Scrape(api.get("/metrics").body).sum("odin_ws_connects_total");
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() ->
        node.connections() == 0 && js.events("flood", "connected").size() == 1 && js.events("big", "connected").size() == 1);
      assertEquals(connects, new Scrape(api.get("/metrics").body).sum("odin_ws_connects_total"), "no handshake after 1008/1009");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Env.class)
  void aDrainingNodesClientComesBackSoonThroughTheBalancer(Env env) throws Exception {
    TestNode a = TestNode.start(1);
    try (TestNode b = TestNode.start(1); Publisher apiB = new Publisher(b.httpPort); TcpProxy balancer = new TcpProxy(a.wsPort);
         JsClientDriver js = JsClientDriver.start(env, null)) {
      // a back-off that would be seconds: a 1001 does not use it
      js.open("c", url(balancer.port), "js-drain", new JsonObject().put("minDelayMs", 1000).put("maxDelayMs", 30000));
      js.awaitEvent("c", "connected", 0, WITHIN);
      balancer.upstream(b.wsPort); // the balancer takes the draining node out, then it stops
      a.close();
      JsonObject gone = js.awaitEvent("c", "disconnected", 0, WITHIN);
      assertEquals(1001, gone.getInteger("code"), gone.encode());
      assertTrue(gone.getBoolean("willRetry"));
      assertTrue(gone.getDouble("delayMs") < 1000, "jittered within minDelayMs, not backed off: " + gone);
      js.awaitEvent("c", "connected", 1, WITHIN);
      await().atMost(WITHIN).until(() -> b.connections() == 1);
      publish(apiB, seqMessages("js-drain", 0, 10));
      await().atMost(WITHIN).until(() -> js.seqs("c").size() == 10);
      assertEquals(range(0, 10), js.seqs("c"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Env.class)
  void aJwtIsRefreshedBeforeItsExpiryAndTheConnectionGoesOn(Env env) throws Exception {
    try (TestNode node = TestNode.start(1, jwtMode()); Publisher api = new Publisher(node.httpPort);
         JsClientDriver js = JsClientDriver.start(env, SECRET)) {
      // tokens that live 3 s: refreshed about a quarter of their life before exp
      js.openJwt("c", url(node.wsPort), "js-jwt", List.of(3), new JsonObject());
      js.awaitEvent("c", "connected", 0, WITHIN);
      long firstExp = js.events("c", "token").get(0).getLong("exp");
      JsonObject second = js.awaitEvent("c", "refreshed", 1, WITHIN);
      assertTrue(second.getLong("expiresAt") / 1000 > firstExp, "the connection now lives past the first JWT: " + second);
      // the first JWT has expired: messages still arrive, on the same connection
      await().atMost(WITHIN).until(() -> System.currentTimeMillis() / 1000 > firstExp);
      publish(api, seqMessages("js-jwt", 0, 5));
      await().atMost(WITHIN).until(() -> js.seqs("c").size() == 5);
      assertEquals(range(0, 5), js.seqs("c"));
      assertEquals(1, js.events("c", "connected").size(), js.describe("c"));
      assertEquals(0, js.events("c", "disconnected").size(), js.describe("c"));
      assertTrue(new Scrape(api.get("/metrics").body).sum("odin_ws_token_refreshes_total") >= 2);
      assertTrue(js.events("c", "error").isEmpty(), js.describe("c"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Env.class)
  void anExpiredJwtIsFetchedAgainAndTheClientReconnects(Env env) throws Exception {
    try (TestNode node = TestNode.start(1, jwtMode()); Publisher api = new Publisher(node.httpPort);
         JsClientDriver js = JsClientDriver.start(env, SECRET)) {
      // the backend's first JWT is already expired (401 at the handshake); the second lives 2 s and is not refreshed
      // (4401 at its exp); the third lives an hour
      js.openJwt("c", url(node.wsPort), "js-exp", List.of(-60, 2, 3600),
        new JsonObject().put("refreshToken", false).put("minDelayMs", 200).put("maxDelayMs", 1000));
      JsonObject refused = js.awaitEvent("c", "disconnected", 0, WITHIN);
      // Node's ws reports the handshake's status; a browser only sees the connection fail (1006) before it opened
      assertEquals(env == Env.NODE ? 401 : 1006, refused.getInteger("code"), refused.encode());
      assertTrue(refused.getBoolean("willRetry"));
      js.awaitEvent("c", "connected", 0, WITHIN);
      JsonObject expired = js.awaitEvent("c", "disconnected", 1, WITHIN);
      assertEquals(4401, expired.getInteger("code"), expired.encode());
      assertTrue(expired.getBoolean("willRetry"));
      js.awaitEvent("c", "connected", 1, WITHIN);
      assertEquals(3, js.events("c", "token").size(), "a fresh JWT for each attempt after 401 and 4401: " + js.describe("c"));
      await().atMost(WITHIN).until(() -> node.connections() == 1);
      publish(api, seqMessages("js-exp", 0, 5));
      await().atMost(WITHIN).until(() -> js.seqs("c").size() == 5);
      assertEquals(range(0, 5), js.seqs("c"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Env.class)
  void aSilentConnectionIsPingedAndADeadOneIsNoticedInSeconds(Env env) throws Exception {
    try (ChildNode node = ChildNode.launch("js-live", 1, Map.of()).awaitReady(); TestNode spare = TestNode.start(1);
         Publisher spareApi = new Publisher(spare.httpPort); TcpProxy balancer = new TcpProxy(node.wsPort);
         JsClientDriver js = JsClientDriver.start(env, null)) {
      js.open("c", url(balancer.port), "js-live", new JsonObject().put("pingAfterMs", 500).put("pongTimeoutMs", 1500)
        .put("connectTimeoutMs", 2000).put("minDelayMs", 200).put("maxDelayMs", 1000));
      js.awaitEvent("c", "connected", 0, WITHIN);
      // no traffic: the client pings every 0.5 s and the node's pongs keep the connection
      await().atMost(WITHIN).until(() -> js.events("c", "sent").size() >= 5);
      assertTrue(js.events("c", "sent").stream().allMatch(s -> s.getString("frame").equals("{\"op\":\"ping\"}")));
      assertEquals(0, js.events("c", "disconnected").size(), js.describe("c"));

      // the node freezes (SIGSTOP: a laptop lid, a lost network): the TCP connection stays, nothing answers
      node.pause();
      long frozen = System.nanoTime();
      JsonObject dead = js.awaitEvent("c", "disconnected", 0, WITHIN);
      long noticedMs = (System.nanoTime() - frozen) / 1_000_000;
      assertEquals(1006, dead.getInteger("code"), dead.encode());
      assertTrue(dead.getString("reason").contains("ping"), dead.encode());
      assertTrue(noticedMs < 5000, "noticed within pingAfterMs + pongTimeoutMs and some slack, not minutes: " + noticedMs + " ms");
      // attempts to the frozen node time out and back off, then the node comes back
      js.awaitEvent("c", "disconnected", 1, WITHIN);
      node.resume();
      js.awaitEvent("c", "connected", 1, WITHIN);

      // the node crashes (SIGKILL) and the balancer sends the client elsewhere: back-off, then connected again
      balancer.upstream(spare.wsPort);
      // counted before the kill: the client may notice the crash before this thread looks
      int before = js.events("c", "disconnected").size();
      node.kill();
      JsonObject crashed = js.awaitEvent("c", "disconnected", before, WITHIN);
      assertEquals(1006, crashed.getInteger("code"), crashed.encode());
      assertTrue(crashed.getDouble("delayMs") >= 200, "a crash backs off: " + crashed);
      js.awaitEvent("c", "connected", 2, WITHIN);
      await().atMost(WITHIN).until(() -> spare.connections() == 1);
      publish(spareApi, seqMessages("js-live", 0, 3));
      await().atMost(WITHIN).until(() -> js.seqs("c").size() == 3);
    }
  }

  static JsonObject jwtMode() {
    return new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET);
  }
}
