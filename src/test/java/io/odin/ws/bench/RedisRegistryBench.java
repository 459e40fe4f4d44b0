package io.odin.ws.bench;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.odin.ws.metrics.GatewayMetrics.DispatchType;
import io.odin.ws.registry.RedisConnectionRegistry;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * Redis registry figures for docs/benchmarks.md: targeted messages per second through Redis, Redis round trips
 * per message, lookup latency p50/p99 and the share of targeted vs fallback dispatch under steady load with client
 * churn. Loopback only; starts and stops its own redis-server and node. Run:
 * <pre>mvn -q -B test -Dtest=RedisRegistryBench -Dodin.bench=true -Dexcluded.test.groups=none</pre>
 * Figures go to stdout and target/bench/redis-registry.txt. Knobs (system properties): bench.clients (2000),
 * bench.shards (2), bench.batch (100), bench.inflight (4), bench.seconds (20), bench.churnPerSecond (20).
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class RedisRegistryBench {

  static int prop(String name, int def) {
    return Integer.getInteger(name, def);
  }

  @Test
  void redisRegistryUnderSteadyLoad() throws Exception {
    int clientsN = prop("bench.clients", 2000);
    int shards = prop("bench.shards", 2);
    int batch = prop("bench.batch", 100);
    int inflight = prop("bench.inflight", 4);
    int seconds = prop("bench.seconds", 20);
    int churn = prop("bench.churnPerSecond", 20);
    int rate = prop("bench.rate", 0);
    pauseMillis = rate <= 0 ? 0 : Math.max(1, 1000L * batch * inflight / rate);

    StringBuilder out = new StringBuilder();
    try (RedisServer redis = RedisServer.start()) {
      TestNode node = TestNode.start(shards, new JsonObject().put("redis.url", redis.url()));
      WsClients clients = new WsClients(node.wsPort);
      loadVertx = Vertx.vertx();
      try {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < clientsN; i++) {
          tokens.add("bench-" + i);
        }
        long memBefore = usedMemory(redis);
        List<Conn> conns = new ArrayList<>(clients.connectAll(tokens));
        await().atMost(Duration.ofSeconds(60)).until(() -> node.connections() == clientsN);
        RedisConnectionRegistry registry = (RedisConnectionRegistry) node.node().registry();
        await().atMost(Duration.ofSeconds(10)).until(registry::available);
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("odin:t:*").size() == clientsN);
        long memPerEntry = (usedMemory(redis) - memBefore) / clientsN;

        HttpClient http = loadVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
          new PoolOptions().setHttp1MaxSize(inflight));
        // warm-up: JIT, pooled Redis connections, loaded scripts
        runLoad(http, node.httpPort, tokens, batch, inflight, 3_000);
        await().atMost(Duration.ofSeconds(30)).until(() -> node.node().metrics().deliveredCount() >= sentMessages.get());

        double targeted0 = node.node().metrics().dispatchedCount(DispatchType.TARGETED);
        double fallback0 = node.node().metrics().dispatchedCount(DispatchType.FALLBACK);
        double delivered0 = node.node().metrics().deliveredCount();
        long lookups0 = registry.stats().getLong("lookups");
        redis.resetStats();
        sentMessages.set(0);
        sentBatches.set(0);
        Timer lookupTimer = node.node().metrics().redisLookupTimer();
        long lookupCount0 = lookupTimer.count();

        // churn: some clients reconnect (landing on any shard) during the run
        AtomicLong reconnects = new AtomicLong();
        long churnTimer = churn <= 0 ? -1 : clients.vertx().setPeriodic(1000 / Math.max(1, churn), id -> {
          synchronized (conns) {
            int i = ThreadLocalRandom.current().nextInt(conns.size());
            Conn c = conns.get(i);
            c.socket().close().compose(v -> clients.connectAsync(c.token)).onSuccess(n -> {
              synchronized (conns) {
                conns.set(conns.indexOf(c), n);
              }
              reconnects.incrementAndGet();
            });
          }
        });

        String loadBefore = loadAverage();
        long start = System.nanoTime();
        runLoad(http, node.httpPort, tokens, batch, inflight, seconds * 1000L);
        double elapsed = (System.nanoTime() - start) / 1e9;
        clients.vertx().cancelTimer(churnTimer);
        long sent = sentMessages.get();
        long batches = sentBatches.get();
        Map<String, Long> calls = redis.commandCalls();
        long lookupsInRedis = calls.getOrDefault("evalsha_ro", 0L);
        long topLevel = lookupsInRedis + calls.getOrDefault("evalsha", 0L) + calls.getOrDefault("del", 0L)
          + calls.getOrDefault("script|load", 0L) + calls.getOrDefault("ping", 0L) + calls.getOrDefault("hello", 0L);
        // wait until deliveries stop growing (messages for a client that was reconnecting have nowhere to go)
        double[] last = {-1};
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
          double d = node.node().metrics().deliveredCount();
          boolean stable = d == last[0];
          last[0] = d;
          return stable;
        });
        double delivered = node.node().metrics().deliveredCount() - delivered0;
        double targeted = node.node().metrics().dispatchedCount(DispatchType.TARGETED) - targeted0;
        double fallback = node.node().metrics().dispatchedCount(DispatchType.FALLBACK) - fallback0;
        long lookups = registry.stats().getLong("lookups") - lookups0;
        double p50 = 0;
        double p99 = 0;
        for (ValueAtPercentile v : lookupTimer.takeSnapshot().percentileValues()) {
          if (v.percentile() == 0.5) {
            p50 = v.value(TimeUnit.MILLISECONDS);
          } else if (v.percentile() == 0.99) {
            p99 = v.value(TimeUnit.MILLISECONDS);
          }
        }

        line(out, "machine: %d cores (%s), Java %s, redis-server %s, all on loopback",
          Runtime.getRuntime().availableProcessors(), cpuModel(), System.getProperty("java.version"),
          ((String) redis.command("INFO", "server")).replaceAll("(?s).*redis_version:([^\\r\\n]*).*", "$1"));
        line(out, "setup: %d clients (one token each), %d shards, 1 dispatcher, batches of %d targeted messages, %d requests in flight, %s, %d s, %d reconnects/s (%d done)",
          clientsN, shards, batch, inflight, rate > 0 ? "offered " + rate + " messages/s" : "as fast as possible", seconds, churn, reconnects.get());
        line(out, "published: %d messages in %d batches in %.1f s: %.0f targeted messages/s through Redis", sent, batches, elapsed, sent / elapsed);
        line(out, "delivered frames: %.0f (%.0f/s)", delivered, delivered / elapsed);
        line(out, "Redis lookups (INFO commandstats evalsha_ro): %d for %d batches (registry counted %d) = %.4f round trips per message",
          lookupsInRedis, batches, lookups, lookupsInRedis / (double) sent);
        line(out, "all Redis commands sent by the gateway (lookups + registrations + heartbeats): %d = %.4f per message; by command: %s",
          topLevel, topLevel / (double) sent, calls);
        line(out, "lookup latency (odin_redis_lookup_duration_seconds, %d lookups): p50 %.3f ms, p99 %.3f ms",
          lookupTimer.count() - lookupCount0, p50, p99);
        line(out, "dispatch: targeted %.0f, fallback %.0f: %.2f%% targeted", targeted, fallback, 100 * targeted / Math.max(1, targeted + fallback));
        line(out, "Redis server time per lookup of %d tokens (commandstats usec_per_call): %s us", batch, usecPerCall(redis, "evalsha_ro"));

        // the lookup alone: one batch of tokens at a time from an event loop, timed exactly
        long[] isolated = isolatedLookups(node, registry, tokens, batch, 5000);
        line(out, "isolated lookups (%d sequential lookups of %d tokens from an event loop, no other load from this JVM): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms",
          isolated.length, batch, pct(isolated, 0.5), pct(isolated, 0.9), pct(isolated, 0.99), isolated[isolated.length - 1] / 1e6);
        line(out, "Redis memory per registered connection (used_memory delta / connections): %d bytes", memPerEntry);
        line(out, "load average before / after (machine shared with other builds): %s / %s", loadBefore, loadAverage());
        System.out.print(out);
        Path file = Path.of("target", "bench", "redis-registry.txt");
        Files.createDirectories(file.getParent());
        Files.writeString(file, out.toString());
      } finally {
        loadVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        clients.close();
        node.close();
      }
    }
  }

  /** The same load with the in-memory registry, to read the Redis figures against. */
  @Test
  void inMemoryBaseline() throws Exception {
    int clientsN = prop("bench.clients", 2000);
    int shards = prop("bench.shards", 2);
    int batch = prop("bench.batch", 100);
    int inflight = prop("bench.inflight", 4);
    int seconds = prop("bench.seconds", 20);
    int rate = prop("bench.rate", 0);
    pauseMillis = rate <= 0 ? 0 : Math.max(1, 1000L * batch * inflight / rate);
    TestNode node = TestNode.start(shards);
    WsClients clients = new WsClients(node.wsPort);
    loadVertx = Vertx.vertx();
    try {
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < clientsN; i++) {
        tokens.add("bench-" + i);
      }
      clients.connectAll(tokens);
      HttpClient http = loadVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(inflight));
      runLoad(http, node.httpPort, tokens, batch, inflight, 3_000);
      sentMessages.set(0);
      String loadBefore = loadAverage();
      long start = System.nanoTime();
      runLoad(http, node.httpPort, tokens, batch, inflight, seconds * 1000L);
      double elapsed = (System.nanoTime() - start) / 1e9;
      StringBuilder out = new StringBuilder();
      line(out, "in-memory baseline: %d clients, %d shards, batches of %d, %d in flight, %s: %.0f targeted messages/s (load average %s / %s)",
        clientsN, shards, batch, inflight, rate > 0 ? "offered " + rate + "/s" : "as fast as possible",
        sentMessages.get() / elapsed, loadBefore, loadAverage());
      System.out.print(out);
      Path file = Path.of("target", "bench", "memory-baseline.txt");
      Files.createDirectories(file.getParent());
      Files.writeString(file, out.toString());
    } finally {
      loadVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      clients.close();
      node.close();
    }
  }

  final AtomicLong sentMessages = new AtomicLong();
  /** Pause between the requests of one in-flight loop, for a fixed rate; 0 runs as fast as possible. */
  long pauseMillis;
  Vertx loadVertx;
  final AtomicLong sentBatches = new AtomicLong();

  /** Keeps {@code inflight} publish requests of {@code batch} random tokens going for {@code millis}. */
  void runLoad(HttpClient http, int port, List<String> tokens, int batch, int inflight, long millis) {
    long end = System.currentTimeMillis() + millis;
    List<Future<Void>> loops = new ArrayList<>();
    for (int i = 0; i < inflight; i++) {
      Promise<Void> done = Promise.promise();
      loop(http, port, tokens, batch, end, done);
      loops.add(done.future());
    }
    WsClients.awaitResult(Future.all(loops).map(x -> null).timeout(millis + 60_000, TimeUnit.MILLISECONDS));
  }

  private void loop(HttpClient http, int port, List<String> tokens, int batch, long end, Promise<Void> done) {
    if (System.currentTimeMillis() >= end) {
      done.complete();
      return;
    }
    JsonArray body = new JsonArray();
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    for (int i = 0; i < batch; i++) {
      body.add(new JsonObject().put("type", "tick").put("token", tokens.get(rnd.nextInt(tokens.size())))
        .put("data", new JsonObject().put("n", i)));
    }
    Buffer payload = body.toBuffer();
    http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port).setURI("/api/publish"))
      .compose(req -> req.putHeader("content-type", "application/json").send(payload))
      .compose(resp -> resp.body().map(b -> resp.statusCode()))
      .onComplete(ar -> {
        if (ar.succeeded() && ar.result() == 202) {
          sentMessages.addAndGet(batch);
          sentBatches.incrementAndGet();
        }
        if (pauseMillis > 0) {
          loadVertx.setTimer(pauseMillis, id -> loop(http, port, tokens, batch, end, done));
        } else {
          loop(http, port, tokens, batch, end, done);
        }
      });
  }

  static long[] isolatedLookups(TestNode node, RedisConnectionRegistry registry, List<String> tokens, int batch, int n) {
    long[] samples = new long[n];
    Promise<Void> done = Promise.promise();
    node.vertx.getOrCreateContext().runOnContext(v -> next(registry, tokens, batch, samples, 0, done));
    WsClients.awaitResult(done.future());
    java.util.Arrays.sort(samples);
    return samples;
  }

  static void next(RedisConnectionRegistry registry, List<String> tokens, int batch, long[] samples, int i, Promise<Void> done) {
    if (i == samples.length) {
      done.complete();
      return;
    }
    List<String> slice = new ArrayList<>(batch);
    int from = ThreadLocalRandom.current().nextInt(tokens.size() - batch);
    slice.addAll(tokens.subList(from, from + batch));
    long t0 = System.nanoTime();
    registry.lookup(slice).onComplete(ar -> {
      samples[i] = System.nanoTime() - t0;
      next(registry, tokens, batch, samples, i + 1, done);
    });
  }

  static double pct(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
  }

  static String usecPerCall(RedisServer redis, String command) {
    for (String l : String.valueOf(redis.command("INFO", "commandstats")).split("\r\n")) {
      if (l.startsWith("cmdstat_" + command + ":")) {
        return l.replaceAll(".*usec_per_call=([0-9.]+).*", "$1");
      }
    }
    return "?";
  }

  static long usedMemory(RedisServer redis) {
    return Long.parseLong(String.valueOf(redis.command("INFO", "memory")).replaceAll("(?s).*used_memory:([0-9]+).*", "$1"));
  }

  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  static void line(StringBuilder out, String format, Object... args) {
    out.append(String.format(format, args)).append('\n');
  }

  static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException ignored) {
      // not Linux
    }
    return "unknown CPU";
  }
}
