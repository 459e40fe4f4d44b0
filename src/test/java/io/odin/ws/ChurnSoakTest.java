package io.odin.ws;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.ChurnClients;
import io.odin.ws.testsupport.CursorClients;
import io.odin.ws.testsupport.JvmProbe;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.Scrape;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The short soak of issue 29, in the default test run: one node with Redis, as the README starts it, under a minute of
 * connection churn (clients leaving and coming back with and without cursors, connections that just drop, handshakes
 * cut off or refused, some at the handshake rate limit) with targeted messages and broadcasts flowing. Once the churn
 * stops and every client is gone, what the node holds must be back where it was before the churn (after a warm-up
 * round, so that pools, caches and compiled code are in place): the live objects of odin-ws's and Netty's channel
 * classes after a full GC, the heap after a full GC, open files, threads, and Redis's registry entries; the history's
 * keys all expire. A leak of one object per closed connection shows as thousands of instances; scripts/soak measures
 * the same things for an hour on a cluster (docs/benchmarks.md, "Soak").
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ChurnSoakTest {

  /** Per churn round: the clients, their tokens (some share one), the share of them cycled every 100 ms. */
  static final int CLIENTS = 1500;
  static final int TOKENS = 1000;
  static final int CYCLED_PER_TICK = 20;
  static final int WARMUP_SECONDS = 20;
  static final int CHURN_SECONDS = 50;
  static final int HISTORY_TTL_MS = 10_000;

  /** The classes whose live instances must come back to their count before the churn. */
  static final List<String> WATCHED = List.of("io.odin.ws.", "io.netty.channel.", "io.netty.handler.", "io.netty.util.concurrent.");
  /**
   * Pooled by Netty's Recycler (at most io.netty.recycler.maxCapacityPerThread per event loop): how many stay alive
   * follows the most writes ever in flight at once (a loaded machine's peak), not the connections that came and went.
   */
  static final List<String> POOLED = List.of("io.netty.channel.ChannelOutboundBuffer$Entry");

  static RedisServer redis;
  static ChildNode node;

  @BeforeAll
  static void start() throws Exception {
    redis = RedisServer.start();
    // the README's JVM options; a short history TTL so that the streams of the test's tokens expire within it, and a
    // history small enough that the shards' caches of recent broadcasts are full after the warm-up
    node = ChildNode.launch("soak", 2, Map.of(
        "ODIN_REDIS_URL", redis.url(),
        "ODIN_HISTORY_TTL_MS", Integer.toString(HISTORY_TTL_MS),
        "ODIN_HISTORY_SIZE", "20",
        "ODIN_WS_MAX_HANDSHAKES_PER_SECOND", "250",
        // the raw clients answer no ping: they are closed for silence (4408) and come back; half handshakes time out
        "ODIN_WS_PING_INTERVAL_MS", "1000",
        "ODIN_WS_IDLE_TIMEOUT_MS", "3000",
        "ODIN_WS_HANDSHAKE_TIMEOUT_MS", "1000"),
      // Netty's leak detector samples buffers and logs LEAK: for one that was never released
      List.of("-Xmx1g", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20", "-XX:+ExitOnOutOfMemoryError",
        "-Dio.netty.leakDetection.level=advanced"))
      .awaitReady();
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void whatTheNodeHoldsComesBackOnceTheChurnStops() throws Exception {
    try (ChurnClients clients = new ChurnClients(node.wsPort, CLIENTS, TOKENS, "soak-")) {
      churn(clients, WARMUP_SECONDS);
      Snapshot before = settled();
      clients.reconnectAll();
      churn(clients, CHURN_SECONDS);
      Snapshot after = settled();
      String report = "before " + before + "\nafter " + after + "\nclients: " + clients.connects + " connects, "
        + clients.messages + " messages, resumed recovered " + clients.recovered + " / not " + clients.notRecovered
        + ", retried after 503 " + clients.retriedAfter + ", other failures " + clients.failed + ", noise " + clients.noise;
      System.out.println(report);

      assertTrue(clients.connects.get() > 5_000, "the churn cycled connections: " + report);
      assertTrue(clients.retriedAfter.get() > 0, "some handshakes met ws.maxHandshakesPerSecond: " + report);
      // every way in and out was taken
      Scrape metrics = new Scrape(node.api().get("/metrics").body);
      assertTrue(metrics.sum("odin_ws_handshakes_refused_total", "reason", "rate_limited") > 0, report);
      assertTrue(metrics.sum("odin_ws_handshakes_refused_total", "reason", "bad_token") > 0, report);
      assertTrue(metrics.sum("odin_ws_handshake_timeouts_total") > 0, report);
      assertTrue(metrics.sum("odin_ws_disconnects_total", "reason", "ping_timeout") > 0, report);
      assertTrue(metrics.sum("odin_ws_disconnects_total", "reason", "client") > 0, report);
      List<String> grown = after.live.grownSince(before.live, WATCHED).stream()
        .filter(g -> POOLED.stream().noneMatch(p -> g.startsWith(p + ":"))).toList();
      assertTrue(grown.isEmpty(), "live objects that stayed behind after the churn: " + grown + "\n" + report);
      long heapGrowth = after.live.totalBytes() - before.live.totalBytes();
      assertTrue(heapGrowth < 4 * 1024 * 1024, "heap after a full GC grew by " + heapGrowth / 1024 + " KiB\n" + report);
      assertTrue(after.openFiles <= before.openFiles + 2, "open files: " + report);
      assertTrue(after.threads <= before.threads + 2, "threads: " + report);
      assertEquals(0, after.registryEntries, "registry entries of tokens nobody holds: " + report);
      assertFalse(node.logText().contains("LEAK:"), "Netty found a buffer never released: " + node.logText());
      // every history key expires: nothing written for these tokens any more, so their streams go history.ttlMs later
      assertTrue(after.historyKeysWithoutTtl.isEmpty(), "history keys that never expire: " + after.historyKeysWithoutTtl);
      await("the token streams expire history.ttlMs after their last message").atMost(Duration.ofMillis(HISTORY_TTL_MS + 20_000))
        .until(() -> redis.keys("odin:h:{t:*").isEmpty());
    }
  }

  /**
   * The leak the churn found: a connection that caught up from the history was written outside a batch and waited, with
   * its socket and pipeline, in its shard's list of sockets to flush at the end of the next batch; when none came (a
   * quiet hour) the closed connection stayed held.
   */
  @Test
  void aConnectionThatCaughtUpIsNotHeldOnceItCloses() throws Exception {
    try (CursorClients clients = new CursorClients()) {
      CursorClients.Client c = clients.client("caught-up");
      c.connect(node.wsPort);
      publish("caught-up", 1);
      await().atMost(Duration.ofSeconds(10)).until(() -> c.received.size() == 1);
      c.close();
      publish("caught-up", 2);
      c.connect(node.wsPort);
      await().atMost(Duration.ofSeconds(10)).until(() -> c.received.size() == 2);
      assertEquals(1, c.resumed.get(0).getInteger("replayed"), c.toString());
      c.close();
      // no message after it: nothing but the connection's own close may let it go
      await().atMost(Duration.ofSeconds(10)).until(() -> node.health().getInteger("connections") == 0);
      JvmProbe.Live held = JvmProbe.liveObjects(node.pid()).byClass().get("io.odin.ws.shard.ClientConnection");
      assertEquals(0, held == null ? 0 : held.instances(), "closed connections still held");
    }
  }

  private static void publish(String token, int data) {
    assertEquals(202, node.api().post(new JsonObject().put("type", "t").put("token", token).put("data", data).encode()).status);
  }

  /** {@code seconds} of churn with messages flowing, then every client leaves. */
  private static void churn(ChurnClients clients, int seconds) throws InterruptedException {
    clients.connectAll();
    ScheduledExecutorService traffic = Executors.newScheduledThreadPool(2);
    Random random = new Random(seconds);
    try {
      traffic.scheduleAtFixedRate(() -> clients.churn(CYCLED_PER_TICK, 500), 100, 100, TimeUnit.MILLISECONDS);
      traffic.scheduleAtFixedRate(() -> {
        JsonArray batch = new JsonArray();
        for (int i = 0; i < 10; i++) {
          batch.add(new JsonObject().put("type", "t").put("token", "soak-" + random.nextInt(TOKENS)).put("data", i));
        }
        batch.add(new JsonObject().put("type", "b").put("broadcast", true));
        node.api().post(batch.encode());
      }, 50, 50, TimeUnit.MILLISECONDS);
      // the churn's length: shutting the executor down ends its periodic tasks
      traffic.schedule(traffic::shutdown, seconds, TimeUnit.SECONDS);
      traffic.awaitTermination(seconds + 30, TimeUnit.SECONDS);
    } finally {
      traffic.shutdownNow();
    }
    clients.closeAll();
  }

  /** Waits until the node and Redis hold no connection, then looks at what the node holds. */
  private static Snapshot settled() {
    await("every connection gone").atMost(Duration.ofSeconds(30))
      .until(() -> node.health().getInteger("connections") == 0 && redis.keys("odin:t:*").isEmpty());
    List<String> noTtl = new ArrayList<>();
    for (String key : redis.keys("odin:h:*")) {
      if (!key.startsWith("odin:h:gen:") && (Long) redis.command("PTTL", key) < 0) {
        noTtl.add(key);
      }
    }
    return new Snapshot(JvmProbe.liveObjects(node.pid()), JvmProbe.openFiles(node.pid()), JvmProbe.threads(node.pid()),
      redis.keys("odin:t:*").size(), noTtl);
  }

  record Snapshot(JvmProbe.Histogram live, int openFiles, int threads, int registryEntries, List<String> historyKeysWithoutTtl) {
    @Override
    public String toString() {
      return "heap after full GC " + live.totalBytes() / 1024 + " KiB, open files " + openFiles + ", threads " + threads
        + ", registry entries " + registryEntries;
    }
  }
}
