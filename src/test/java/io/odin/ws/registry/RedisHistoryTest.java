package io.odin.ws.registry;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.testsupport.RedisServer;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static io.odin.ws.testsupport.Envelopes.broadcast;
import static io.odin.ws.testsupport.Envelopes.targeted;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The history in a real Redis, through the registry's scripts: a batch stored in its lookup's round trip,
 * registrations answering positions, pages read back, and epochs that change whenever the store may have lost data.
 */
class RedisHistoryTest {

  RedisServer redis;
  Vertx vertx;
  ShardDirectory directory;
  RedisConnectionRegistry registry;
  Context shard;

  @BeforeEach
  void start() {
    redis = RedisServer.start();
    vertx = Vertx.vertx();
    directory = new ShardDirectory("n1");
    JsonObject c = new JsonObject().put("redis.url", redis.url()).put("redis.breakerProbeMs", 100)
      .put("redis.timeout", 1000).put("history.size", 5);
    GatewayConfig config = GatewaySchema.resolve(c, Map.of());
    registry = new RedisConnectionRegistry(vertx, vertx.getOrCreateContext(), RegistrySettings.redisOptions(config),
      new RegistrySettings(config), new HistorySettings(config), "n1", directory,
      new GatewayMetrics(new SimpleMeterRegistry()), (name, health) -> { });
    shard = vertx.getOrCreateContext();
    registry.attachShard("odin.shard.n1.0", shard, List::of);
    directory.add("odin.shard.n1.0");
    await().atMost(Duration.ofSeconds(10)).until(registry::available);
  }

  @AfterEach
  void stop() throws Exception {
    registry.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    redis.close();
  }

  /** Runs {@code call} on the shard's context (as shards and dispatchers call the registry) and waits for it. */
  <T> T on(Supplier<Future<T>> call) {
    Promise<T> p = Promise.promise();
    shard.runOnContext(v -> call.get().onComplete(p));
    try {
      return p.future().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Stores a batch (and looks its tokens up: the lookup may fail while the registry refills, the store not). */
  void store(List<Envelope> batch, String... tokens) {
    on(() -> registry.lookup(List.of(tokens), batch).recover(t -> Future.succeededFuture()));
    assertNotNull(batch.get(0).stored(), "stored");
  }

  StreamPage read(StreamRead r) {
    return on(() -> registry.history().read(List.of(r))).get(0);
  }

  @Test
  void aBatchIsStoredInItsLookupsRoundTripAndReadBack() {
    Registered alice = on(() -> registry.register("alice", "odin.shard.n1.0"));
    assertTrue(alice.token().known());
    assertEquals(0, alice.token().seq());
    redis.resetStats();
    Envelope a1 = targeted("a1", "alice", "bob");
    Envelope b1 = broadcast("b1");
    Envelope a2 = targeted("a2", "alice");
    RegistryLookup found = on(() -> registry.lookup(List.of("alice", "bob"), List.of(a1, b1, a2)));
    assertEquals(1, redis.calls("evalsha"), "the batch was stored and looked up in one script call");
    assertTrue(found.authoritative());
    assertEquals(List.of("odin.shard.n1.0"), List.copyOf(found.shardsOf("alice")));
    assertNull(found.shardsOf("bob"), "bob is offline");
    assertEquals(alice.token().epoch(), a1.stored()[0]);
    assertEquals(1, a1.stored()[1]);
    assertEquals(2, a2.stored()[1]);
    assertEquals(alice.broadcast().epoch(), b1.stored()[0]);
    assertTrue(a1.storedOrder().compareTo(b1.storedOrder()) < 0 && b1.storedOrder().compareTo(a2.storedOrder()) < 0,
      "order keys sort in dispatch order across streams");

    StreamPage page = read(new StreamRead(Streams.token("alice"), alice.token().epoch(), 0, 10));
    assertTrue(page.contiguous());
    assertEquals(2, page.top());
    List<StoredMessage> ms = page.messages();
    assertEquals(2, ms.size());
    assertArrayEquals(a1.frame(), ms.get(0).frame());
    assertEquals(a1.storedOrder(), ms.get(0).order());
    assertArrayEquals(a2.frame(), ms.get(1).frame());
    assertEquals(1, read(new StreamRead(Streams.BROADCAST, alice.broadcast().epoch(), 0, 10)).messages().size());
  }

  /**
   * Storing is the hot path of every dispatch: the generations of a batch's streams are read in one MGET, and a stream's
   * expiry is written only when it is less than history.ttlMs away (then 1.25 history.ttlMs), not on every append; a
   * stream key made again under its live position (evicted, say) still gets one.
   */
  @Test
  void aStoredBatchReadsItsGenerationsAtOnceAndRewritesExpiriesOnlyWhenDue() {
    long ttl = 300_000;
    List<String> tokens = new ArrayList<>();
    List<Envelope> batch = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      tokens.add("t" + i);
      batch.add(targeted("m" + i, "t" + i));
    }
    redis.resetStats();
    store(batch, tokens.toArray(String[]::new));
    assertEquals(1, redis.calls("mget"), "one MGET for the batch's generations");
    assertEquals(0, redis.calls("get"));
    List<String> keys = redis.keys("odin:h:{t:*");
    assertEquals(400, keys.size(), "a stream and a position per token");
    for (String key : keys) {
      long left = (Long) redis.command("PTTL", key);
      assertTrue(left > ttl && left <= ttl + ttl / 4, key + " expires in " + left + " ms");
    }

    redis.resetStats();
    List<Envelope> again = new ArrayList<>();
    for (String t : tokens) {
      again.add(targeted("n" + t, t));
    }
    store(again, tokens.toArray(String[]::new));
    assertEquals(200, redis.calls("xadd"), "appended");
    assertEquals(0, redis.calls("pexpireat") + redis.calls("pexpire"), "the expiries are far enough: left alone");

    redis.command("DEL", "odin:h:{t:t7}");
    store(List.of(targeted("o7", "t7")), "t7");
    long left = (Long) redis.command("PTTL", "odin:h:{t:t7}");
    assertTrue(left > ttl, "a stream made again under its position expires with it: " + left);
  }

  /**
   * No epoch outlives its Redis process, so history copied to a replica (or into the AOF) could never be recovered from:
   * its writes are kept off both, and only the registry's are replicated.
   */
  @Test
  void historyWritesReachNoReplicaWhileTheRegistrysDo() {
    try (RedisServer replica = RedisServer.replicaOf(redis)) {
      await().atMost(Duration.ofSeconds(20))
        .until(() -> String.valueOf(replica.command("INFO", "replication")).contains("master_link_status:up"));
      on(() -> registry.register("alice", "odin.shard.n1.0"));
      List<Envelope> batch = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        batch.add(targeted("m" + i, "alice"));
      }
      batch.add(broadcast("b"));
      store(batch, "alice");
      assertEquals(1L, redis.command("WAIT", "1", "10000"), "the replica acknowledged every replicated write");
      assertFalse(redis.keys("odin:h:{*").isEmpty(), "the master holds the history");
      List<String> copied = replica.keys("odin:*");
      assertTrue(copied.stream().anyMatch(k -> !k.startsWith("odin:h:")), "the registry's entries are replicated: " + copied);
      assertEquals(List.of(), copied.stream().filter(k -> k.startsWith("odin:h:")).toList(), "no history on the replica");
    }
  }

