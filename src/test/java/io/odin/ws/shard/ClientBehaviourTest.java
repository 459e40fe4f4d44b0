package io.odin.ws.shard;

import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What clients see: handshake rules, client ops, bad frames, reconnects, liveness and slow-client policy. */
class ClientBehaviourTest {

  static TestNode node;
  static WsClients clients;
  static Publisher publisher;

  @BeforeAll
  static void start() {
    node = TestNode.start(4, new JsonObject()
      .put("ws.pingIntervalMs", 200)
      .put("ws.idleTimeoutMs", 1000)
      .put("ws.writeQueueMaxBytes", 16 * 1024)
      // the slow client below reads its 1013 long after it was sent; EdgeLimitsTest covers the close timeout
      .put("ws.closeTimeoutMs", 120_000));
    clients = new WsClients(node.wsPort);
    publisher = new Publisher(node.httpPort);
  }

  @AfterAll
  static void stop() throws Exception {
    publisher.close();
    clients.close();
    node.close();
  }

  private static void publishTo(String token, String id) {
    Publisher.Response r = publisher.post(new JsonObject().put("type", "t").put("token", token)
      .put("data", new JsonObject().put("id", id)).encode());
    assertEquals(202, r.status, r.body);
  }

  private static boolean received(Conn c, String id) {
    return c.messages().stream().anyMatch(m -> m.getValue("data") instanceof JsonObject
      && id.equals(m.getJsonObject("data").getString("id")));
  }

  @Test
  void invalidTokensAreRefusedAtTheHandshakeWith400() {
    for (String bad : List.of("", "has%20space", "x".repeat(129), "semi;colon")) {
      Exception e = assertThrows(IllegalStateException.class, () -> clients.connect(bad));
      UpgradeRejectedException rejected = assertInstanceOf(UpgradeRejectedException.class, e.getCause().getCause());
      assertEquals(400, rejected.getStatus(), "token '" + bad + "'");
    }
    Exception noToken = assertThrows(IllegalStateException.class, () -> WsClients.awaitResult(
      clients.client().connect(node.wsPort, "127.0.0.1", "/ws")));
    assertEquals(400, ((UpgradeRejectedException) noToken.getCause().getCause()).getStatus());
    Exception wrongPath = assertThrows(IllegalStateException.class, () -> WsClients.awaitResult(
      clients.client().connect(node.wsPort, "127.0.0.1", "/other?token=a")));
    assertEquals(404, ((UpgradeRejectedException) wrongPath.getCause().getCause()).getStatus());
  }

  @Test
  void pingOpIsAnsweredAndBadFramesGetErrorsWithoutClosing() {
    Conn c = clients.connect("ops-client");
    c.send("{\"op\":\"ping\"}");
    c.send("this is not json");
    c.send("{\"op\":\"ack\",\"channel\":\"x\"}");
    c.socket().writeBinaryMessage(io.vertx.core.buffer.Buffer.buffer(new byte[] {1, 2, 3}));
    await().atMost(Duration.ofSeconds(10)).until(() -> c.frames.size() >= 4);
    List<JsonObject> got = c.messages();
    assertEquals("pong", got.get(0).getString("type"));
    assertEquals("error", got.get(1).getString("type"));
    assertTrue(got.get(1).getString("message").contains("not valid JSON"));
    assertTrue(got.get(2).getString("message").contains("unknown op \"ack\""));
    assertTrue(got.get(3).getString("message").contains("binary frames are not supported"));
    // still open and still served
    publishTo("ops-client", "after-errors");
    await().atMost(Duration.ofSeconds(10)).until(() -> received(c, "after-errors"));
  }

