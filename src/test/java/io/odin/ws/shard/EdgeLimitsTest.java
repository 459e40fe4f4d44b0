package io.odin.ws.shard;

import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.metrics.GatewayMetrics.DropReason;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WebSocket edge under hostile clients, each case against a real node: limits, timeouts, refusals. */
class EdgeLimitsTest {

  private static TestNode node(JsonObject config) {
    return TestNode.start(2, config.put("ws.pingIntervalMs", 0));
  }

  private static GatewayMetrics metrics(TestNode node) {
    return node.node().metrics();
  }

  private static int healthConnections(Publisher api) {
    Publisher.Response r = api.get("/health");
    assertEquals(200, r.status, r.body);
    return new JsonObject(r.body).getInteger("connections");
  }

  private static void publish(Publisher api, String token, String id) {
    Publisher.Response r = api.post(new JsonObject().put("type", "t").put("token", token)
      .put("data", new JsonObject().put("id", id)).encode());
    assertEquals(202, r.status, r.body);
  }

  @Test
  void clientAboveTheFrameRateIsClosedWith1008AndCounted() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxClientFramesPerSecond", 20));
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=flooder", 0)) {
      assertEquals(101, raw.handshakeStatus);
      for (int i = 0; i < 100; i++) {
        raw.sendText("{\"op\":\"ping\"}");
      }
      assertEquals(1008, raw.awaitCloseCode(10_000));
      await().atMost(Duration.ofSeconds(5)).until(() -> metrics(node).disconnectsCount(DisconnectReason.FLOOD) == 1);
    }
  }

  @Test
  void clientThatSendsAndNeverReadsIsClosedLikeASlowClient() throws Exception {
    // no frame-rate limit here: the bounded write queue alone must stop it (main queued every reply without bound)
    try (TestNode node = node(new JsonObject().put("ws.maxClientFramesPerSecond", 1_000_000)
      .put("ws.writeQueueMaxBytes", 16 * 1024).put("ws.closeTimeoutMs", 1000));
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=never-reads", 4096)) {
      assertEquals(101, raw.handshakeStatus);
      byte[] bad = "not json".getBytes(StandardCharsets.UTF_8);
      int sent = 0;
      try {
        while (metrics(node).disconnectsCount(DisconnectReason.SLOW_CLIENT) == 0 && sent < 2_000_000) {
          raw.send(1, bad);
          sent++;
        }
      } catch (java.io.IOException torndown) {
        // the server may already have torn the connection down
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> metrics(node).disconnectsCount(DisconnectReason.SLOW_CLIENT) == 1);
      assertTrue(raw.awaitTcpClose(10_000), "torn down after ws.closeTimeoutMs");
    }
  }

  @Test
  void fragmentedMessageOverTheLimitClosesWith1009() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxFrameBytes", 4096));
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=fragments", 0)) {
      assertEquals(101, raw.handshakeStatus);
      byte[] part = "x".repeat(3000).getBytes(StandardCharsets.UTF_8);
      raw.sendFrame(0x01, part);        // text, not final
      raw.sendFrame(0x00, part);        // continuation, not final: 6000 bytes > 4096
      raw.sendFrame(0x80, part);        // continuation, final
      assertEquals(1009, raw.awaitCloseCode(5_000));
    }
  }

  @Test
  void fragmentedMessageWithinTheLimitIsAnswered() throws Exception {
    try (TestNode node = node(new JsonObject());
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=fragments-ok", 0)) {
      raw.sendFrame(0x01, "{\"op\":".getBytes(StandardCharsets.UTF_8));
      raw.sendFrame(0x80, "\"ping\"}".getBytes(StandardCharsets.UTF_8));
      RawWebSocket.Frame f = raw.read(5_000);
      assertEquals("{\"type\":\"pong\"}", f.text());
    }
  }

  @Test
  void invalidUtf8ClosesWith1007() throws Exception {
    try (TestNode node = node(new JsonObject());
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=bad-bytes", 0)) {
      raw.send(1, new byte[] {'{', '"', 'o', 'p', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});
      assertEquals(1007, raw.awaitCloseCode(5_000));
    }
  }

  @Test
  void connectionWithoutAnUpgradeIsClosedAfterTheHandshakeTimeout() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.handshakeTimeoutMs", 500))) {
      List<Socket> sockets = new ArrayList<>();
      try {
        Socket silent = connect(node.wsPort);
        Socket half = connect(node.wsPort);
        OutputStream out = half.getOutputStream();
        out.write("GET /ws?token=half HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        sockets.add(silent);
        sockets.add(half);
        for (Socket s : sockets) {
          s.setSoTimeout(10_000);
          long started = System.currentTimeMillis();
          assertEquals(-1, s.getInputStream().read(), "closed by the server");
          assertTrue(System.currentTimeMillis() - started < 9_000);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics(node).handshakeTimeoutsCount() == 2);
        // an upgraded connection is not affected by the handshake timeout
        try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=upgraded", 0)) {
          assertEquals(101, raw.handshakeStatus);
          assertFalse(raw.awaitTcpClose(1500), "still open after 3 handshake timeouts");
          raw.sendText("{\"op\":\"ping\"}");
          assertEquals("{\"type\":\"pong\"}", raw.read(5_000).text());
        }
      } finally {
        for (Socket s : sockets) {
          s.close();
        }
      }
    }
  }

  private static Socket connect(int port) throws Exception {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    return s;
  }

  @Test
  void slowClientAfter1013LeavesHealthAtOnceAndIsTornDownAfterTheCloseTimeout() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.writeQueueMaxBytes", 16 * 1024).put("ws.closeTimeoutMs", 3000));
         Publisher api = new Publisher(node.httpPort);
         RawWebSocket slow = new RawWebSocket(node.wsPort, "/ws?token=slow-reader", 4096)) {
      assertEquals(101, slow.handshakeStatus);
      await().atMost(Duration.ofSeconds(5)).until(() -> healthConnections(api) == 1);
      String pad = "p".repeat(8000);
      int sent = 0;
      while (metrics(node).disconnectsCount(DisconnectReason.SLOW_CLIENT) == 0 && sent < 20_000) {
        StringBuilder batch = new StringBuilder("[");
        for (int i = 0; i < 50; i++) {
          batch.append(i == 0 ? "" : ",").append(new JsonObject().put("type", "bulk").put("token", "slow-reader")
            .put("data", new JsonObject().put("pad", pad)).encode());
        }
        assertEquals(202, api.post(batch.append("]").toString()).status);
        sent += 50;
      }
      assertEquals(1, metrics(node).disconnectsCount(DisconnectReason.SLOW_CLIENT));
      // the socket is closing, not torn down yet: /health no longer counts it
      assertEquals(0, healthConnections(api));
      assertEquals(0, metrics(node).closeTimeoutsCount());
      // a message for it now is lost to a slow client, not to a missing connection
      double noConnection = metrics(node).droppedCount(DropReason.NO_CONNECTION);
      double slowDrops = metrics(node).droppedCount(DropReason.SLOW_CLIENT);
      publish(api, "slow-reader", "after-1013");
      await().atMost(Duration.ofSeconds(5)).until(() -> metrics(node).droppedCount(DropReason.SLOW_CLIENT) > slowDrops);
      assertEquals(noConnection, metrics(node).droppedCount(DropReason.NO_CONNECTION));
      // its close frame waits behind a full queue it never reads: the server tears the TCP connection down
      await().atMost(Duration.ofSeconds(15)).until(() -> metrics(node).closeTimeoutsCount() == 1);
      assertTrue(slow.awaitTcpClose(10_000));
      assertEquals(0, node.node().shards().values().stream().mapToInt(s -> s.connections()).sum());
    }
  }

  @Test
  void nodeAtMaxConnectionsAnswers503WithAReasonAndTheManagementPortStillWorks() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxConnections", 3));
         WsClients clients = new WsClients(node.wsPort);
         Publisher api = new Publisher(node.httpPort)) {
      List<Conn> held = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        held.add(clients.connect("held-" + i));
      }
      long started = System.currentTimeMillis();
      try (RawWebSocket refused = new RawWebSocket(node.wsPort, "/ws?token=one-too-many", 0)) {
        assertEquals(503, refused.handshakeStatus);
        assertEquals("too many connections\n", refused.handshakeBody);
        assertTrue(refused.awaitTcpClose(5_000), "the refused connection is closed");
      }
      assertTrue(System.currentTimeMillis() - started < 5_000, "refused at once");
      assertEquals(1, metrics(node).handshakesRefusedCount("node_full"));
      assertEquals(3, healthConnections(api));
      assertEquals(200, api.get("/metrics").status);
      Scrape scrape = new Scrape(api.get("/metrics").body);
      assertEquals(1, scrape.sum("odin_ws_handshakes_refused_total", "reason", "node_full"));
      // a slot given back is a slot to take
      held.get(0).close();
      await().atMost(Duration.ofSeconds(5)).until(() -> node.node().connectionLimits().inUse() == 2);
      Conn again = clients.connect("held-again");
      publish(api, "held-again", "x");
      await().atMost(Duration.ofSeconds(5)).until(() -> again.frames.size() == 1);
    }
  }

  @Test
  void maxConnectionsPerAddressAnswers503() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxConnectionsPerIp", 2));
         WsClients clients = new WsClients(node.wsPort)) {
      clients.connect("ip-a");
      clients.connect("ip-b");
      try (RawWebSocket refused = new RawWebSocket(node.wsPort, "/ws?token=ip-c", 0)) {
        assertEquals(503, refused.handshakeStatus);
        assertEquals("too many connections from this address\n", refused.handshakeBody);
      }
      assertEquals(1, metrics(node).handshakesRefusedCount("address_full"));
    }
  }

  /** Issue 33: one leaked token held 4,000 sockets; now ws.maxConnectionsPerToken per node, the others get 503. */
  @Test
  void maxConnectionsPerTokenAnswers503AndFreesASlotWhenOneCloses() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxConnectionsPerToken", 3));
         WsClients clients = new WsClients(node.wsPort);
         Publisher api = new Publisher(node.httpPort)) {
      List<Conn> leaked = clients.connectAll(List.of("leaked", "leaked", "leaked"));
      try (RawWebSocket refused = new RawWebSocket(node.wsPort, "/ws?token=leaked", 0)) {
        assertEquals(503, refused.handshakeStatus);
        assertEquals("too many connections for this token\n", refused.handshakeBody);
      }
      assertEquals(1, metrics(node).handshakesRefusedCount("token_full"));
      assertEquals(1.0, new Scrape(api.get("/metrics").body).sum("odin_ws_handshakes_refused_total", "reason", "token_full"));
      // other tokens are not affected, and a closed connection gives its token's slot back
      Conn other = clients.connect("someone-else");
      leaked.get(0).close();
      await().atMost(Duration.ofSeconds(10)).until(() -> healthConnections(api) == 3);
      Conn again = clients.connect("leaked");
      publish(api, "leaked", "after");
      await().atMost(Duration.ofSeconds(10)).until(() -> again.frames.size() == 1);
      assertTrue(other.frames.isEmpty());
    }
  }

  /** Issue 33: unsolicited pongs were not counted (131,454 in 2 s, no close); only the answer to a ping is free. */
  @Test
  void unsolicitedPongsCountAgainstTheFrameRate() throws Exception {
    try (TestNode node = node(new JsonObject().put("ws.maxClientFramesPerSecond", 20));
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=ponger", 0)) {
      assertEquals(101, raw.handshakeStatus);
      for (int i = 0; i < 100; i++) {
        raw.send(0xA, new byte[0]);
      }
      assertEquals(1008, raw.awaitCloseCode(10_000));
      await().atMost(Duration.ofSeconds(5)).until(() -> metrics(node).disconnectsCount(DisconnectReason.FLOOD) == 1);
    }
  }

  /**
   * Issue 33: a lone socket on a shard was pinged on every 100 ms tick of the sweep (about 750 pings in 75 s)
   * instead of once per ws.pingIntervalMs. A client that answers each ping keeps its connection, pongs free.
   */
  @Test
  void aLoneSocketIsPingedOncePerIntervalAndItsAnswersAreFree() throws Exception {
    try (TestNode node = TestNode.start(1, new JsonObject().put("ws.pingIntervalMs", 1000).put("ws.idleTimeoutMs", 60_000)
           .put("ws.maxClientFramesPerSecond", 1));
         RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=lone", 0)) {
      assertEquals(101, raw.handshakeStatus);
      int pings = 0;
      long until = System.currentTimeMillis() + 4_500;
      while (System.currentTimeMillis() < until) {
        RawWebSocket.Frame f = raw.read((int) Math.max(1, until - System.currentTimeMillis()));
        if (f != null && f.opcode == 0x9) {
          pings++;
          raw.send(0xA, f.payload);
        }
        assertTrue(f == null || f.opcode == 0x9, "only pings, no close: opcode " + (f == null ? -1 : f.opcode));
      }
      // 4.5 s at one ping a second: 4 or 5 (fewer if a loaded machine delays the ticks); on every tick it was 45
      assertTrue(pings >= 2 && pings <= 6, pings + " pings in 4.5 s at ws.pingIntervalMs=1000");
      assertEquals(0, metrics(node).disconnectsCount(DisconnectReason.FLOOD), "answers to pings are not counted");
    }
  }

  @Test
  void handshakeRefusalsCarryTheirReasonInTheBody() throws Exception {
    try (TestNode node = node(new JsonObject())) {
      try (RawWebSocket r = new RawWebSocket(node.wsPort, "/ws", 0)) {
        assertEquals(400, r.handshakeStatus);
        assertEquals("missing token\n", r.handshakeBody);
      }
      try (RawWebSocket r = new RawWebSocket(node.wsPort, "/ws?token=semi;colon", 0)) {
        assertEquals(400, r.handshakeStatus);
        assertEquals("token may contain only letters, digits and . _ : -\n", r.handshakeBody);
      }
      try (RawWebSocket r = new RawWebSocket(node.wsPort, "/elsewhere?token=a", 0)) {
        assertEquals(404, r.handshakeStatus);
        assertEquals("not found: connect to /ws?token=TOKEN\n", r.handshakeBody);
      }
      assertEquals(2, metrics(node).handshakesRefusedCount("bad_token"));
      assertEquals(0, node.node().connectionLimits().inUse(), "refusals hold no slot");
    }
  }

  /** Status line and whether the server closed the connection after answering {@code request}. */
  private static String statusLineOf(int port, String request) throws Exception {
    try (Socket s = connect(port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      return answer.substring(0, answer.indexOf("\r\n"));
    }
  }

  @Test
  void plainRequestsAndOversizedUpgradeRequestsAreAnsweredWithTheirStatus() throws Exception {
    try (TestNode node = node(new JsonObject())) {
      assertEquals("HTTP/1.1 426 Upgrade Required",
        statusLineOf(node.wsPort, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      assertEquals("HTTP/1.1 404 Not Found",
        statusLineOf(node.wsPort, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      assertEquals("HTTP/1.1 431 Request Header Fields Too Large", statusLineOf(node.wsPort,
        "GET /ws?token=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nX-Pad: " + "p".repeat(10_000) + "\r\n\r\n"));
      assertEquals("HTTP/1.1 414 Request-URI Too Long", statusLineOf(node.wsPort,
        "GET /ws?token=" + "t".repeat(12_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      assertEquals(0, node.node().connectionLimits().inUse(), "refusals hold no slot");
    }
  }
}
