package io.odin.ws.registry;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TcpProxy;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static io.odin.ws.testsupport.Tokens.tokens;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Redis registry on its own, against a real redis-server: key model, coalescing, round trips, recovery. */
class RedisConnectionRegistryTest {

  RedisServer redis;
  Vertx vertx;
  ShardDirectory directory;
  final List<RedisConnectionRegistry> registries = new ArrayList<>();

  @BeforeEach
  void start() {
    redis = RedisServer.start();
    vertx = Vertx.vertx();
    directory = new ShardDirectory("test-node");
  }

  @AfterEach
  void stop() throws Exception {
    for (RedisConnectionRegistry r : registries) {
      r.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    redis.close();
  }

  /**
   * A registry on the test's Redis. redis.timeout is what a round trip on a loaded 2-core machine may take, not what
   * these tests measure: at 300 ms a 3,000-token flush sometimes timed out under a full test run, the registry then
   * (rightly) re-synced its shard, and a lookup made meanwhile failed with "being re-populated". A dead Redis still
   * fails at once here (connection refused or reset), so the failure tests do not wait for it.
   */
  RedisConnectionRegistry registry(JsonObject conf) {
    return registry(conf, false);
  }

  /** ... with the history's keys and scripts when {@code history} (as a node runs it by default). */
  RedisConnectionRegistry registry(JsonObject conf, boolean history) {
    JsonObject c = new JsonObject().put("redis.url", redis.url()).put("redis.breakerProbeMs", 100)
      .put("redis.timeout", 5_000).mergeIn(conf);
    GatewayConfig config = GatewaySchema.resolve(c, Map.of());
    Context ctx = vertx.getOrCreateContext();
    RedisConnectionRegistry r = new RedisConnectionRegistry(vertx, ctx, RegistrySettings.redisOptions(config),
      new RegistrySettings(config), history ? new HistorySettings(config) : null, "n1", directory,
      new GatewayMetrics(new SimpleMeterRegistry()), (name, health) -> { });
    registries.add(r);
    return r;
  }

  /** A stand-in for a shard: its own context and the tokens it holds. */
  final class Shard {
    final String address;
    final Context context = vertx.getOrCreateContext();
    final Set<String> tokens = ConcurrentHashMap.newKeySet();

    Shard(RedisConnectionRegistry registry, String address) {
      this.address = address;
      registry.attachShard(address, context, () -> new ArrayList<>(tokens));
      directory.add(address);
    }

    void hold(RedisConnectionRegistry registry, Collection<String> held) {
      Promise<Void> all = Promise.promise();
      context.runOnContext(v -> {
        List<Future<?>> fs = new ArrayList<>();
        for (String t : held) {
          tokens.add(t);
          fs.add(registry.register(t, address));
        }
        Future.all(fs).<Void>mapEmpty().onComplete(all);
      });
      get(all.future());
    }

    void release(RedisConnectionRegistry registry, String token) {
      context.runOnContext(v -> {
        tokens.remove(token);
        registry.unregister(token, address);
      });
    }
  }

  static <T> T get(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, Set<String>> lookup(RedisConnectionRegistry r, Collection<String> tokens) {
    RegistryLookup l = get(r.lookup(tokens));
    assertTrue(l.authoritative(), "a lookup that succeeds saw every live shard's marker: complete");
    Map<String, Set<String>> out = new java.util.HashMap<>();
    for (String t : tokens) {
      if (l.shardsOf(t) != null) {
        out.put(t, new TreeSet<>(l.shardsOf(t)));
      }
    }
    return out;
  }

  static boolean lookupSucceeds(RedisConnectionRegistry r, Collection<String> tokens) {
    try {
      r.lookup(tokens).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void registersLooksUpAndUnregisters() {
    RedisConnectionRegistry r = registry(new JsonObject());
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    Shard s1 = new Shard(r, "odin.shard.n1.1");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, List.of("a"));
    s1.hold(r, List.of("a", "b"));
    Map<String, Set<String>> found = lookup(r, List.of("a", "b", "c"));
    assertEquals(Set.of(s0.address, s1.address), found.get("a"));
    assertEquals(Set.of(s1.address), found.get("b"));
    assertNull(found.get("c"), "unknown token");

    s0.release(r, "a");
    await().atMost(Duration.ofSeconds(5)).until(() -> Set.of(s1.address).equals(lookup(r, List.of("a")).get("a")));
    s1.release(r, "b");
    await().atMost(Duration.ofSeconds(5)).until(() -> lookup(r, List.of("b")).isEmpty());
    assertEquals(List.of(), redis.keys("odin:t:b"), "an empty entry leaves no key behind");
  }

  @Test
  void aBatchIsResolvedInOneRoundTrip() {
    RedisConnectionRegistry r = registry(new JsonObject());
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    new Shard(r, "odin.shard.n1.1");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    List<String> tokens = tokens("u", 1000);
    s0.hold(r, tokens);
    lookup(r, tokens.subList(0, 10)); // loads the script and opens the pooled connection
    redis.resetStats();
    for (int i = 0; i < 5; i++) {
      assertEquals(1000, lookup(r, tokens).size());
    }
    assertEquals(5, redis.calls("evalsha_ro"), "one EVALSHA_RO per looked-up batch: " + redis.commandCalls());
    // commandstats also counts the commands the script runs inside Redis, and this test's own INFO calls
    Set<String> inside = Set.of("exists", "zrangebyscore", "time", "info", "config|resetstat");
    assertEquals(5, redis.commandCalls().entrySet().stream().filter(e -> !inside.contains(e.getKey()))
      .mapToLong(Map.Entry::getValue).sum(), "nothing else was sent: " + redis.commandCalls());
  }

  @Test
  void aConnectStormIsCoalescedIntoFewRoundTrips() {
    RedisConnectionRegistry r = registry(new JsonObject().put("registry.coalesceMs", 20));
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    long flushesBefore = r.stats().getLong("flushes");
    redis.resetStats();
    List<String> tokens = tokens("storm", 3000);
    s0.hold(r, tokens);
    assertEquals(0, r.stats().getLong("flushFailures"), () -> "a flush failed, so its shard re-syncs: " + r.stats());
    long flushes = r.stats().getLong("flushes") - flushesBefore;
    assertTrue(flushes <= 3, "3,000 registrations in " + flushes + " round trips");
    long scripts = redis.calls("evalsha");
    assertTrue(scripts <= 3000 / RedisConnectionRegistry.CHUNK + 3, scripts + " script calls: " + redis.commandCalls());
    assertEquals(3000, lookup(r, tokens).size());
  }

  @Test
  void heartbeatsKeepEntriesAliveAndEntriesWithoutHeartbeatExpire() {
    RedisConnectionRegistry r = registry(new JsonObject().put("registry.ttl", 2).put("registry.heartbeat", 1));
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, List.of("kept"));
    // an entry of a shard that no heartbeat refreshes (a crashed node): not live here, so not in the directory
    get(r.register("orphan", "odin.shard.gone.0"));
    assertEquals(Set.of("odin.shard.gone.0"), lookup(r, List.of("orphan")).get("orphan"));
    long start = System.currentTimeMillis();
    await().atMost(Duration.ofSeconds(6)).until(() -> lookup(r, List.of("orphan")).isEmpty());
    assertTrue(System.currentTimeMillis() - start >= 1000, "expired only after about the TTL");
    assertEquals(Set.of(s0.address), lookup(r, List.of("kept")).get("kept"), "refreshed by heartbeats");
    await().atMost(Duration.ofSeconds(6)).until(() -> redis.keys("odin:t:orphan").isEmpty());
  }

  @Test
  void aHeartbeatDropsEntriesItsShardNoLongerHolds() {
    RedisConnectionRegistry r = registry(new JsonObject().put("registry.ttl", 20).put("registry.heartbeat", 1));
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, List.of("x", "y"));
    s0.tokens.remove("y"); // as if its removal had been lost
    assertEquals(Set.of(s0.address), lookup(r, List.of("y")).get("y"));
    await().atMost(Duration.ofSeconds(5)).until(() -> lookup(r, List.of("y")).isEmpty());
    assertEquals(Set.of(s0.address), lookup(r, List.of("x")).get("x"));
  }

  @Test
  void aRemovedShardsEntriesAreDeleted() {
    RedisConnectionRegistry r = registry(new JsonObject());
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    Shard s1 = new Shard(r, "odin.shard.n1.1");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, tokens("t", 300));
    s1.hold(r, tokens("t", 10));
    directory.remove(s0.address);
    r.removeShard(s0.address);
    await().atMost(Duration.ofSeconds(5)).until(() -> redis.keys("odin:t:*").size() == 10);
    assertEquals(List.of(), redis.keys("odin:s:" + s0.address + "*"));
    assertEquals(Set.of(s1.address), lookup(r, List.of("t5")).get("t5"));
    assertTrue(r.available());
  }