  @Test
  void oversizedFrameClosesOnlyThatConnectionWith1009() throws Exception {
    Conn bystander = clients.connect("bystander");
    try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=big-sender", 0)) {
      assertEquals(101, raw.handshakeStatus);
      raw.sendText("{\"op\":\"ping\",\"pad\":\"" + "x".repeat(10_000) + "\"}");
      assertEquals(1009, raw.awaitCloseCode(10_000));
    }
    publishTo("bystander", "still-here");
    await().atMost(Duration.ofSeconds(10)).until(() -> received(bystander, "still-here"));
  }

  @Test
  void reconnectOnAnotherShardGetsMessagesThere() {
    Conn first = clients.connect("roamer");
    String firstShard = shardOf("roamer");
    publishTo("roamer", "before");
    await().atMost(Duration.ofSeconds(10)).until(() -> received(first, "before"));
    first.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> shardsOf("roamer") == null);
    // Vert.x hands new connections to the shards in turn: reconnect until one lands elsewhere
    Conn again = null;
    for (int attempt = 0; attempt < 8; attempt++) {
      Conn c = clients.connect("roamer");
      await().atMost(Duration.ofSeconds(10)).until(() -> shardsOf("roamer") != null);
      if (!shardOf("roamer").equals(firstShard)) {
        again = c;
        break;
      }
      c.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> shardsOf("roamer") == null);
    }
    assertNotNull(again, "no reconnect landed on another shard");
    assertNotEquals(firstShard, shardOf("roamer"));
    publishTo("roamer", "after");
    Conn moved = again;
    await().atMost(Duration.ofSeconds(10)).until(() -> received(moved, "after"));
    assertEquals(1, moved.frames.size(), "only the message published after the reconnect");
  }

  @Test
  void silentClientIsClosedWith4408() throws Exception {
    double before = node.node().metrics().registry().counter("odin.ws.disconnects", "reason", "ping_timeout").count();
    try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=silent", 0)) {
      assertEquals(101, raw.handshakeStatus);
      // this client reads pings but never answers them
      assertEquals(ShardVerticle.CLOSE_PING_TIMEOUT, raw.awaitCloseCode(10_000));
    }
    await().atMost(Duration.ofSeconds(5)).until(() ->
      node.node().metrics().registry().counter("odin.ws.disconnects", "reason", "ping_timeout").count() > before);
  }

  @Test
  void answeringClientStaysConnectedPastTheIdleTimeout() {
    Conn c = clients.connect("lively");
    // Vert.x clients answer pings by themselves: after several idle timeouts the connection is still open
    long until = System.currentTimeMillis() + 2500;
    await().atMost(Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() > until);
    assertTrue(!c.isClosed());
    publishTo("lively", "alive");
    await().atMost(Duration.ofSeconds(10)).until(() -> received(c, "alive"));
  }

  @Test
  void slowClientIsCutOffAndOthersAreUnaffected() throws Exception {
    Conn fast = clients.connect("slow-peer");
    double dropped = node.node().metrics().droppedCount(GatewayMetrics.DropReason.SLOW_CLIENT);
    double cutOff = node.node().metrics().disconnectsCount(GatewayMetrics.DisconnectReason.SLOW_CLIENT);
    try (RawWebSocket slow = new RawWebSocket(node.wsPort, "/ws?token=slow-peer", 4096)) {
      assertEquals(101, slow.handshakeStatus);
      await().atMost(Duration.ofSeconds(5)).until(() -> shardsOf("slow-peer") != null && connectionsOf() >= 2);
      // the raw client never reads: kernel buffers fill, then its write queue, then it is closed
      String pad = "y".repeat(8000);
      int sent = 0;
      long lastHeard = 0;
      while (node.node().metrics().disconnectsCount(GatewayMetrics.DisconnectReason.SLOW_CLIENT) == cutOff && sent < 20_000) {
        if (System.currentTimeMillis() - lastHeard > 200) {
          // it never reads, but it is not silent: this keeps the ping timeout (1 s here) from closing it first
          slow.sendText("{\"op\":\"ping\"}");
          lastHeard = System.currentTimeMillis();
        }
        StringBuilder batch = new StringBuilder("[");
        for (int i = 0; i < 50; i++) {
          batch.append(i == 0 ? "" : ",").append(new JsonObject().put("type", "bulk").put("token", "slow-peer")
            .put("data", new JsonObject().put("n", sent++).put("pad", pad)).encode());
        }
        assertEquals(202, publisher.post(batch.append("]").toString()).status);
      }
      assertTrue(node.node().metrics().droppedCount(GatewayMetrics.DropReason.SLOW_CLIENT) > dropped, "never counted as slow");
      int total = sent;
      // the well-behaved device of the same token got every message
      await().atMost(Duration.ofSeconds(60)).until(() -> fast.frames.size() >= total);
      assertEquals(total, fast.frames.size());
      // and the slow one, once it reads, finds a 1013 close after what fitted
      int code = slow.awaitCloseCode(30_000);
      assertEquals(ShardVerticle.CLOSE_TRY_AGAIN_LATER, code);
    }
  }

  private static int connectionsOf() {
    return node.connections();
  }

  private static Collection<String> shardsOf(String token) {
    return node.node().registry().lookup(List.of(token)).result().shardsOf(token);
  }

  private static String shardOf(String token) {
    Collection<String> shards = shardsOf(token);
    assertNotNull(shards, token + " is not registered");
    assertEquals(1, shards.size());
    return shards.iterator().next();
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
