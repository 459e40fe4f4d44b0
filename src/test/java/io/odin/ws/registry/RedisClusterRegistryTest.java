package io.odin.ws.registry;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;
import io.odin.ws.testsupport.RedisCluster;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TcpProxy;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The registry and the history on a real Redis Cluster of six redis-server processes (three masters, three
 * replicas): keys spread over every master, one script call per master per batch, a master killed or failed over
 * (only its tokens fall back, its streams take new epochs, the others' keep theirs), a slot moved while lookups run,
 * and a message that could not be stored raising only its slot's generation. Each test gets a cluster of its own.
 */
class RedisClusterRegistryTest {

  static final String SHARD_0 = "odin.shard.n1.0";
  static final String SHARD_1 = "odin.shard.n1.1";

  RedisCluster cluster;
  Vertx vertx;
  ShardDirectory directory;
  RedisClusterRegistry registry;
  final Map<String, Set<String>> held = new ConcurrentHashMap<>();
  Context shardContext;

  @BeforeEach
  void start() {
    cluster = RedisCluster.start(3);
    vertx = Vertx.vertx();
    directory = new ShardDirectory("n1");
    shardContext = vertx.getOrCreateContext();
    for (String shard : List.of(SHARD_0, SHARD_1)) {
      held.put(shard, ConcurrentHashMap.newKeySet());
      directory.add(shard);
    }
    registry = registry(new JsonObject());
  }

  /** A registry on the cluster with both shards attached (settings overridden by {@code conf}), once available. */
  RedisClusterRegistry registry(JsonObject conf) {
    JsonObject c = new JsonObject().put("redis.mode", "cluster").put("redis.endpoints", new JsonArray(cluster.seeds()))
      .put("redis.breakerProbeMs", 100).put("redis.breakerFailures", 2).put("redis.timeout", 1000)
      .put("registry.ttl", 60).put("registry.heartbeat", 30).mergeIn(conf);
    GatewayConfig config = GatewaySchema.resolve(c, Map.of());
    RedisClusterRegistry r = new RedisClusterRegistry(vertx, vertx.getOrCreateContext(),
      RegistrySettings.redisOptions(config), new RegistrySettings(config), new HistorySettings(config), "n1", directory,
      new GatewayMetrics(new SimpleMeterRegistry()), (name, health) -> { });
    for (String shard : List.of(SHARD_0, SHARD_1)) {
      r.attachShard(shard, shardContext, () -> new ArrayList<>(held.get(shard)));
    }
    await().atMost(Duration.ofSeconds(20)).until(r::available);
    return r;
  }

  @AfterEach
  void stop() throws Exception {
    if (registry != null) {
      registry.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Runs {@code call} on the shards' context (as shards and dispatchers call the registry) and waits for it. */
  <T> T on(Supplier<Future<T>> call) {
    Promise<T> p = Promise.promise();
    shardContext.runOnContext(v -> call.get().onComplete(p));
    try {
      return p.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  Map<String, Registered> hold(String shard, Collection<String> tokens) {
    Map<String, Registered> out = new ConcurrentHashMap<>();
    on(() -> {
      List<Future<?>> all = new ArrayList<>();
      for (String t : tokens) {
        held.get(shard).add(t);
        all.add(registry.register(t, shard).onSuccess(r -> out.put(t, r)));
      }
      return Future.all(all);
    });
    return out;
  }

  static Envelope targeted(String text, String... tokens) {
    byte[] data = ("\"" + text + "\"").getBytes(StandardCharsets.UTF_8);
    return new Envelope("t", tokens, null, FrameEncoder.message("t", null, data, 0, data.length), false, 0);
  }

  static Envelope broadcast(String text) {
    byte[] data = ("\"" + text + "\"").getBytes(StandardCharsets.UTF_8);
    return new Envelope("t", null, null, FrameEncoder.message("t", null, data, 0, data.length), true, 0);
  }

  static List<String> tokens(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  /** The slot of a token's keys (its entry, its stream, its stream's generation). */
  static int slotOf(String token) {
    return SlotHash.slot("odin:h:{" + Streams.token(token) + "}");
  }

  /** Looks up and stores one message per token; returns the lookup (null when it failed altogether). */
  RegistryLookup dispatch(List<String> tokens, List<Envelope> batch) {
    return on(() -> registry.lookup(tokens, batch).recover(t -> Future.succeededFuture(null)));
  }

  static Map<String, Set<String>> found(RegistryLookup l, Collection<String> tokens) {
    Map<String, Set<String>> out = new HashMap<>();
    for (String t : tokens) {
      if (l.shardsOf(t) != null) {
        out.put(t, new TreeSet<>(l.shardsOf(t)));
      }
    }
    return out;
  }

  @Test
  void entriesSpreadOverEveryMasterAndLookupsAreExact() {
    List<String> tokens = tokens("u", 300);
    hold(SHARD_0, tokens);
    hold(SHARD_1, tokens.subList(0, 100));
    for (RedisServer m : cluster.masters()) {
      assertTrue(m.keys("odin:t:{t:*}").size() > 50, "every master holds entries: " + m.port);
      assertEquals(1, m.keys("odin:s:" + SHARD_0 + ":live:{*}").size(), "a marker per shard on every master");
    }
    List<String> asked = new ArrayList<>(tokens);
    asked.add("nobody");
    RegistryLookup l = dispatch(asked, null);
    assertNotNull(l);
    for (String t : asked) {
      assertTrue(l.answered(t), t);
    }
    Map<String, Set<String>> found = found(l, asked);
    assertEquals(300, found.size());
    for (int i = 0; i < 300; i++) {
      assertEquals(i < 100 ? Set.of(SHARD_0, SHARD_1) : Set.of(SHARD_0), found.get("u" + i), "u" + i);
    }
    held.get(SHARD_1).remove("u5");
    on(() -> {
      registry.unregister("u5", SHARD_1);
      return Future.succeededFuture();
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> Set.of(SHARD_0).equals(found(dispatch(List.of("u5"), null), List.of("u5")).get("u5")));
  }

  @Test
  void aStoppedShardsEntriesAreDeletedOnEveryMaster() {
    List<String> tokens = tokens("c", 200);
    hold(SHARD_0, tokens);
    hold(SHARD_1, tokens.subList(0, 20));
    directory.remove(SHARD_0);
    registry.removeShard(SHARD_0);
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.keys("odin:t:{t:c*}").size() == 20
      && cluster.keys("odin:s:" + SHARD_0 + ":*").isEmpty());
    for (RedisServer m : cluster.masters()) {
      assertEquals(1, m.keys("odin:s:" + SHARD_1 + ":live:{*}").size(), "the other shard's marker stays on " + m.port);
    }
    RegistryLookup l = dispatch(tokens.subList(0, 40), null);
    assertEquals(20, found(l, tokens.subList(0, 40)).size());
    assertEquals(Set.of(SHARD_1), found(l, List.of("c3")).get("c3"));
  }

  @Test
  void aBatchIsOneScriptCallPerMasterTouched() {
    List<String> tokens = tokens("r", 200);
    Map<String, Registered> registered = hold(SHARD_0, tokens);
    List<Envelope> batch = new ArrayList<>();
    for (String t : tokens) {
      batch.add(targeted("m-" + t, t));
    }
    batch.add(broadcast("b"));
    batch.add(targeted("two", "r1", "r2"));
    dispatch(tokens, batch); // warm: scripts loaded, connections open
    List<RedisServer.Monitor> monitors = new ArrayList<>();
    for (RedisServer m : cluster.masters()) {
      monitors.add(m.monitor());
    }
    List<Envelope> again = new ArrayList<>();
    for (String t : tokens) {
      again.add(targeted("again-" + t, t));
    }
    RegistryLookup l;
    try {
      l = dispatch(tokens, again);
      // MONITOR's lines arrive on their own connection, a moment after the calls
      await().atMost(Duration.ofSeconds(10)).until(() -> monitors.stream().allMatch(m -> m.count("EVALSHA", ":live:{") >= 1));
    } finally {
      monitors.forEach(RedisServer.Monitor::close);
    }
    assertNotNull(l);
    assertEquals(200, found(l, tokens).size());
    for (RedisServer.Monitor m : monitors) {
      // a batch's call names the live shards' markers; heartbeats and registrations do not
      assertEquals(1, m.count("EVALSHA", ":live:{"), "one script call per master for the batch: " + m.lines());
    }
    for (Envelope e : again) {
      assertTrue(e.storedEverywhere(), "stored");
    }
    // every token's stream continues where its registration found it
    for (int i = 0; i < 200; i++) {
      Envelope e = again.get(i);
      Registered r = registered.get("r" + i);
      assertEquals(r.token().epoch(), e.stored()[0], "r" + i);
    }
    StreamPage page = on(() -> registry.history().read(List.of(new StreamRead(Streams.token("r1"), again.get(1).stored()[0], 0, 10)))).get(0);
    assertTrue(page.contiguous());
    assertEquals(3, page.messages().size(), "m-r1, two, again-r1");
  }

  @Test
  void aKilledMasterOnlyItsTokensFallBackThenItsReplicaAnswersWithNewEpochs() {
    List<String> tokens = tokens("k", 150);
    hold(SHARD_0, tokens);
    RedisServer victim = cluster.masterOf(slotOf("k0"));
    List<String> onVictim = tokens.stream().filter(t -> cluster.masterOf(slotOf(t)) == victim).toList();
    List<String> elsewhere = tokens.stream().filter(t -> !onVictim.contains(t)).toList();
    List<Envelope> before = new ArrayList<>();
    tokens.forEach(t -> before.add(targeted("before-" + t, t)));
    dispatch(tokens, before);
    Map<String, Long> epochBefore = new HashMap<>();
    for (int i = 0; i < tokens.size(); i++) {
      epochBefore.put(tokens.get(i), before.get(i).stored()[0]);
    }

    victim.kill();
    // while the master is gone: the others' tokens are answered, the victim's fall back
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      RegistryLookup l = dispatch(tokens, null);
      return l != null && onVictim.stream().noneMatch(l::answered) && elsewhere.stream().allMatch(l::answered);
    });
    List<Envelope> during = new ArrayList<>();
    tokens.forEach(t -> during.add(targeted("during-" + t, t)));
    RegistryLookup l = dispatch(tokens, during);
    assertNotNull(l, "a lookup with one master down still answers for the others");
    assertEquals(elsewhere.size(), found(l, elsewhere).size(), "the other masters' tokens are found");
    for (int i = 0; i < tokens.size(); i++) {
      boolean lost = onVictim.contains(tokens.get(i));
      assertEquals(!lost, during.get(i).storedEverywhere(), tokens.get(i));
    }

    // the replica takes over; the node follows it and re-registers its shards there
    await().atMost(Duration.ofSeconds(30)).until(registry::available);
    RegistryLookup after = dispatch(tokens, null);
    assertNotNull(after);
    assertEquals(tokens.size(), found(after, tokens).size(), "every token answered and found again");
    List<Envelope> later = new ArrayList<>();
    tokens.forEach(t -> later.add(targeted("later-" + t, t)));
    dispatch(tokens, later);
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      assertTrue(later.get(i).storedEverywhere(), t);
      if (onVictim.contains(t)) {
        assertNotEquals(epochBefore.get(t), later.get(i).stored()[0], t + ": the replica is another store, a new epoch");
      } else {
        assertEquals(epochBefore.get(t), later.get(i).stored()[0], t + ": its master did not change, nor its epoch");
        assertEquals(3, later.get(i).stored()[1], t);
      }
    }
  }

  @Test
  void aManualFailoverGivesOnlyTheFailedOverSlotsNewEpochs() {
    List<String> tokens = tokens("f", 120);
    hold(SHARD_0, tokens);
    RedisServer master = cluster.masterOf(slotOf("f0"));
    List<Envelope> before = new ArrayList<>();
    tokens.forEach(t -> before.add(targeted("before-" + t, t)));
    dispatch(tokens, before);

    RedisServer promoted = cluster.failover(master);
    await().atMost(Duration.ofSeconds(30)).until(() -> registry.masterEndpoints().contains("127.0.0.1:" + promoted.port)
      && registry.available());
    List<Envelope> after = new ArrayList<>();
    tokens.forEach(t -> after.add(targeted("after-" + t, t)));
    RegistryLookup l = dispatch(tokens, after);
    assertEquals(tokens.size(), found(l, tokens).size());
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      if (cluster.masterOf(slotOf(t)) == promoted) {
        assertNotEquals(before.get(i).stored()[0], after.get(i).stored()[0], t);
        assertEquals(1, after.get(i).stored()[1], t);
      } else {
        assertEquals(before.get(i).stored()[0], after.get(i).stored()[0], t);
      }
    }
  }

  @Test
  void aSlotMovedWhileLookupsRunIsFollowedAndNeverAnsweredWrong() throws Exception {
    // 20 tokens of one slot (and some of others): the slot's keys take several MIGRATE rounds to move
    int slot = slotOf("s7");
    List<String> inSlot = new ArrayList<>();
    for (int i = 0; inSlot.size() < 20; i++) {
      if (slotOf("s" + i) == slot) {
        inSlot.add("s" + i);
      }
    }
    List<String> tokens = new ArrayList<>(inSlot);
    tokens.addAll(tokens("o", 100));
    hold(SHARD_0, tokens);
    RedisServer source = cluster.masterOf(slot);
    RedisServer target = cluster.masters().stream().filter(m -> m != source).findFirst().orElseThrow();
    List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger unanswered = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread traffic = new Thread(() -> {
      while (running.get()) {
        List<Envelope> batch = new ArrayList<>();
        inSlot.forEach(t -> batch.add(targeted("x", t)));
        RegistryLookup l = dispatch(inSlot, batch);
        batches.incrementAndGet();
        for (String t : inSlot) {
          if (l == null || !l.answered(t)) {
            // its slot is moving (or its master's markers moved with it): dispatch falls back for it
            unanswered.incrementAndGet();
          } else if (!Set.of(SHARD_0).equals(found(l, List.of(t)).get(t))) {
            wrong.add(t + " -> " + found(l, List.of(t)).get(t));
          }
        }
      }
    });
    traffic.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> batches.get() > 5);
    int moved = cluster.migrate(slot, target);
    int at = batches.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> batches.get() > at + 5);
    running.set(false);
    traffic.join(10_000);
    System.out.println("slot " + slot + " moved (" + moved + " keys) during " + batches.get() + " batches; "
      + unanswered.get() + " token lookups fell back");
    assertEquals(List.of(), wrong, "an answered token is never answered wrong");
    assertTrue(moved > 0, "the slot held keys");
    assertEquals(target, cluster.masterOf(slot));
    // after the move, the slot's tokens are answered and found on the new master, and stored there
    await().atMost(Duration.ofSeconds(20)).until(registry::available);
    List<Envelope> batch = new ArrayList<>();
    inSlot.forEach(t -> batch.add(targeted("after", t)));
    RegistryLookup l = dispatch(inSlot, batch);
    assertNotNull(l);
    assertEquals(inSlot.size(), found(l, inSlot).size());
    batch.forEach(e -> assertTrue(e.storedEverywhere()));
    assertFalse(target.keys("odin:t:{t:" + inSlot.get(0) + "}").isEmpty());
  }

  @Test
  void aMessageThatWentOutUnstoredRaisesOnlyItsSlotsGeneration() {
    List<String> tokens = tokens("g", 60);
    hold(SHARD_0, tokens);
    RedisServer paused = cluster.masterOf(slotOf("g0"));
    List<Envelope> before = new ArrayList<>();
    tokens.forEach(t -> before.add(targeted("before-" + t, t)));
    dispatch(tokens, before);
    // its master does not answer within redis.timeout: the message goes out unstored (or stored unbeknownst)
    paused.command("CLIENT", "PAUSE", "1500", "ALL");
    Envelope lost = targeted("lost", "g0");
    RegistryLookup during = dispatch(List.of("g0"), List.of(lost));
    assertTrue(during == null || !during.answered("g0"));
    assertFalse(lost.storedEverywhere());
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Envelope e = targeted("after", "g0");
      dispatch(List.of("g0"), List.of(e));
      return e.storedEverywhere();
    });
    List<Envelope> after = new ArrayList<>();
    tokens.forEach(t -> after.add(targeted("after-" + t, t)));
    dispatch(tokens, after);
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      if (slotOf(t) == slotOf("g0")) {
        assertNotEquals(before.get(i).stored()[0], after.get(i).stored()[0], t + ": its slot's generation was raised");
      } else {
        assertEquals(before.get(i).stored()[0], after.get(i).stored()[0], t + ": another slot keeps its epoch");
      }
    }
  }

  /**
   * A heartbeat is every token a shard holds, re-applied 256 per script call on each master: here 15,000 tokens on one
   * master (59 calls), behind a link whose bandwidth is set so that they take it about three seconds, against a
   * redis.timeout of 1 s. Sent as one pipelined batch under one timeout, that master's share failed for its size alone,
   * the re-sync that followed was as big, and the master's slots stayed incomplete for good. A master's part flushes as
   * a single Redis does, in round trips of a few script calls (here about 0.2 s each), each held to the timeout on its
   * own.
   */
  @Test
  void aHeartbeatBiggerThanOneRoundTripsTimeoutReachesASlowMasterInRoundTripsThatEachFitIt() throws Exception {
    RedisServer slow = cluster.masters().get(0);
    BitSet slowSlots = new BitSet();
    for (String range : cluster.layout().get(slow.port).split(" ")) {
      String[] r = range.split("-");
      slowSlots.set(Integer.parseInt(r[0]), Integer.parseInt(r[r.length - 1]) + 1);
    }
    List<String> tokens = new ArrayList<>();
    for (int i = 0; tokens.size() < 15_000; i++) {
      if (slowSlots.get(slotOf("h" + i))) {
        tokens.add("h" + i);
      }
    }
    try (TcpProxy link = new TcpProxy(slow.port)) {
      // the master announces the link's port: the registry (and every other client of the cluster) goes through it
      slow.command("CONFIG", "SET", "cluster-announce-bus-port", String.valueOf(slow.port + 10000));
      slow.command("CONFIG", "SET", "cluster-announce-port", String.valueOf(link.port));
      String announced = "127.0.0.1:" + link.port + "@";
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> cluster.nodes().stream()
        .allMatch(n -> String.valueOf(n.command("CLUSTER", "NODES")).contains(announced)));
      registry.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      registry = registry(new JsonObject().put("registry.heartbeat", 2));
      long beforeRegistrations = link.bytesUp();
      hold(SHARD_0, tokens);
      await().atMost(Duration.ofSeconds(30)).until(registry::available);
      // what registering the tokens sent is about what a heartbeat sends: the link is made to take three seconds for it
      long heartbeatBytes = link.bytesUp() - beforeRegistrations;
      long bytesPerSecond = heartbeatBytes / 3;
      Supplier<JsonObject> part = () -> registry.stats().getJsonObject("parts").getJsonObject(link.url());
      assertNotNull(part.get(), () -> "a part for the master behind the link: " + registry.stats());
      long failuresBefore = part.get().getLong("flushFailures");
      long flushesBefore = part.get().getLong("flushes");
      long bytesBefore = link.bytesUp();
      link.throttleUpstream(bytesPerSecond);
      // two heartbeats through the slow link, over more than twice the timeout (one round trip could not take them)
      await().atMost(Duration.ofSeconds(40)).until(() -> part.get().getLong("flushFailures") > failuresBefore
        || (part.get().getLong("flushes") >= flushesBefore + 2 && link.bytesUp() - bytesBefore > 2 * bytesPerSecond));
      assertEquals(failuresBefore, part.get().getLong("flushFailures"),
        () -> "a heartbeat (" + heartbeatBytes + " bytes at " + bytesPerSecond + " bytes/s) timed out: " + part.get());
      assertTrue(registry.available(), () -> "in sync on every master: " + registry.stats());
      link.throttleUpstream(0);
      RegistryLookup l = dispatch(tokens, null);
      assertNotNull(l);
      assertEquals(15_000, found(l, tokens).size());
    }
  }
}
