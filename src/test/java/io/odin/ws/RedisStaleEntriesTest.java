package io.odin.ws;

import io.odin.ws.registry.RedisConnectionRegistry;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TcpProxy;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.odin.ws.testsupport.Tokens.tokens;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stale registry entries never misdeliver and never lose a message: entries of a node that crashed (it lost Redis
 * and stopped without cleaning up), entries naming a dead shard, entries naming a live shard that does not hold
 * the token. A node that stops gracefully removes its entries at once.
 */
class RedisStaleEntriesTest {

  RedisServer redis;
  TcpProxy proxy;
  final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void start() {
    redis = RedisServer.start();
    proxy = new TcpProxy(redis.port);
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (Exception ignored) {
        // already closed by the test
      }
    }
    proxy.close();
    redis.close();
  }

  TestNode node(int shards, String redisUrl) {
    TestNode n = TestNode.start(shards, new JsonObject().put("redis.url", redisUrl)
      .put("registry.ttl", 60).put("registry.heartbeat", 30).put("redis.timeout", 300).put("redis.breakerProbeMs", 100));
    toClose.add(n);
    await().atMost(Duration.ofSeconds(10)).until(() -> ((RedisConnectionRegistry) n.node().registry()).available());
    return n;
  }

  WsClients clients(TestNode n) {
    WsClients c = new WsClients(n.wsPort);
    toClose.add(c);
    return c;
  }

  static Set<String> shardsOf(TestNode n, String token) {
    RegistryLookup l = WsClients.awaitResult(n.node().registry().lookup(List.of(token)));
    return l.shardsOf(token) == null ? Set.of() : new HashSet<>(l.shardsOf(token));
  }

  long redisNowMillis() {
    @SuppressWarnings("unchecked")
    List<Object> t = (List<Object>) redis.command("TIME");
    return Long.parseLong((String) t.get(0)) * 1000 + Long.parseLong((String) t.get(1)) / 1000;
  }

  @Test
  void staleEntriesNeverMisdeliverNorLoseAMessage() throws Exception {
    TestNode a = node(4, redis.url());
    TestNode b = node(2, proxy.url());
    List<String> aTokens = new ArrayList<>(tokens("a-", 300));
    aTokens.addAll(tokens("a-", 100)); // a second device for the first 100
    aTokens.addAll(tokens("s-", 50)); // tokens with a device on each node
    List<Conn> aConns = clients(a).connectAll(aTokens);
    WsClients bClients = clients(b);
    List<String> bTokens = new ArrayList<>(tokens("b-", 100));
    bTokens.addAll(tokens("s-", 50));
    bClients.connectAll(bTokens);
    String bShards = "odin.shard." + b.node().nodeId() + ".";
    assertTrue(shardsOf(a, "s-7").stream().anyMatch(s -> s.startsWith(bShards)), "s-7 is on both nodes");

    // node B crashes: it loses Redis, then stops without being able to remove its entries
    proxy.cut();
    bClients.close();
    b.close();
    assertFalse(redis.keys("odin:s:" + bShards + "*").isEmpty(), "B's entries remain");
    assertTrue(shardsOf(a, "b-3").stream().allMatch(s -> s.startsWith(bShards)));

    // more stale entries for A's tokens: a dead shard; a live shard that does not hold the token; and tokens
    // Redis knows only on a dead shard (as if their entries were lost)
    List<String> aShards = a.node().directory().all();
    long deadline = redisNowMillis() + 60_000;
    for (int i = 0; i < 120; i++) {
      String key = "odin:t:a-" + i;
      if (i < 50) {
        redis.command("ZADD", key, String.valueOf(deadline), "odin.shard.ghost.0");
      } else if (i < 100) {
        Set<String> real = shardsOf(a, "a-" + i);
        String wrong = aShards.stream().filter(s -> !real.contains(s)).findFirst().orElseThrow();
        redis.command("ZADD", key, String.valueOf(deadline), wrong);
      } else {
        redis.command("DEL", key);
        redis.command("ZADD", key, String.valueOf(deadline), "odin.shard.ghost.0");
      }
    }

    // publish through A for A's tokens, the shared ones and B's
    Map<String, Set<String>> expected = new HashMap<>();
    List<JsonArray> requests = new ArrayList<>();
    JsonArray batch = new JsonArray();
    List<String> all = new ArrayList<>(tokens("a-", 300));
    all.addAll(tokens("s-", 50));
    all.addAll(tokens("b-", 100));
    Set<String> entryLost = new HashSet<>(tokens("a-", 120).subList(100, 120));
    for (String t : all) {
      String id = "m-" + t;
      batch.add(new JsonObject().put("type", "order").put("token", t).put("data", new JsonObject().put("id", id)));
      if (!entryLost.contains(t)) {
        expected.computeIfAbsent(t, k -> new HashSet<>()).add(id);
      }
      if (batch.size() == 50) {
        requests.add(batch);
        batch = new JsonArray();
      }
    }
    if (!batch.isEmpty()) {
      requests.add(batch);
    }
    int fallback = 0;
    int undeliverable = 0;
    try (Publisher publisher = new Publisher(a.httpPort)) {
      for (JsonArray r : requests) {
        Publisher.Response resp;
        try {
          resp = publisher.post(r.encode());
        } catch (RuntimeException e) {
          StringBuilder sb = new StringBuilder("DEBUG-HANG " + a.node().registry() + "\n");
          Thread.getAllStackTraces().forEach((t, st) -> {
            sb.append(t.getName()).append('\n');
            for (StackTraceElement el : st) {
              sb.append("    ").append(el).append('\n');
            }
          });
          System.out.println(sb);
          throw e;
        }
        assertEquals(202, resp.status, resp.body);
        fallback += resp.json().getInteger("fallback");
        undeliverable += resp.json().getInteger("undeliverable");
      }
    }
    // Redis answers completely (every live shard's marker is there), so its answer is trusted: b-* (only B's dead
    // shards) are offline, sent nowhere; so are a-100..119, whose entries were lost without their shard's marker
    // (what an eviction does: docs/registry.md, known limits) until the next heartbeat restores them. a-0..99 stay
    // targeted: a stale entry costs fan-out, never a misdelivery.
    assertEquals(0, fallback);
    assertEquals(120, undeliverable);
    long expectedTotal = aConns.stream().mapToLong(c -> expected.getOrDefault(c.token, Set.of()).size()).sum();
    await().atMost(Duration.ofSeconds(30)).until(() -> aConns.stream().mapToLong(c -> c.frames.size()).sum() >= expectedTotal);
    for (Conn c : aConns) {
      Set<String> got = new HashSet<>();
      c.messages().forEach(m -> got.add(m.getJsonObject("data").getString("id")));
      assertEquals(c.frames.size(), got.size(), c.token + " got a duplicate");
      assertEquals(expected.getOrDefault(c.token, Set.of()), got, c.token);
    }
    assertEquals(expectedTotal, aConns.stream().mapToLong(c -> c.frames.size()).sum(), "no misdelivery");
  }

  @Test
  void aNodeThatStopsRemovesItsEntriesAtOnce() throws Exception {
    TestNode a = node(2, redis.url());
    TestNode c = node(2, redis.url());
    clients(a).connectAll(tokens("x-", 50));
    clients(c).connectAll(tokens("x-", 50));
    String cShards = "odin.shard." + c.node().nodeId() + ".";
    await().atMost(Duration.ofSeconds(10)).until(() -> shardsOf(a, "x-1").stream().anyMatch(s -> s.startsWith(cShards)));
    c.close(); // with its clients still connected: they get 1001 and C cleans up
    assertTrue(redis.keys("odin:s:" + cShards + "*").isEmpty(), "C's index and markers are gone");
    for (String t : tokens("x-", 50)) {
      Set<String> shards = shardsOf(a, t);
      assertFalse(shards.isEmpty());
      assertTrue(shards.stream().noneMatch(s -> s.startsWith(cShards)), t + " still names C: " + shards);
    }
  }
}