  @Test
  void aCursorOlderThanTheHistoryOrOfAnotherStreamIsNotContiguous() {
    Registered alice = on(() -> registry.register("alice", "odin.shard.n1.0"));
    Registered bob = on(() -> registry.register("bob", "odin.shard.n1.0"));
    List<Envelope> batch = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      batch.add(targeted("m" + i, "alice"));
    }
    store(batch, "alice");
    String s = Streams.token("alice");
    long e = alice.token().epoch();
    assertTrue(read(new StreamRead(s, e, 399, 10)).contiguous());
    assertTrue(read(new StreamRead(s, e, 400, 10)).messages().isEmpty());
    assertFalse(read(new StreamRead(s, e, 1, 10)).contiguous(), "trimmed to about history.size");
    assertFalse(read(new StreamRead(s, e, 401, 10)).contiguous(), "from the future");
    assertNotEquals(e, bob.token().epoch());
    assertFalse(read(new StreamRead(s, bob.token().epoch(), 399, 10)).contiguous(), "bob's cursor on alice's stream");
  }

  @Test
  void redisRestartedEmptyOrMessagesGoneOutUnstoredGiveEveryStreamANewEpoch() {
    Registered alice = on(() -> registry.register("alice", "odin.shard.n1.0"));
    Envelope before = targeted("before", "alice");
    store(List.of(before), "alice");
    long epoch = before.stored()[0];

    redis.restartEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Envelope e = targeted("after", "alice");
      on(() -> registry.lookup(List.of("alice"), List.of(e)).recover(t -> Future.succeededFuture()));
      return e.stored() != null;
    });
    StreamPage after = read(new StreamRead(Streams.token("alice"), epoch, 1, 10));
    assertFalse(after.contiguous(), "a cursor from before the restart");
    assertNotEquals(epoch, after.epoch());

    // Redis stopped: a batch goes out unstored; the next stored one raises the generation: new epochs everywhere
    long epochNow = after.epoch();
    Envelope broadcastBefore = broadcast("b");
    store(List.of(broadcastBefore));
    redis.stop();
    Envelope lost = targeted("lost", "alice");
    on(() -> registry.lookup(List.of("alice"), List.of(lost)).recover(t -> Future.succeededFuture()));
    assertNull(lost.stored());
    redis.launch();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Envelope e = targeted("again", "alice");
      on(() -> registry.lookup(List.of("alice"), List.of(e)).recover(t -> Future.succeededFuture()));
      return e.stored() != null;
    });
    assertNotEquals(epochNow, read(StreamRead.top(Streams.token("alice"))).epoch());
    assertNotEquals(broadcastBefore.stored()[0], read(StreamRead.top(Streams.BROADCAST)).epoch());
    assertNotNull(alice);
  }

  @Test
  void aGenerationRaiseGivesNewEpochsWithoutARestart() {
    Envelope first = targeted("x", "alice");
    store(List.of(first), "alice");
    redis.command("INCR", new RegistryKeys("odin:").historyGeneration(Streams.token("alice")));
    Envelope second = targeted("y", "alice");
    store(List.of(second), "alice");
    assertNotEquals(first.stored()[0], second.stored()[0]);
    assertEquals(1, second.stored()[1], "a new epoch starts at 1");
  }

  @Test
  void aMessageThatWentOutUnstoredGivesNewEpochsOnlyToTheStreamsOfItsSlot() {
    RegistryKeys keys = new RegistryKeys("odin:");
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      tokens.add("u" + i);
    }
    int slotOfLost = SlotHash.slot(keys.history(Streams.token("u0")));
    List<Envelope> before = new ArrayList<>();
    tokens.forEach(t -> before.add(targeted("before-" + t, t)));
    store(before, tokens.toArray(String[]::new));
    // Redis does not answer within redis.timeout: the message goes out unstored (or stored unbeknownst)
    redis.command("CLIENT", "PAUSE", "1500", "ALL");
    Envelope lost = targeted("lost", "u0");
    on(() -> registry.lookup(List.of("u0"), List.of(lost)).recover(t -> Future.succeededFuture()));
    assertNull(lost.stored());
    assertEquals(String.valueOf(slotOfLost), registry.historyHealth().getString("generationsToRaise"));
    // no batch touches the slot: the raise lands on its own once Redis answers again, so that a read on another
    // node (which knows of the slot only from this node's announcement) cannot find the epoch that missed "lost"
    await().atMost(Duration.ofSeconds(10))
      .until(() -> registry.historyHealth().getString("generationsToRaise").isEmpty());
    List<Envelope> after = new ArrayList<>();
    tokens.forEach(t -> after.add(targeted("after-" + t, t)));
    store(after, tokens.toArray(String[]::new));
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      if (SlotHash.slot(keys.history(Streams.token(t))) == slotOfLost) {
        assertNotEquals(before.get(i).stored()[0], after.get(i).stored()[0], t + ": its slot's generation was raised");
      } else {
        assertEquals(before.get(i).stored()[0], after.get(i).stored()[0], t + ": another slot keeps its epoch");
      }
    }
  }

  @Test
  void aReadLandsThePendingRaisesFirst() {
    Envelope first = targeted("x", "alice");
    store(List.of(first), "alice");
    long epoch = first.stored()[0];
    redis.command("CLIENT", "PAUSE", "1500", "ALL");
    Envelope lost = targeted("lost", "alice");
    on(() -> registry.lookup(List.of("alice"), List.of(lost)).recover(t -> Future.succeededFuture()));
    assertNull(lost.stored());
    // no batch stored since: the read itself raises the generation, so it cannot answer from the epoch that missed
    // "lost" (a cursor at "x" would have been told it recovered with nothing to replay)
    StreamPage page = await().atMost(Duration.ofSeconds(10)).until(() -> {
      try {
        return read(new StreamRead(Streams.token("alice"), epoch, 1, 10));
      } catch (RuntimeException e) {
        return null;
      }
    }, java.util.Objects::nonNull);
    assertNotEquals(epoch, page.epoch());
    assertFalse(page.contiguous());
  }

  @Test
  void aBatchAnsweredBehindOneThatTimedOutButRanIsNotTrusted() {
    Envelope first = targeted("x", "alice");
    store(List.of(first), "alice");
    long epoch = first.stored()[0];
    // Redis holds every call for 1.5 s: the next batch's call passes redis.timeout (1 s) and goes out unstored, but
    // runs once Redis goes on and stores its message; a second batch, sent 0.9 s after it on the same connection, is
    // answered within its own timeout with the position after that message
    redis.command("CLIENT", "PAUSE", "1500", "ALL");
    Envelope timedOut = targeted("ran-late", "alice");
    Envelope behind = targeted("behind", "alice");
    Promise<Void> both = Promise.promise();
    shard.runOnContext(v -> {
      Future<?> one = registry.lookup(List.of("alice"), List.of(timedOut)).recover(t -> Future.succeededFuture());
      Promise<Object> two = Promise.promise();
      vertx.setTimer(900, id -> registry.lookup(List.of("alice"), List.of(behind)).recover(t -> Future.succeededFuture())
        .onComplete(x -> two.complete()));
      Future.all(one, two.future()).onComplete(x -> both.complete());
    });
    on(both::future);
    assertNull(timedOut.stored(), "the first call timed out");
    assertEquals(3L, redis.command("XLEN", new RegistryKeys("odin:").history(Streams.token("alice"))),
      "yet it ran: Redis has its message, and the one behind it");
    // trusted, its position (sequence 3) would send a shard to read sequence 2 from the store: "ran-late" a second time
    assertNull(behind.stored(), "a message stored behind the one that timed out goes out as unstored too");
    Envelope next = targeted("next", "alice");
    store(List.of(next), "alice");
    assertNotEquals(epoch, next.stored()[0], "the raise ended the epoch");
  }
}
