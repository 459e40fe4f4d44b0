package io.odin.ws;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 2,000 real WebSocket clients over 4 shards of one node, published to through the real HTTP API: every
 * message reaches exactly the connections it is for, in per-token order.
 */
class GatewayRoutingTest {

  static final int SHARDS = 4;
  static final int TOKENS = 1200;
  /** Tokens below this index have two connections (two devices), the rest one: 2,000 connections. */
  static final int TWO_DEVICES = 800;

  static TestNode node;
  static WsClients clients;
  static Publisher publisher;
  static List<Conn> conns;

  @BeforeAll
  static void start() {
    node = TestNode.start(SHARDS);
    clients = new WsClients(node.wsPort);
    publisher = new Publisher(node.httpPort);
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < TOKENS; i++) {
      tokens.add(token(i));
      if (i < TWO_DEVICES) {
        tokens.add(token(i));
      }
    }
    conns = clients.connectAll(tokens);
    await().atMost(Duration.ofSeconds(30)).until(() -> totalConnections() == 2000);
  }

  @AfterAll
  static void stop() throws Exception {
    publisher.close();
    clients.close();
    node.close();
  }

  static String token(int i) {
    return "user-" + i;
  }

  static int totalConnections() {
    return node.connections();
  }

  private static void clearFrames() {
    conns.forEach(c -> c.frames.clear());
  }

  private static JsonObject envelope(String type, Object token, JsonObject data) {
    JsonObject e = new JsonObject().put("type", type).put("data", data);
    return token != null ? e.put("token", token) : e.put("broadcast", true);
  }

  @Test
  void connectionsAreSpreadOverAllShards() {
    assertEquals(SHARDS, node.node().shards().size());
    node.node().shards().values().forEach(s -> assertTrue(s.connections() > 0, s.address() + " holds no connection"));
    JsonObject health = publisher.get("/health").json();
    assertEquals(2000, health.getInteger("connections"));
    assertEquals(SHARDS, health.getJsonArray("shards").size());
  }

  @Test
  void everyMessageReachesExactlyItsConnections() {
    clearFrames();
    // one message per token, a few multi-token messages, and broadcasts, in several requests
    Map<String, Set<String>> expectedIds = new HashMap<>();
    Set<String> broadcastIds = new HashSet<>();
    JsonArray batch = new JsonArray();
    List<JsonArray> requests = new ArrayList<>();
    for (int i = 0; i < TOKENS; i++) {
      String id = "t" + i;
      batch.add(envelope("order", token(i), new JsonObject().put("id", id)));
      expectedIds.computeIfAbsent(token(i), k -> new HashSet<>()).add(id);
      if (i % 100 == 99) {
        String multi = "m" + i;
        batch.add(envelope("order", new JsonArray().add(token(i)).add(token(i - 50)).add(token(i)), new JsonObject().put("id", multi)));
        expectedIds.get(token(i)).add(multi);
        expectedIds.computeIfAbsent(token(i - 50), k -> new HashSet<>()).add(multi);
        String b = "b" + i;
        if (i % 200 == 199) {
          // a broadcast type goes to everyone when it names no token, and only to the token when it names one
          batch.add(new JsonObject().put("type", "system-announcement").put("data", new JsonObject().put("id", b)));
          broadcastIds.add(b);
          String mine = "s" + i;
          batch.add(envelope("system-announcement", token(3), new JsonObject().put("id", mine)));
          expectedIds.computeIfAbsent(token(3), k -> new HashSet<>()).add(mine);
        } else {
          batch.add(envelope("news", null, new JsonObject().put("id", b)));
          broadcastIds.add(b);
        }
        requests.add(batch);
        batch = new JsonArray();
      }
    }
    for (JsonArray r : requests) {
      Publisher.Response resp = publisher.post(r.encode());
      assertEquals(202, resp.status, resp.body);
      assertEquals(r.size(), resp.json().getInteger("accepted"));
    }
    long expectedTotal = conns.stream().mapToLong(c -> expectedIds.getOrDefault(c.token, Set.of()).size() + broadcastIds.size()).sum();
    await().atMost(Duration.ofSeconds(60)).until(() -> conns.stream().mapToLong(c -> c.frames.size()).sum() >= expectedTotal);

    for (Conn c : conns) {
      List<String> ids = new ArrayList<>();
      for (JsonObject m : c.messages()) {
        ids.add(m.getJsonObject("data").getString("id"));
      }
      Set<String> expected = new HashSet<>(expectedIds.getOrDefault(c.token, Set.of()));
      expected.addAll(broadcastIds);
      assertEquals(expected.size(), ids.size(), c.token + " got duplicates or extras: " + ids);
      assertEquals(expected, new HashSet<>(ids), c.token);
    }
    assertEquals(expectedTotal, conns.stream().mapToLong(c -> c.frames.size()).sum(), "no frame beyond the expected ones");
  }

  @Test
  void perTokenOrderHoldsUnderABurstMixedWithBroadcasts() {
    clearFrames();
    int tokens = 40;
    int perToken = 150;
    List<JsonArray> requests = new ArrayList<>();
    JsonArray batch = new JsonArray();
    int broadcasts = 0;
    for (int seq = 0; seq < perToken; seq++) {
      for (int t = 0; t < tokens; t++) {
        batch.add(envelope("tick", token(t), new JsonObject().put("seq", seq)));
      }
      if (seq % 10 == 0) {
        batch.add(envelope("news", null, new JsonObject().put("seq", -1).put("b", broadcasts++)));
      }
      if (batch.size() >= 400) {
        requests.add(batch);
        batch = new JsonArray();
      }
    }
    requests.add(batch);
    for (JsonArray r : requests) {
      assertEquals(202, publisher.post(r.encode()).status);
    }
    int totalBroadcasts = broadcasts;
    List<Conn> watched = new ArrayList<>();
    for (Conn c : conns) {
      if (Integer.parseInt(c.token.substring(5)) < tokens) {
        watched.add(c);
      }
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> watched.stream().allMatch(c -> c.frames.size() >= perToken + totalBroadcasts));
    for (Conn c : watched) {
      int expectedSeq = 0;
      int expectedBroadcast = 0;
      for (JsonObject m : c.messages()) {
        JsonObject data = m.getJsonObject("data");
        if (data.containsKey("b")) {
          assertEquals(expectedBroadcast++, data.getInteger("b"), c.token + " broadcast order");
          // a broadcast published after seq s of this token must come after it
          assertEquals(data.getInteger("b") * 10 + 1, expectedSeq, c.token + " broadcast out of place");
        } else {
          assertEquals(expectedSeq++, data.getInteger("seq"), c.token + " order");
        }
      }
      assertEquals(perToken, expectedSeq);
      assertEquals(totalBroadcasts, expectedBroadcast);
    }
  }

  @Test
  void messagesForTokensWithoutConnectionAreCountedAsUndeliverable() {
    double before = node.node().metrics().droppedCount(io.odin.ws.metrics.GatewayMetrics.DropReason.NO_CONNECTION);
    Publisher.Response resp = publisher.post(envelope("order", new JsonArray().add("nobody-1").add("nobody-2"), new JsonObject()).encode());
    assertEquals(202, resp.status);
    assertEquals(1, resp.json().getInteger("undeliverable"));
    assertEquals(before + 1, node.node().metrics().droppedCount(io.odin.ws.metrics.GatewayMetrics.DropReason.NO_CONNECTION));
  }
}
