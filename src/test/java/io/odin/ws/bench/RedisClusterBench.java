package io.odin.ws.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;
import io.odin.ws.registry.ConnectionRegistry;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.registry.ShardDirectory;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.RedisCluster;
import io.odin.ws.testsupport.RedisServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * Registry lookups and history appends per second on one Redis (with a replica) against a three-master Redis Cluster
 * (three more processes as replicas), same batch sizes, same run: each batch is what a dispatcher sends, {@code batch} targeted
 * messages for random tokens of 10,000 registered ones, looked up and stored in one call (one per master touched on
 * the cluster). Two "dispatchers" (event loops) keep {@code bench.inflight} batches in flight each. Reported per
 * setup and batch size: batches, messages (appends) and token lookups per second, script calls per batch as Redis
 * counted them, Redis CPU per batch (all masters), batch latency p50/p99, and the machine's load while measuring.
 * Loopback only; starts and stops its own redis-servers. Run:
 * <pre>mvn -q -B test -Dtest=RedisClusterBench -Dodin.bench=true -Dexcluded.test.groups=none</pre>
 * Knobs: bench.seconds (10 per point), bench.inflight (4), bench.batches ("10,100,500"), bench.tokens (10000),
 * bench.repeat (2: the whole alternation again, to see how much a shared machine moves the figures).
 * Figures go to stdout and target/bench/redis-cluster.txt.
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class RedisClusterBench {

  static final String SHARD_0 = "odin.shard.bench.0";
  static final String SHARD_1 = "odin.shard.bench.1";
  /** Size of the stored frames, about a small push notification's. */
  static final int FRAME_BYTES = 200;

  /** One registry on one setup: its Redis processes, its registry, the shards' tokens. */
  static final class Setup implements AutoCloseable {
    final String name;
    final List<RedisServer> masters;
    final List<RedisServer> all;
    final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    final ConnectionRegistry registry;
    final AutoCloseable servers;
    /** Redis memory (all masters) per registered connection: entry, index, its stream's position. */
    final long bytesPerConnection;
    String historyMemory = "";

    Setup(String name, JsonObject conf, List<RedisServer> masters, List<RedisServer> all, AutoCloseable servers,
          List<String> tokens) {
      this.name = name;
      this.masters = masters;
      this.all = all;
      this.servers = servers;
      // no heartbeat in the measured windows: the script calls counted are the batches'
      GatewayConfig config = GatewaySchema.resolve(conf.put("redis.timeout", 5000).put("registry.ttl", 1200)
        .put("registry.heartbeat", 600), Map.of());
      long before = usedMemory(masters);
      ShardDirectory directory = new ShardDirectory("bench");
      registry = RegistrySettings.create(vertx, config, "bench", directory, new GatewayMetrics(new SimpleMeterRegistry()),
        (n, h) -> { });
      Context shard = vertx.getOrCreateContext();
      for (String s : List.of(SHARD_0, SHARD_1)) {
        List<String> held = s.equals(SHARD_0) ? tokens : tokens.subList(0, tokens.size() / 2);
        registry.attachShard(s, shard, () -> new ArrayList<>(held));
        directory.add(s);
      }
      await().atMost(Duration.ofSeconds(120)).until(() -> registry.complete() && registry.incompleteSlots().isEmpty());
      // shard 1 holds half the tokens: 1.5 entries per token
      bytesPerConnection = (usedMemory(masters) - before) * 2 / (tokens.size() * 3);
    }

    static long usedMemory(List<RedisServer> servers) {
      long total = 0;
      for (RedisServer m : servers) {
        for (String l : String.valueOf(m.command("INFO", "memory")).split("\r\n")) {
          if (l.startsWith("used_memory:")) {
            total += Long.parseLong(l.substring("used_memory:".length()));
          }
        }
      }
      return total;
    }

    @Override
    public void close() throws Exception {
      registry.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      servers.close();
    }

    long scriptCalls() {
      long n = 0;
      for (RedisServer m : masters) {
        n += m.calls("evalsha") + m.calls("evalsha_ro");
      }
      return n;
    }

    double redisCpuSeconds(List<RedisServer> servers) {
      double s = 0;
      for (RedisServer m : servers) {
        for (String l : String.valueOf(m.command("INFO", "cpu")).split("\r\n")) {
          if (l.startsWith("used_cpu_sys:") || l.startsWith("used_cpu_user:")) {
            s += Double.parseDouble(l.substring(l.indexOf(':') + 1));
          }
        }
      }
      return s;
    }
  }

  record Point(String setup, int batch, double batchesPerSecond, double scriptCallsPerBatch, double masterCpuMicrosPerBatch,
               double allCpuMicrosPerBatch, double p50Ms, double p99Ms, String load) {
  }

  static Envelope targeted(String token, byte[] frame) {
    return new Envelope("t", new String[] {token}, null, frame, false, 0);
  }

  @Test
  void lookupsAndAppendsPerSecondOnOneRedisAndOnAThreeMasterCluster() throws Exception {
    int seconds = Integer.getInteger("bench.seconds", 10);
    int inflight = Integer.getInteger("bench.inflight", 4);
    int tokenCount = Integer.getInteger("bench.tokens", 10_000);
    int repeat = Integer.getInteger("bench.repeat", 2);
    int[] batches = Arrays.stream(System.getProperty("bench.batches", "10,100,500").split(",")).mapToInt(Integer::parseInt).toArray();
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < tokenCount; i++) {
      tokens.add("bench-" + i);
    }
    List<Point> points = new ArrayList<>();
    List<Setup> setups = new ArrayList<>();
    StringBuilder registrations = new StringBuilder();
    // one Redis with its replica, as it runs in production (Sentinel): its CPU includes feeding the replica, as the
    // cluster's masters' does
    RedisServer single = RedisServer.start();
    RedisServer replica = RedisServer.replicaOf(single);
    RedisCluster cluster = RedisCluster.start(3);
    AutoCloseable both = () -> {
      replica.close();
      single.close();
    };
    try (Setup one = new Setup("one Redis", new JsonObject().put("redis.url", single.url()), List.of(single),
           List.of(single, replica), both, tokens);
         Setup three = new Setup("3-master cluster", new JsonObject().put("redis.mode", "cluster")
           .put("redis.endpoints", new JsonArray(cluster.seeds())), cluster.masters(), cluster.nodes(), cluster, tokens)) {
      for (int rep = 0; rep < repeat; rep++) {
        for (int batch : batches) {
          for (Setup s : List.of(one, three)) {
            // warm-up: JIT, connections, scripts
            run(s, tokens, batch, inflight, 2);
            points.add(run(s, tokens, batch, inflight, seconds));
          }
        }
      }
      for (Setup s : List.of(one, three)) {
        s.historyMemory = historyMemory(s);
        setups.add(s);
      }
      for (Setup s : List.of(one, three)) {
        registrations.append(registrations(s, 200, seconds)).append('\n');
      }
    }
    StringBuilder memory = new StringBuilder();
    for (Setup s : setups) {
      memory.append(String.format("%s: %d bytes per registered connection (entry, index, position); %s%n", s.name,
        s.bytesPerConnection, s.historyMemory));
    }
    StringBuilder out = new StringBuilder();
    out.append(String.format("machine: %d cores, Java %s, %s%n", Runtime.getRuntime().availableProcessors(),
      System.getProperty("java.version"), String.valueOf(new RedisServerVersion().get())));
    out.append("| setup | batch | batches/s | messages (appends + token lookups)/s | script calls per batch | Redis CPU per batch (masters; all nodes) | batch p50 / p99 | load average while measuring |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (Point p : points) {
      out.append(String.format("| %s | %d | %,.0f | %,.0f | %.2f | %.0f µs; %.0f µs | %.2f / %.2f ms | %s |%n", p.setup(), p.batch(),
        p.batchesPerSecond(), p.batchesPerSecond() * p.batch(), p.scriptCallsPerBatch(), p.masterCpuMicrosPerBatch(),
        p.allCpuMicrosPerBatch(), p.p50Ms(), p.p99Ms(), p.load()));
    }
    out.append(memory).append(registrations);
    System.out.println(out);
    Path file = Path.of("target/bench/redis-cluster.txt");
    Files.createDirectories(file.getParent());
    Files.writeString(file, out.toString());
  }

  /** The redis-server version, for the report. */
  static final class RedisServerVersion {
    String get() {
      try {
        Process p = new ProcessBuilder(RedisServer.binary(), "--version").redirectErrorStream(true).start();
        String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return v;
      } catch (Exception e) {
        return "redis-server";
      }
    }
  }

  /**
   * Redis memory of the history: 2,000 new streams get one message each, then 99 more each (frames of about
   * {@link #FRAME_BYTES}); what a stream costs with its first message, and what each further message costs.
   */
  String historyMemory(Setup s) throws Exception {
    byte[] data = ("{\"order\":" + "7".repeat(FRAME_BYTES - 40) + "}").getBytes(StandardCharsets.UTF_8);
    byte[] frame = FrameEncoder.message("bench", null, data, 0, data.length);
    Context ctx = s.vertx.getOrCreateContext();
    long m0 = Setup.usedMemory(s.masters);
    storeRounds(s, ctx, frame, 1);
    long m1 = Setup.usedMemory(s.masters);
    storeRounds(s, ctx, frame, 99);
    long m2 = Setup.usedMemory(s.masters);
    return String.format("history: %d bytes per stream with its first message, %d bytes per further message (frames of %d bytes)",
      (m1 - m0) / 2000, (m2 - m1) / (2000L * 99), frame.length);
  }

  private void storeRounds(Setup s, Context ctx, byte[] frame, int rounds) throws Exception {
    for (int round = 0; round < rounds; round++) {
      for (int b = 0; b < 20; b++) {
        List<Envelope> batch = new ArrayList<>(100);
        for (int i = 0; i < 100; i++) {
          batch.add(targeted("mem-" + (b * 100 + i), frame));
        }
        Promise<Void> done = Promise.promise();
        ctx.runOnContext(v -> s.registry.lookup(List.of(), batch).onComplete(ar -> done.complete()));
        done.future().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Registrations as handshakes make them (each waits for its entry to be written and its stream's position), with
   * {@code inflight} at a time from one shard's event loop for {@code seconds}: how fast a node connects clients.
   */
  String registrations(Setup s, int inflight, int seconds) throws Exception {
    Context shard = s.vertx.getOrCreateContext();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong next = new AtomicLong();
    List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
    Promise<Void> finished = Promise.promise();
    String load0 = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    long start = System.nanoTime();
    shard.runOnContext(v -> {
      int[] open = {inflight};
      Runnable[] one = new Runnable[1];
      one[0] = () -> {
        if (!running.get()) {
          if (--open[0] == 0) {
            finished.complete();
          }
          return;
        }
        long t0 = System.nanoTime();
        s.registry.register("reg-" + next.incrementAndGet(), SHARD_0).onComplete(ar -> {
          latencies.add(System.nanoTime() - t0);
          one[0].run();
        });
      };
      for (int i = 0; i < inflight; i++) {
        one[0].run();
      }
    });
    s.vertx.setTimer(seconds * 1000L, id -> running.set(false));
    finished.future().toCompletionStage().toCompletableFuture().get(seconds + 60L, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - start) / 1e9;
    List<Long> sorted = new ArrayList<>(latencies);
    sorted.sort(null);
    return String.format("%s: %,.0f registrations/s with %d in flight, each p50 %.1f ms p99 %.1f ms (load %s to %s)",
      s.name, sorted.size() / elapsed, inflight, sorted.get(sorted.size() / 2) / 1e6,
      sorted.get((int) (sorted.size() * 0.99)) / 1e6, load0, Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
  }

  /** Keeps {@code inflight} batches in flight on each of two event loops for {@code seconds}. */
  Point run(Setup s, List<String> tokens, int batch, int inflight, int seconds) throws Exception {
    byte[] data = ("{\"order\":" + "7".repeat(FRAME_BYTES - 40) + "}").getBytes(StandardCharsets.UTF_8);
    byte[] frame = FrameEncoder.message("bench", null, data, 0, data.length);
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
    s.all.forEach(RedisServer::resetStats);
    long calls0 = s.scriptCalls();
    double cpuMasters0 = s.redisCpuSeconds(s.masters);
    double cpuAll0 = s.redisCpuSeconds(s.all);
    String load0 = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    List<Promise<Void>> loops = new ArrayList<>();
    long start = System.nanoTime();
    for (int l = 0; l < 2; l++) {
      Promise<Void> finished = Promise.promise();
      loops.add(finished);
      Context ctx = s.vertx.getOrCreateContext();
      ctx.runOnContext(v -> {
        int[] open = {inflight};
        for (int i = 0; i < inflight; i++) {
          next(s, tokens, batch, frame, running, done, failed, latencies, open, finished);
        }
      });
    }
    s.vertx.setTimer(seconds * 1000L, id -> running.set(false));
    Future.all(loops.stream().map(Promise::future).toList()).toCompletionStage().toCompletableFuture()
      .get(seconds + 60L, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - start) / 1e9;
    long n = done.get();
    String load1 = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    List<Long> sorted = new ArrayList<>(latencies);
    sorted.sort(null);
    double p50 = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2) / 1e6;
    double p99 = sorted.isEmpty() ? 0 : sorted.get((int) (sorted.size() * 0.99)) / 1e6;
    if (failed.get() > 0) {
      System.out.println(s.name + " batch " + batch + ": " + failed.get() + " lookups failed (fell back)");
    }
    return new Point(s.name, batch, n / elapsed, (s.scriptCalls() - calls0) / (double) Math.max(1, n),
      (s.redisCpuSeconds(s.masters) - cpuMasters0) * 1e6 / Math.max(1, n), (s.redisCpuSeconds(s.all) - cpuAll0) * 1e6 / Math.max(1, n),
      p50, p99, load0 + " to " + load1);
  }

  private void next(Setup s, List<String> tokens, int batch, byte[] frame, AtomicBoolean running, AtomicLong done,
                    AtomicLong failed, List<Long> latencies, int[] open, Promise<Void> finished) {
    if (!running.get()) {
      if (--open[0] == 0) {
        finished.complete();
      }
      return;
    }
    Set<String> asked = new HashSet<>();
    List<Envelope> envelopes = new ArrayList<>(batch);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < batch; i++) {
      String t = tokens.get(r.nextInt(tokens.size()));
      asked.add(t);
      envelopes.add(targeted(t, frame));
    }
    long t0 = System.nanoTime();
    s.registry.lookup(asked, envelopes).onComplete(ar -> {
      latencies.add(System.nanoTime() - t0);
      if (ar.failed()) {
        failed.incrementAndGet();
      }
      done.incrementAndGet();
      next(s, tokens, batch, frame, running, done, failed, latencies, open, finished);
    });
  }
}