  @Test
  void redisRestartedEmptyIsNoticedAndEveryShardRegistersAgain() {
    // a long heartbeat: recovery must not wait for it
    RedisConnectionRegistry r = registry(new JsonObject().put("registry.ttl", 120).put("registry.heartbeat", 60));
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    Shard s1 = new Shard(r, "odin.shard.n1.1");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, tokens("a", 100));
    s1.hold(r, tokens("a", 50));
    redis.restartEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> lookupSucceeds(r, List.of("a1"))
      && lookup(r, List.of("a1")).getOrDefault("a1", Set.of()).size() == 2);
    Map<String, Set<String>> found = lookup(r, tokens("a", 100));
    assertEquals(100, found.size());
    assertEquals(50, found.values().stream().filter(s -> s.size() == 2).count());
  }

  @Test
  void theBreakerOpensOnADeadRedisAndTargetedLookupsResumeWhenItIsBack() {
    RedisConnectionRegistry r = registry(new JsonObject().put("registry.ttl", 120).put("registry.heartbeat", 60));
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, List.of("a", "b"));
    redis.kill();
    await().atMost(Duration.ofSeconds(10)).until(() -> !lookupSucceeds(r, List.of("a"))
      && r.breakerState() != CircuitBreaker.State.CLOSED);
    long failures = r.stats().getLong("lookupFailures");
    for (int i = 0; i < 50; i++) {
      assertFalse(lookupSucceeds(r, List.of("a")));
    }
    assertEquals(failures, r.stats().getLong("lookupFailures"), "an open breaker does not ask Redis");
    // a connect while Redis is down is not held up
    s0.hold(r, List.of("c"));
    redis.launch();
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    Map<String, Set<String>> found = lookup(r, List.of("a", "b", "c"));
    assertEquals(3, found.size(), "every token the shard holds is registered again: " + found);
    assertEquals(new HashSet<>(List.of("odin.shard.n1.0")), found.get("c"));
  }

  /**
   * Redis slow rather than dead (a loaded machine): the lookups sent first time out and open the breaker; one sent a
   * little later is answered within its own timeout, after the breaker opened and before any probe. That answer closes
   * the breaker, and it must count as Redis being back: the shards re-register at once, including the connection made
   * while the breaker was open (not written then). It closed the breaker silently: the registry stayed "syncing" and
   * that connection unregistered until the next heartbeat, while other nodes' lookups sent its token's messages to a
   * stale entry (soak: messages lost at a connected client).
   */
  @Test
  void anAnswerThatClosesTheOpenBreakerReRegistersEveryShardAtOnce() {
    // no probe and no heartbeat within the test: only the answer can close the breaker
    RedisConnectionRegistry r = registry(new JsonObject().put("redis.timeout", 2_000)
      .put("redis.breakerProbeMs", 60_000).put("registry.ttl", 120).put("registry.heartbeat", 60), true);
    Shard s0 = new Shard(r, "odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    s0.hold(r, List.of("a"));
    // Redis holds every command for 2.5 s: the first three lookups time out at 2 s (the breaker opens), the one sent
    // 1 s later is answered at 2.5 s, within its timeout
    redis.command("CLIENT", "PAUSE", "2500", "ALL");
    for (int i = 0; i < 3; i++) {
      r.lookup(List.of("a"));
    }
    Promise<RegistryLookup> late = Promise.promise();
    vertx.setTimer(1_000, id -> r.lookup(List.of("a")).onComplete(late));
    await().atMost(Duration.ofSeconds(10)).until(() -> r.breakerState() == CircuitBreaker.State.OPEN);
    // connected while the breaker is open: not held up, and not written
    s0.hold(r, List.of("c"));
    assertTrue(get(late.future().map(l -> true).otherwise(false)), "the later lookup is answered");
    assertEquals(CircuitBreaker.State.CLOSED, r.breakerState());
    await().atMost(Duration.ofSeconds(10)).until(r::available);
    assertEquals(Set.of("odin.shard.n1.0"), lookup(r, List.of("c")).get("c"),
      "the connection made while the breaker was open is registered once Redis answers again");
  }

  /**
   * A heartbeat (every token a shard holds, re-applied 256 per script call) is bigger than one round trip may take
   * (redis.timeout): here 20,000 tokens with their history keys, about 1.9 MB, over a link that passes 1 MB/s, against
   * a timeout of 1 s. Sent as one pipelined batch under one timeout, it failed for its size alone; its shard was then
   * re-synced with a batch just as big, so the registry never got back in sync (targeted dispatch stayed off for
   * good; seen with 15,000 connections on a busy machine at the default 500 ms). Each round trip of a flush is now
   * held to the timeout on its own.
   */
  @Test
  void aFlushBiggerThanOneRoundTripsTimeoutIsWrittenInRoundTripsThatEachFitIt() {
    try (TcpProxy link = new TcpProxy(redis.port)) {
      RedisConnectionRegistry r = registry(new JsonObject().put("redis.url", link.url()).put("redis.timeout", 1000)
        .put("registry.heartbeat", 2), true);
      Shard s0 = new Shard(r, "odin.shard.n1.0");
      await().atMost(Duration.ofSeconds(10)).until(r::available);
      List<String> tokens = tokens("big-", 20_000);
      s0.hold(r, tokens);
      await().atMost(Duration.ofSeconds(30)).until(r::available);
      long failuresBefore = r.stats().getLong("flushFailures");
      long flushesBefore = r.stats().getLong("flushes");
      link.throttleUpstream(1_000_000);
      // two heartbeats through the slow link
      await().atMost(Duration.ofSeconds(30)).until(() -> r.stats().getLong("flushes") >= flushesBefore + 2
        || r.stats().getLong("flushFailures") > failuresBefore);
      assertEquals(failuresBefore, r.stats().getLong("flushFailures"), () -> "a heartbeat timed out: " + r.stats());
      assertTrue(r.available(), () -> "in sync: " + r.stats());
      link.throttleUpstream(0);
      assertEquals(20_000, lookup(r, tokens).size());
    }
  }
}
