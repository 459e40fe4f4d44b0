package io.odin.ws.registry;

import io.odin.ws.testsupport.RedisServer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The slot of a key as Redis computes it, a tag for every slot, and CLUSTER NODES read into a slot map. */
class ClusterTopologyTest {

  @Test
  void slotsAreRedisClusterSlots() {
    // CLUSTER KEYSLOT answers of redis-server 7.0, and the hash tag rules
    assertEquals(15495, SlotHash.slot("a"));
    assertEquals(3300, SlotHash.slot("b"));
    assertEquals(12182, SlotHash.slot("foo"));
    assertEquals(SlotHash.slot("t:alice"), SlotHash.slot("odin:h:{t:alice}"));
    assertEquals(SlotHash.slot("odin:h:{t:alice}"), SlotHash.slot("odin:t:{t:alice}"), "a token's entry and its stream share a slot");
    assertEquals(SlotHash.slot("x{}y"), SlotHash.slot("x{}y"));
    assertEquals(SlotHash.slot("{}{a}"), SlotHash.slot("{}{a}"), "an empty first tag hashes the whole key");
    assertFalse(SlotHash.slot("{}{a}") == SlotHash.slot("a"));
    assertEquals(SlotHash.slot("a"), SlotHash.slot("{a}{b}"), "the first tag only");
  }

  @Test
  void everySlotHasATagThatLandsInIt() {
    for (int s = 0; s < SlotHash.SLOTS; s++) {
      assertEquals(s, SlotHash.slot("odin:h:gen:{" + SlotHash.tag(s) + "}"));
    }
  }

  @Test
  void slotsAgreeWithARealRedis() {
    try (RedisServer redis = RedisServer.clusterNode("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")) {
      for (String key : List.of("odin:t:{t:user-42}", "odin:h:{b}", "odin:s:odin.shard.n1.0:live:{" + SlotHash.tag(5461) + "}",
        "plain", "é{ü}")) {
        assertEquals(((Long) redis.command("CLUSTER", "KEYSLOT", key)).intValue(), SlotHash.slot(key), key);
      }
    }
  }

  @Test
  void clusterNodesIsReadIntoMastersTheirSlotsAndReplicas() {
    String nodes = """
      e817 127.0.0.1:17002@27002 master - 0 1796629203036 2 connected 5461-10921
      6fc2 127.0.0.1:17006@27006 slave 5680 0 1796629203237 1 connected
      51e1 127.0.0.1:17004@27004 slave,fail e817 0 1796629203237 2 disconnected
      5680 :17001@27001 myself,master - 0 1796629203000 1 connected 0-5459 5460 [3168->-e817]
      c8ed 127.0.0.1:17005@27005 slave 7426 0 1796629203237 3 connected
      7426 127.0.0.1:17003@27003 master,fail? - 0 1796629203000 3 connected 10923-16383
      aaaa 127.0.0.1:17007@27007 master - 0 1796629203000 0 connected
      bbbb 10.0.0.9:6379@16379,redis-9.example master - 0 1796629203000 9 connected 10922
      """;
    ClusterTopology t = ClusterTopology.parse(nodes, "rediss://:pw@127.0.0.1:17001");
    assertEquals(4, t.masters().size(), "a master without slots serves nothing");
    assertEquals("rediss://:pw@redis-9.example:6379", t.master(10922).endpoint(), "its announced hostname (TLS names)");
    ClusterTopology.Master first = t.masters().get(0);
    assertEquals("rediss://:pw@127.0.0.1:17001", first.endpoint(), "the queried node's host, the seed's scheme and password");
    assertEquals("0-5459,5460", first.slots());
    assertEquals(0, first.lowestSlot());
    assertEquals(5461, first.slotCount());
    assertEquals("127.0.0.1:17006", first.replicas().get(0).address());
    assertEquals("fail", t.masters().get(1).replicas().get(0).state());
    assertEquals("suspected", t.masters().get(3).node().state());
    assertEquals(first, t.master(3168), "a migrating slot is still served by its owner");
    ClusterTopology withoutLast = ClusterTopology.parse(nodes.lines().filter(l -> !l.contains("bbbb"))
      .reduce("", (a, b) -> a + b + "\n"), "rediss://:pw@127.0.0.1:17001");
    assertEquals(1, withoutLast.uncovered(), "slot 10922 has no master");
    assertNull(withoutLast.master(10922));
    assertEquals("rediss://127.0.0.1:17001", ClusterTopology.displayed(first.endpoint()));
    assertTrue(t.sameLayout(ClusterTopology.parse(nodes.replace("master,fail?", "master"), "rediss://:pw@127.0.0.1:17001")));
    assertFalse(t.sameLayout(ClusterTopology.parse(nodes.replace("5461-10921", "5461-10920"), "rediss://:pw@127.0.0.1:17001")));
  }
}
