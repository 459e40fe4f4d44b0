package io.odin.ws.cluster;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.CursorClients;
import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A node that (re)starts into a running cluster takes clients only once the other nodes route to its shards. Its
 * shards listen before it announces them; a client that connected in between (clients of a drained node reconnect
 * to any node, including one still starting) missed every broadcast and every targeted message the other nodes
 * dispatched meanwhile (soak: a broadcast lost at 13 clients that had just reconnected to a restarting node).
 */
class NodeStartClusterTest {

  final List<ChildNode> nodes = new ArrayList<>();
  RedisServer redis;
  CursorClients clients;

  @AfterEach
  void stop() throws Exception {
    if (clients != null) {
      clients.close();
    }
    for (ChildNode n : nodes) {
      n.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void aClientConnectedToAStartingNodeGetsABroadcastPublishedElsewhereRightAfterItsHandshake() throws Exception {
    redis = RedisServer.start();
    List<Integer> clusterPorts = List.of(Ports.free(), Ports.free());
    ChildNode up = node("up", 0, clusterPorts).awaitReady();
    ChildNode starting = node("starting", 1, clusterPorts);
    clients = new CursorClients();
    Client alice = clients.client("alice");
    // as soon as the starting node takes the client (a reconnecting client tries again and again)
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(5)).ignoreExceptions()
      .until(() -> {
        alice.connect(starting.wsPort);
        return true;
      });
    // published through the other node right after the handshake, and nothing after it: a shard that never got it
    // has no later message to notice the gap by
    try (Publisher api = new Publisher(up.httpPort)) {
      assertEquals(202, api.post("{\"type\":\"t\",\"broadcast\":true,\"data\":{\"id\":\"x\"}}").status);
    }
    await().atMost(Duration.ofSeconds(15)).until(() -> alice.received.contains("x"));
    assertEquals(List.of("x"), alice.received, alice.toString());
  }

  ChildNode node(String name, int clusterPortIndex, List<Integer> clusterPorts) throws Exception {
    ChildNode n = ChildNode.launch(name, 2, Map.of(
      "ODIN_CLUSTER", "true",
      "ODIN_CLUSTER_HOST", "127.0.0.1",
      "ODIN_CLUSTER_PORT", String.valueOf(clusterPorts.get(clusterPortIndex)),
      "ODIN_CLUSTER_MEMBERS", String.join(",", clusterPorts.stream().map(p -> "127.0.0.1:" + p).toList()),
      "ODIN_CLUSTER_FAILURE_DETECTION_SECONDS", "3",
      "ODIN_REDIS_URL", redis.url(),
      "ODIN_REDIS_TIMEOUT", "5000"));
    nodes.add(n);
    return n;
  }
}
