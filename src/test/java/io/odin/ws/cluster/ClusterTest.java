package io.odin.ws.cluster;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three real odin-ws processes forming a Hazelcast cluster on loopback, with real WebSocket clients on each:
 * cross-node delivery, a crash (SIGKILL) and a graceful stop (SIGTERM).
 */
class ClusterTest {

  private final List<ChildNode> nodes = new ArrayList<>();
  private final List<WsClients> clientPools = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (WsClients c : clientPools) {
      c.close();
    }
    for (ChildNode n : nodes) {
      n.close();
    }
  }

  private List<ChildNode> startCluster(int count) throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ports.add(Ports.free());
    }
    String members = String.join(",", ports.stream().map(p -> "127.0.0.1:" + p).toList());
    for (int i = 0; i < count; i++) {
      nodes.add(ChildNode.launch("n" + (char) ('a' + i), 2, Map.of(
        "ODIN_CLUSTER", "true",
        "ODIN_CLUSTER_HOST", "127.0.0.1",
        "ODIN_CLUSTER_PORT", String.valueOf(ports.get(i)),
        "ODIN_CLUSTER_MEMBERS", members,
        "ODIN_CLUSTER_FAILURE_DETECTION_SECONDS", "3",
        "ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000")));
    }
    for (ChildNode n : nodes) {
      n.awaitReady();
    }
    // every node sees every node's shards
    await().atMost(Duration.ofSeconds(60)).until(() -> nodes.stream().allMatch(n ->
      n.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes").size() == count));
    return nodes;
  }

  private WsClients clientsOf(ChildNode n) {
    WsClients c = new WsClients(n.wsPort);
    clientPools.add(c);
    return c;
  }

  private static JsonObject envelope(String type, String token, String id) {
    JsonObject e = new JsonObject().put("type", type).put("data", new JsonObject().put("id", id));
    if (token != null) {
      e.put("token", token);
    }
    return e;
  }

  private static Set<String> ids(Conn c) {
    Set<String> out = new HashSet<>();
    for (JsonObject m : c.messages()) {
      out.add(m.getJsonObject("data").getString("id"));
    }
    return out;
  }

  private static void publish(ChildNode via, JsonArray batch) {
    Publisher.Response r = via.api().post(batch.encode());
    assertEquals(202, r.status, r.body);
  }

  @Test
  void messagesReachExactlyTheirClientsOnEveryNodeAndBroadcastsReachEveryClientOnce() throws Exception {
    startCluster(3);
    // tokens with connections on one node, and a token with devices on all three
    Map<String, List<Conn>> byToken = new HashMap<>();
    List<Conn> all = new ArrayList<>();
    for (int n = 0; n < 3; n++) {
      WsClients pool = clientsOf(nodes.get(n));
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        tokens.add("u" + n + "-" + i);
      }
      tokens.add("everywhere");
      for (Conn c : pool.connectAll(tokens)) {
        byToken.computeIfAbsent(c.token, t -> new ArrayList<>()).add(c);
        all.add(c);
      }
    }
    // publish through every node, so dispatch happens on each
    Map<String, Set<String>> expected = new HashMap<>();
    Set<String> broadcasts = new HashSet<>();
    for (int via = 0; via < 3; via++) {
      JsonArray batch = new JsonArray();
      for (String token : byToken.keySet()) {
        String id = token + "@" + via;
        batch.add(envelope("order", token, id));
        expected.computeIfAbsent(token, t -> new HashSet<>()).add(id);
      }
      String b = "broadcast@" + via;
      batch.add(envelope("news", null, b));
      broadcasts.add(b);
      publish(nodes.get(via), batch);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> all.stream().allMatch(c ->
      c.frames.size() >= expected.get(c.token).size() + broadcasts.size()));
    for (Conn c : all) {
      Set<String> want = new HashSet<>(expected.get(c.token));
      want.addAll(broadcasts);
      assertEquals(want.size(), c.frames.size(), c.token + " got extras or duplicates");
      assertEquals(want, ids(c), c.token);
    }
  }

  @Test
  void crashedNodeDropsOutOfRoutingAndItsClientsGetMessagesAfterReconnecting() throws Exception {
    startCluster(3);
    ChildNode a = nodes.get(0);
    ChildNode c = nodes.get(2);
    Conn onA = clientsOf(a).connect("steady");
    List<Conn> onC = clientsOf(c).connectAll(List.of("victim-1", "victim-2"));
    publish(a, new JsonArray().add(envelope("order", "victim-1", "before-crash")));
    await().atMost(Duration.ofSeconds(10)).until(() -> ids(onC.get(0)).contains("before-crash"));

    c.kill();
    // the survivors drop the dead node's shards as soon as Hazelcast declares it gone
    await().atMost(Duration.ofSeconds(30)).until(() -> !a.health().getJsonObject("dependencies")
      .getJsonObject("cluster").getJsonObject("nodes").containsKey(c.name));
    assertEquals(2, a.health().getJsonObject("dependencies").getJsonObject("cluster").getInteger("members"));
    await().atMost(Duration.ofSeconds(10)).until(() -> onC.stream().allMatch(Conn::isClosed));

    // the clients reconnect to a survivor and get their messages there
    List<Conn> moved = clientsOf(nodes.get(1)).connectAll(List.of("victim-1", "victim-2"));
    publish(a, new JsonArray()
      .add(envelope("order", "victim-1", "after-1"))
      .add(envelope("order", "victim-2", "after-2"))
      .add(envelope("order", "steady", "steady-1"))
      .add(envelope("news", null, "all")));
    await().atMost(Duration.ofSeconds(20)).until(() -> moved.stream().allMatch(m -> m.frames.size() >= 2)
      && onA.frames.size() >= 2);
    assertEquals(Set.of("after-1", "all"), ids(moved.get(0)));
    assertEquals(Set.of("after-2", "all"), ids(moved.get(1)));
    assertEquals(Set.of("steady-1", "all"), ids(onA));
    assertEquals(2, moved.get(0).frames.size());
    assertTrue(a.isAlive() && nodes.get(1).isAlive());
  }

  @Test
  void gracefulStopClosesClientsWith1001AndLeavesRoutingClean() throws Exception {
    startCluster(2);
    ChildNode a = nodes.get(0);
    ChildNode b = nodes.get(1);
    List<Conn> onB = clientsOf(b).connectAll(List.of("leaving-1", "leaving-2", "leaving-1"));
    int exit = b.terminate();
    // the JVM reports SIGTERM as 143 even after its shutdown hooks ran to the end
    assertTrue(exit == 0 || exit == 143, "exit " + exit + ": " + b.logText());
    await().atMost(Duration.ofSeconds(20)).until(() -> onB.stream().allMatch(Conn::isClosed));
    for (Conn conn : onB) {
      assertEquals((short) 1001, conn.closeCode(), "close code");
    }
    JsonObject nodesSeen = a.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes");
    assertFalse(nodesSeen.containsKey(b.name), "the stopped node's shards are out of routing: " + nodesSeen);

    List<Conn> back = clientsOf(a).connectAll(List.of("leaving-1", "leaving-2", "leaving-1"));
    publish(a, new JsonArray().add(envelope("order", "leaving-1", "x1")).add(envelope("order", "leaving-2", "x2")));
    await().atMost(Duration.ofSeconds(20)).until(() -> back.stream().allMatch(m -> m.frames.size() >= 1));
    assertEquals(Set.of("x1"), ids(back.get(0)));
    assertEquals(Set.of("x2"), ids(back.get(1)));
    assertEquals(Set.of("x1"), ids(back.get(2)));
  }
}
