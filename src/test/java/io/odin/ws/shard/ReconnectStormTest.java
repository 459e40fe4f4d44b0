package io.odin.ws.shard;

import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.ChurnClients;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 29: a reconnect storm (every client of a node back within a second) is admitted at ws.maxHandshakesPerSecond.
 * The handshakes beyond it get 503 with Retry-After; clients that follow it come back spread over the seconds the node
 * needs, and every one of them is connected in the end. The node's own count of refusals is the clients'.
 */
class ReconnectStormTest {

  static final int RATE = 200;
  static final int CLIENTS = 1000;

  static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start(2, new JsonObject().put("ws.maxHandshakesPerSecond", RATE));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aStormIsAdmittedAtTheRateAndEveryClientGetsIn() throws Exception {
    try (ChurnClients clients = new ChurnClients(node.wsPort, CLIENTS, CLIENTS, "storm-");
         WsClients others = new WsClients(node.wsPort)) {
      // the first storm: everyone connects at once
      clients.connectAll();
      // a client connected throughout gets its messages
      WsClients.Conn bystander = others.connect("bystander");
      assertEquals(CLIENTS + 1, node.connections());
      assertTrue(clients.retriedAfter.get() > 0, "handshakes beyond the rate were refused with Retry-After");
      assertAdmittedAtTheRate(new ArrayList<>(clients.openedAt));

      // the second: every client goes and all come back at once, those with a cursor resuming from it
      try (Publisher api = new Publisher(node.httpPort)) {
        assertEquals(202, api.post(new JsonObject().put("type", "news").put("broadcast", true).encode()).status);
      }
      // (a third of the clients are raw TCP ones that do not read their frames)
      await().atMost(Duration.ofSeconds(20)).until(() -> clients.messages.get() >= CLIENTS * 2 / 3);
      clients.closeAll();
      clients.openedAt.clear();
      clients.reconnectAll();
      assertAdmittedAtTheRate(new ArrayList<>(clients.openedAt));
      assertTrue(clients.recovered.get() > 0, "cursor clients resumed");
      assertEquals(0, clients.failed.size(), "no handshake failed otherwise: " + clients.failed);

      GatewayMetrics metrics = node.node().metrics();
      assertEquals(clients.retriedAfter.get(), (long) metrics.handshakesRefusedCount(HandshakeGate.RATE_LIMITED),
        "each refusal the clients saw is counted once");
      // and the connected client was not disturbed
      try (Publisher api = new Publisher(node.httpPort)) {
        assertEquals(202, api.post(new JsonObject().put("type", "t").put("token", "bystander").put("data", 1).encode()).status);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> bystander.messages().stream().anyMatch(m -> "t".equals(m.getString("type"))));
    }
  }

  /**
   * Every client connected, over about the time the rate asks for (a second's worth at once, then the rate): not much
   * faster (the rate held), not much slower (the clients came back when Retry-After said, and were let in).
   */
  private static void assertAdmittedAtTheRate(List<Long> openedAt) {
    assertEquals(CLIENTS, openedAt.size(), "every client connected");
    long first = openedAt.stream().mapToLong(Long::longValue).min().orElseThrow();
    long last = openedAt.stream().mapToLong(Long::longValue).max().orElseThrow();
    double seconds = (last - first) / 1000.0;
    double asked = (CLIENTS - RATE) / (double) RATE;
    assertTrue(seconds >= asked - 1, "admitted at " + RATE + " a second: all in after " + seconds + " s, the rate asks " + asked);
    assertTrue(seconds <= 3 * asked + 5, "those told to come back were let in: all in after " + seconds + " s");
  }
}
