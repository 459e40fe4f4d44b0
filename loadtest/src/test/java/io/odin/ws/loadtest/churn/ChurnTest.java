package io.odin.ws.loadtest.churn;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.odin.ws.loadtest.churn.ChurnSchedule.Kind.DRAIN;
import static io.odin.ws.loadtest.churn.ChurnSchedule.Kind.JOIN;
import static io.odin.ws.loadtest.churn.ChurnSchedule.Kind.KILL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The churn's order of changes, and what it reads of a node's /health (the gateway's own shape, docs/observability.md). */
class ChurnTest {

  @Test
  void eachNodeInTurnLeavesByDrainOrKillAlternatelyAndComesBack() {
    List<ChurnSchedule.Action> s = ChurnSchedule.of(3, 7);
    assertEquals(List.of(new ChurnSchedule.Action(DRAIN, 1), new ChurnSchedule.Action(JOIN, 1),
      new ChurnSchedule.Action(KILL, 2), new ChurnSchedule.Action(JOIN, 2),
      new ChurnSchedule.Action(DRAIN, 0), new ChurnSchedule.Action(JOIN, 0),
      new ChurnSchedule.Action(KILL, 1)), s);
    assertEquals("kill node-1", s.get(6).label());
    assertThrows(IllegalArgumentException.class, () -> ChurnSchedule.of(1, 2));
  }

  @Test
  void aClusteredNodesHealthGivesItsMembersRoutesAndPartitions() {
    JsonObject health = new JsonObject().put("node", "node-0").put("dependencies", new JsonObject()
      .put("cluster", new JsonObject().put("status", "up").put("members", 3).put("nodes", new JsonObject()
        .put("node-0", new JsonArray().add("odin.shard.node-0.0"))
        .put("node-2", new JsonArray().add("odin.shard.node-2.0").add("odin.shard.node-2.1"))
        .put("node-1", new JsonArray())))
      .put("kafka-0", new JsonObject().put("assigned", new JsonArray().add("odin-events-0").add("odin-events-3"))));
    MembershipView v = MembershipView.parse(health.encode());
    assertEquals("node-0", v.node());
    assertEquals(3, v.members());
    assertEquals(Map.of("node-0", 1, "node-2", 2), v.routes(), "a node without shards is not routed to");
    assertEquals(2, v.kafkaPartitions());
    assertTrue(v.routesExactly(Set.of("node-0", "node-2")));
    assertFalse(v.routesExactly(Set.of("node-0", "node-1", "node-2")));
    assertNull(MembershipView.parse("{\"node\":\"a\",\"dependencies\":{}}"), "a node without a cluster");
    assertNull(MembershipView.parse("503 Service Unavailable"));
    assertEquals(-1, MembershipView.parse(health.copy().put("dependencies", new JsonObject()
      .put("cluster", health.getJsonObject("dependencies").getJsonObject("cluster"))).encode()).kafkaPartitions());
  }

  /** Two nodes at 25% and 35% of a core delivering 6,000/s: 100 µs per delivery over both; the first drain's times. */
  @Test
  void theMembersTableAddsTheNodesUp() {
    JsonObject load = new JsonObject()
      .put("deliveries", new JsonObject().put("perSecond", 6000.0))
      .put("verification", new JsonObject().put("violations", 0).put("deliveries", 360_000))
      .put("nodes", new JsonArray()
        .add(new JsonObject().put("cpuCoresUsed", 0.25).put("eventBusBytesWrittenPerSecond", 20_000.0)
          .put("eventBusRemoteMessagesPerSecond", 50.0))
        .add(new JsonObject().put("cpuCoresUsed", 0.35).put("eventBusBytesWrittenPerSecond", 30_000.0)
          .put("eventBusRemoteMessagesPerSecond", 70.0)));
    JsonObject churn = new JsonObject().put("changes", new JsonArray()
      .add(new JsonObject().put("change", "drain node-1").put("membershipMs", 150).put("routingMs", 40).put("kafkaMs", 3200))
      .add(new JsonObject().put("change", "join node-1").put("readyMs", 6100).put("membershipMs", 5000)
        .put("routingMs", 6200).put("kafkaMs", 9000)));
    String table = MembersReport.table(List.of(new MembersReport.Row(2, load, churn)));
    assertTrue(table.contains("| 2 | 6,000 | 30% / 35% of a core | 0.60 cores | 100.0 µs | 25.0 kB/s | 60 msg/s"
      + " | 0.2 s / 0.0 s / 3.2 s | n/a | 6.1 s / 5.0 s / 6.2 s / 9.0 s | 0 violations in 360,000 deliveries |"), table);
  }
}
