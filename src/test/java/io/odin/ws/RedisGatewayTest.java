package io.odin.ws;

import io.odin.ws.metrics.GatewayMetrics.DispatchType;
import io.odin.ws.registry.RedisConnectionRegistry;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 2,100 real WebSocket clients on 4 shards, the registry in a real redis-server: exact targeted delivery through
 * Redis, one Redis round trip per dispatched batch (counted by Redis itself), reconnects that land on other
 * shards, Redis killed mid-stream (fallback, nothing lost) and restarted empty (targeted and exact again after a
 * heartbeat). The steps run in order on one node.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisGatewayTest {

  static final int SHARDS = 4;
  static final int TOKENS = 1100;
  static final int HEARTBEAT_SECONDS = 1;

  static RedisServer redis;
  static TestNode node;
  static WsClients clients;
  static Publisher publisher;
  static final List<Conn> conns = new ArrayList<>();

  /** Tokens below 300 have three devices, below 700 two, the rest one: 2,100 connections. */
  static int devices(int i) {
    return i < 300 ? 3 : i < 700 ? 2 : 1;
  }

  static String token(int i) {
    return "user-" + i;
  }

  @BeforeAll
  static void start() {
    redis = RedisServer.start();
    node = TestNode.start(SHARDS, new JsonObject()
      .put("redis.url", redis.url())
      .put("registry.ttl", 3)
      .put("registry.heartbeat", HEARTBEAT_SECONDS)
      .put("redis.timeout", 300)
      .put("redis.breakerFailures", 2)
      .put("redis.breakerProbeMs", 100));
    clients = new WsClients(node.wsPort);
    publisher = new Publisher(node.httpPort);
    List<String> tokens = new ArrayList<>();
    // shuffled, so the devices of a token land on different shards
    for (int d = 0; d < 3; d++) {
      for (int i = 0; i < TOKENS; i++) {
        if (devices(i) > d) {
          tokens.add(token(i));
        }
      }
    }
    java.util.Collections.shuffle(tokens, new java.util.Random(42));
    conns.addAll(clients.connectAll(tokens));
    await().atMost(Duration.ofSeconds(60)).until(() -> totalConnections() == 2100);
    await().atMost(Duration.ofSeconds(10)).until(() -> registry().available());
  }

  @AfterAll
  static void stop() throws Exception {
    if (publisher != null) {
      publisher.close();
    }
    if (clients != null) {
      clients.close();
    }
    if (node != null) {
      node.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  static RedisConnectionRegistry registry() {
    return (RedisConnectionRegistry) node.node().registry();
  }

  static int totalConnections() {
    return node.connections();
  }

  static JsonObject envelope(Object token, String id) {
    return new JsonObject().put("type", "order").put("token", token).put("data", new JsonObject().put("id", id));
  }

  /** What a round published: the requests, and the message ids each token must receive. */
  static final class Round {
    final List<JsonArray> requests = new ArrayList<>();
    final Map<String, Set<String>> expected = new HashMap<>();
    int targeted;
    int fallback;
    int undeliverable;
  }

  /** One message per token and a two-token message every 50 tokens, 100 messages per publish request. */
  static Round round(String tag, Collection<String> tokens) {
    Round r = new Round();
    JsonArray batch = new JsonArray();
    List<String> list = new ArrayList<>(tokens);
    for (int i = 0; i < list.size(); i++) {
      String t = list.get(i);
      String id = tag + "-" + i;
      batch.add(envelope(t, id));
      r.expected.computeIfAbsent(t, k -> new HashSet<>()).add(id);
      if (i % 50 == 49) {
        String other = list.get(i - 25);
        String multi = tag + "-m" + i;
        batch.add(envelope(new JsonArray().add(t).add(other), multi));
        r.expected.get(t).add(multi);
        r.expected.computeIfAbsent(other, k -> new HashSet<>()).add(multi);
      }
      if (batch.size() >= 100) {
        r.requests.add(batch);
        batch = new JsonArray();
      }
    }
    if (!batch.isEmpty()) {
      r.requests.add(batch);
    }
    return r;
  }

  static Set<String> allTokens() {
    Set<String> out = new LinkedHashSet<>();
    for (Conn c : conns) {
      out.add(c.token);
    }
    return out;
  }

  static void post(Round r, JsonArray request) {
    Publisher.Response resp = publisher.post(request.encode());
    assertEquals(202, resp.status, resp.body);
    JsonObject json = resp.json();
    synchronized (r) {
      r.targeted += json.getInteger("targeted");
      r.fallback += json.getInteger("fallback");
      r.undeliverable += json.getInteger("undeliverable");
    }
  }

  /** Waits for every expected frame, then checks each connection got exactly its token's messages. */
  static void verify(Round r) {
    long expectedTotal = conns.stream().mapToLong(c -> r.expected.getOrDefault(c.token, Set.of()).size()).sum();
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> conns.stream().mapToLong(c -> c.frames.size()).sum() >= expectedTotal);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      int shown = 0;
      StringBuilder missing = new StringBuilder();
      for (Conn c : conns) {
        Set<String> want = new HashSet<>(r.expected.getOrDefault(c.token, Set.of()));
        for (JsonObject m : c.messages()) {
          want.remove(m.getJsonObject("data").getString("id"));
        }
        if (!want.isEmpty() && shown++ < 20) {
          missing.append(c.token).append(c.isClosed() ? " (closed " + c.closeCode() + ")" : "").append(" misses ")
            .append(want).append('\n');
        }
      }
      throw new AssertionError(shown + " connections miss messages; registry " + registry().stats().encode()
        + "\n" + missing, e);
    }
    for (Conn c : conns) {
      List<String> ids = new ArrayList<>();
      for (JsonObject m : c.messages()) {
        ids.add(m.getJsonObject("data").getString("id"));
      }
      Set<String> expected = r.expected.getOrDefault(c.token, Set.of());
      assertEquals(expected.size(), ids.size(), c.token + " got duplicates, extras or too few: " + ids);
      assertEquals(expected, new HashSet<>(ids), c.token);
    }
    assertEquals(expectedTotal, conns.stream().mapToLong(c -> c.frames.size()).sum());
  }

  static void clearFrames() {
    conns.forEach(c -> c.frames.clear());
  }

  static Map<String, Set<String>> shardsInRedis(Collection<String> tokens) {
    RegistryLookup l = WsClients.awaitResult(registry().lookup(tokens));
    Map<String, Set<String>> out = new HashMap<>();
    for (String t : tokens) {
      out.put(t, l.shardsOf(t) == null ? Set.of() : new HashSet<>(l.shardsOf(t)));
    }
    return out;
  }

  @Test
  @Order(1)
  void everyMessageReachesExactlyItsConnectionsThroughRedis() {
    node.node().shards().values().forEach(s -> assertTrue(s.connections() > 0, s.address() + " holds no connection"));
    Map<String, Set<String>> inRedis = shardsInRedis(allTokens());
    for (int i = 0; i < TOKENS; i++) {
      Set<String> shards = inRedis.get(token(i));
      assertTrue(!shards.isEmpty() && shards.size() <= devices(i), token(i) + " -> " + shards);
    }
    assertTrue(inRedis.values().stream().anyMatch(s -> s.size() == 3), "some tokens have devices on three shards");

    clearFrames();
    Round r = round("exact", allTokens());
    r.requests.forEach(req -> post(r, req));
    verify(r);
    assertEquals(0, r.fallback, "every message targeted through Redis");
    assertEquals(0, r.undeliverable);
  }

  @Test
  @Order(2)
  void offlineTokensCostNothingWithAHealthyRegistry() {
    clearFrames();
    // 80% of the messages for tokens with no connection anywhere, 20% for connected ones
    Round r = new Round();
    JsonArray batch = new JsonArray();
    for (int i = 0; i < 500; i++) {
      if (i % 5 == 0) {
        String t = token(i);
        batch.add(envelope(t, "online-" + i));
        r.expected.computeIfAbsent(t, k -> new HashSet<>()).add("online-" + i);
      } else {
        batch.add(envelope("offline-" + i, "offline-" + i));
      }
    }
    double fanoutBefore = node.node().metrics().pathFanout(io.odin.ws.protocol.DispatchPath.TARGETED).totalAmount();
    post(r, batch);
    verify(r);
    assertEquals(400, r.undeliverable, "a token a healthy registry does not know is offline");
    assertEquals(0, r.fallback, "offline tokens do not fall back to every shard");
    double shardsSent = node.node().metrics().pathFanout(io.odin.ws.protocol.DispatchPath.TARGETED).totalAmount() - fanoutBefore;
    assertTrue(shardsSent <= 100 * 3, "only the online tokens' shards got messages: " + shardsSent);
  }

  @Test
  @Order(3)
  void oneRedisRoundTripPerDispatchedBatch() {
    clearFrames();
    Round r = round("rt", allTokens());
    long lookupsBefore = registry().stats().getLong("lookups");
    long dispatchCalls;
    try (RedisServer.Monitor monitor = redis.monitor()) {
      r.requests.forEach(req -> post(r, req));
      verify(r);
      // a batch's script names the live shards' markers (odin:s:<shard>:live) and no shard's token index; a
      // heartbeat's end of sync names a marker and the shard's indexes (odin:s:<shard>:tokens), registry writes neither
      dispatchCalls = monitor.lines().stream().filter(l -> !l.contains(" lua] ")
        && l.toUpperCase().matches(".*\\] \"EVALSHA(_RO)?\".*") && l.contains(":live\"") && !l.contains(":tokens\"")).count();
    }
    // each publish request is one dispatched batch; Redis runs one script call per batch, which stores the batch's
    // messages in the history and looks its tokens up
    assertEquals(r.requests.size(), dispatchCalls, "Redis script calls for " + r.requests.size() + " batches");
    assertEquals(r.requests.size(), registry().stats().getLong("lookups") - lookupsBefore);
    assertEquals(0, r.fallback);
  }

  @Test
  @Order(4)
  void clientsThatReconnectLandOnOtherShardsAndGetTheirMessagesAtOnce() {
    List<Conn> moving = new ArrayList<>();
    for (Conn c : conns) {
      if (moving.size() < 400 && Integer.parseInt(c.token.substring(5)) % 3 == 0) {
        moving.add(c);
      }
    }
    Set<String> movingTokens = new HashSet<>();
    moving.forEach(c -> movingTokens.add(c.token));
    Map<String, Set<String>> before = shardsInRedis(movingTokens);
    moving.forEach(Conn::close);
    conns.removeAll(moving);
    List<String> again = new ArrayList<>();
    moving.forEach(c -> again.add(c.token));
    conns.addAll(clients.connectAll(again));
    // no waiting: a client whose handshake completed is already visible to every lookup
    clearFrames();
    Round r = round("moved", allTokens());
    r.requests.forEach(req -> post(r, req));
    verify(r);
    assertEquals(0, r.fallback);
    await().atMost(Duration.ofSeconds(10)).until(() -> totalConnections() == 2100);
    Map<String, Set<String>> after = shardsInRedis(movingTokens);
    long moved = movingTokens.stream().filter(t -> !after.get(t).equals(before.get(t))).count();
    assertTrue(moved > movingTokens.size() / 4, moved + " of " + movingTokens.size() + " tokens changed shards");
  }

  @Test
  @Order(5)
  void redisKilledMidStreamEveryClientStillGetsItsMessages() {
    int deployments = node.vertx.deploymentIDs().size();
    double fallbackBefore = node.node().metrics().dispatchedCount(DispatchType.FALLBACK);
    clearFrames();
    Round r = round("killed", allTokens());
    CompletableFuture<Void> killed = null;
    for (int i = 0; i < r.requests.size(); i++) {
      if (i == r.requests.size() / 3) {
        killed = CompletableFuture.runAsync(redis::kill);
      }
      post(r, r.requests.get(i));
    }
    WsClients.awaitResult(io.vertx.core.Future.fromCompletionStage(killed));
    verify(r);
    // a client that connects while Redis is down is not held up and gets its messages
    conns.addAll(clients.connectAll(List.of(token(1), token(800), "late-0", "late-1")));
    clearFrames();
    Round more = round("down", List.of(token(1), token(800), "late-0", "late-1", token(5)));
    more.requests.forEach(req -> post(more, req));
    verify(more);
    // a token nobody holds falls back too while the registry cannot answer: it might be on any shard
    Round offline = new Round();
    post(offline, new JsonArray().add(envelope("offline-while-down", "x")));
    assertEquals(1, offline.fallback, "fallback while Redis is down, not undeliverable");
    assertTrue(r.fallback > 0, "fell back once Redis was gone");
    assertEquals(0, more.targeted, "everything falls back while Redis is down");
    assertTrue(node.node().metrics().dispatchedCount(DispatchType.FALLBACK) > fallbackBefore);
    assertTrue(node.node().metrics().redisErrorCount() > 0);
    assertEquals(deployments, node.vertx.deploymentIDs().size(), "no verticle died");
    assertEquals(SHARDS, node.node().directory().all().size());
    JsonObject health = publisher.get("/health").json();
    assertEquals("down", health.getJsonObject("dependencies").getJsonObject("redis").getString("status"), health.encode());
    assertEquals(200, publisher.get("/health/ready").status);
  }

  @Test
  @Order(6)
  void redisRestartedEmptyDispatchIsTargetedAndExactAgainAfterOneHeartbeat() {
    long restartedAt = System.currentTimeMillis();
    redis.launch();
    await().atMost(Duration.ofSeconds(HEARTBEAT_SECONDS + 10)).until(() -> registry().available());
    long recoveredMillis = System.currentTimeMillis() - restartedAt;
    System.out.println("targeted dispatch resumed " + recoveredMillis + " ms after Redis restarted empty (heartbeat "
      + HEARTBEAT_SECONDS + " s)");
    assertEquals(allTokens().size(), redis.keys("odin:t:*").size(), "every live connection registered again");
    double fallbackBefore = node.node().metrics().dispatchedCount(DispatchType.FALLBACK);
    clearFrames();
    Round r = round("restarted", allTokens());
    r.requests.forEach(req -> post(r, req));
    verify(r);
    assertEquals(0, r.fallback, "fallback stopped");
    assertEquals(fallbackBefore, node.node().metrics().dispatchedCount(DispatchType.FALLBACK));
    assertEquals("up", publisher.get("/health").json().getJsonObject("dependencies").getJsonObject("redis").getString("status"));
  }

  @Test
  @Order(7)
  void redisRestartedEmptyWhileIdleIsNoticedByTheNextLookup() {
    redis.restartEmpty();
    // during the refill window Redis's silence proves nothing: an unknown token falls back
    long notInSyncBefore = registry().stats().getLong("lookupsNotInSync");
    Round refill = new Round();
    post(refill, new JsonArray().add(envelope("offline-during-refill", "x")));
    // the registry counts a lookup that found a live shard's entries incomplete; a heartbeat may have re-synced
    // every shard between the restart and the lookup, and then the token is rightly undeliverable
    if (registry().stats().getLong("lookupsNotInSync") > notInSyncBefore) {
      assertEquals(1, refill.fallback, "fallback while Redis is refilled, not undeliverable");
    }
    clearFrames();
    Round r = round("idle-restart", allTokens());
    r.requests.forEach(req -> post(r, req));
    verify(r); // the first batches fall back (Redis knows nobody yet): nothing is lost
    await().atMost(Duration.ofSeconds(HEARTBEAT_SECONDS + 10)).until(() -> registry().available()
      && redis.keys("odin:t:*").size() == allTokens().size());
    clearFrames();
    Round again = round("idle-restart-2", allTokens());
    again.requests.forEach(req -> post(again, req));
    verify(again);
    assertEquals(0, again.fallback);
  }

  @Test
  @Order(8)
  void closingTheNodeRemovesItsEntries() throws Exception {
    clients.close();
    clients = null;
    node.close();
    node = null;
    // the registry's entries go; the history stays (history.ttlMs) for the clients to come back to
    await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("odin:*").stream().allMatch(k -> k.startsWith("odin:h:")));
    assertTrue(redis.isRunning());
  }
}
