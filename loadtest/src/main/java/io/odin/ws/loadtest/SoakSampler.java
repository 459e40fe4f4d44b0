package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a soak watches (scripts/soak, docs/benchmarks.md "Soak"), one JSON line per node every {@code --interval} and
 * one for the cluster's Redis: per node, from {@code /proc} (its pid read from its pid file at each sample, so a
 * restarted node is followed) resident memory, open files and threads, and from its {@code /metrics} the heap after the
 * last GC, direct memory, connections, Kafka lag, CPU, deliveries and the delivery latency's p99 over the interval;
 * from Redis the registry's entries ({@code PREFIX t:*}) and the history's keys ({@code PREFIX h:*}), how many of those
 * have no expiry, and Redis's memory. {@link SoakReport} turns the lines into charts and slopes.
 * <pre>
 * java -cp odin-loadtest.jar io.odin.ws.loadtest.SoakSampler --node node-0=http://127.0.0.1:3004/metrics@target/cluster-local/node-0.pid ...
 *   --redis 127.0.0.1:6379 --key-prefix odin: --interval 10s --out samples.jsonl [--duration 1h]
 * </pre>
 */
public final class SoakSampler {

  /** A node: its name, its {@code /metrics} URL, and the file holding its pid (null: no /proc figures). */
  record Node(String name, String metricsUrl, Path pidFile) {
  }

  /** What was read of a node at its previous sample, for figures over the interval. */
  private record Previous(long pid, long nanos, double cpuNanos, TreeMap<Double, Double> latency, double deliveries) {
  }

  static final String LATENCY = "odin_delivery_latency_seconds";

  private final List<Node> nodes;
  private final String redisHost;
  private final int redisPort;
  private final String keyPrefix;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<String, Previous> previous = new HashMap<>();

  SoakSampler(List<Node> nodes, String redis, String keyPrefix) {
    this.nodes = nodes;
    if (redis == null) {
      this.redisHost = null;
      this.redisPort = 0;
    } else {
      int colon = redis.lastIndexOf(':');
      this.redisHost = redis.substring(0, colon);
      this.redisPort = Integer.parseInt(redis.substring(colon + 1));
    }
    this.keyPrefix = keyPrefix;
  }

  public static void main(String[] args) throws Exception {
    List<Node> nodes = new ArrayList<>();
    String redis = null;
    String prefix = "odin:";
    long intervalMillis = 10_000;
    long durationMillis = 0;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[++i] : null;
      if (v == null) {
        usage(a + " needs a value");
      }
      switch (a) {
        case "--node" -> nodes.add(node(v));
        case "--redis" -> redis = v;
        case "--key-prefix" -> prefix = v;
        case "--interval" -> intervalMillis = LoadTestOptions.durationMillis(a, v);
        case "--duration" -> durationMillis = LoadTestOptions.durationMillis(a, v);
        case "--out" -> out = Path.of(v);
        default -> usage("unknown option " + a);
      }
    }
    if (nodes.isEmpty() || out == null || intervalMillis <= 0) {
      usage("give --node (at least one), --out and a positive --interval");
    }
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    SoakSampler sampler = new SoakSampler(nodes, redis, prefix);
    long start = System.nanoTime();
    try (PrintStream lines = new PrintStream(Files.newOutputStream(out, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
      true, StandardCharsets.UTF_8)) {
      long next = System.nanoTime();
      while (durationMillis <= 0 || System.nanoTime() - start < durationMillis * 1_000_000L) {
        for (JsonObject line : sampler.sample()) {
          lines.println(line.encode());
        }
        next += intervalMillis * 1_000_000L;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
        }
      }
    }
  }

  private static void usage(String problem) {
    System.err.println("soak sampler: " + problem);
    System.err.println("usage: SoakSampler --node NAME=METRICS_URL[@PID_FILE] ... [--redis HOST:PORT] [--key-prefix P]"
      + " [--interval 10s] [--duration D] --out FILE.jsonl");
    System.exit(2);
  }

  /** NAME=URL[@PIDFILE] */
  static Node node(String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--node takes NAME=METRICS_URL[@PID_FILE], got " + spec);
    }
    String rest = spec.substring(eq + 1);
    int at = rest.lastIndexOf('@');
    return at < 0 ? new Node(spec.substring(0, eq), rest, null)
      : new Node(spec.substring(0, eq), rest.substring(0, at), Path.of(rest.substring(at + 1)));
  }

  /** One sample: a line per node, then the cluster's. */
  List<JsonObject> sample() {
    long now = System.currentTimeMillis();
    List<JsonObject> out = new ArrayList<>();
    double connections = 0;
    for (Node n : nodes) {
      JsonObject line = sampleNode(n, now);
      connections += line.getDouble("connections", 0.0);
      out.add(line);
    }
    if (redisHost != null) {
      out.add(sampleRedis(now).put("connections", (long) connections));
    }
    return out;
  }

  private JsonObject sampleNode(Node n, long now) {
    JsonObject line = new JsonObject().put("t", now).put("node", n.name());
    long pid = pidOf(n);
    if (pid > 0) {
      line.put("pid", pid);
      if (Files.isDirectory(Path.of("/proc/" + pid))) {
        long rss = ProcStats.rssKiB(pid);
        if (rss >= 0) {
          line.put("rssKiB", rss);
        }
        putIfKnown(line, "threads", procStatus(pid, "Threads:"));
        putIfKnown(line, "openFiles", openFiles(pid));
      }
    }
    long nanos = System.nanoTime();
    PrometheusText metrics;
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(n.metricsUrl())).timeout(Duration.ofSeconds(5)).GET()
        .build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return line.put("error", "HTTP " + r.statusCode());
      }
      metrics = new PrometheusText(r.body());
    } catch (IOException e) {
      return line.put("error", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return line.put("error", e.toString());
    }
    // old generation after the last collection (Micrometer's heap pressure gauge is its share of the maximum)
    double afterGc = metrics.sum("jvm_memory_usage_after_gc", "area", "heap", "pool", "long-lived");
    double oldMax = 0;
    for (String id : List.of("G1 Old Gen", "PS Old Gen", "Tenured Gen", "ZGC Old Generation", "ZHeap")) {
      double m = metrics.sum("jvm_memory_max_bytes", "area", "heap", "id", id);
      if (m > 0) {
        oldMax = m;
        break;
      }
    }
    putIfKnown(line, "heapAfterGcBytes", oldMax > 0 ? afterGc * oldMax : Double.NaN);
    putIfKnown(line, "heapUsedBytes", metrics.sum("jvm_memory_used_bytes", "area", "heap"));
    putIfKnown(line, "directBytes", metrics.sum("jvm_buffer_memory_used_bytes", "id", "direct"));
    putIfKnown(line, "connections", metrics.sum("odin_ws_connections"));
    putIfKnown(line, "kafkaLag", metrics.sum("odin_kafka_lag"));
    putIfKnown(line, "deliveriesTotal", metrics.sum("odin_ws_deliveries_total"));
    putIfKnown(line, "rateLimitedTotal", metrics.sum("odin_ws_handshakes_refused_total", "reason", "rate_limited"));
    double cpu = metrics.sum("process_cpu_time_ns_total");
    TreeMap<Double, Double> latency = metrics.buckets(LATENCY);
    double deliveries = metrics.sum("odin_ws_deliveries_total");
    Previous before = previous.get(n.name());
    if (before != null && before.pid == pid) {
      double seconds = (nanos - before.nanos) / 1e9;
      if (seconds > 0 && !Double.isNaN(cpu) && !Double.isNaN(before.cpuNanos)) {
        putIfKnown(line, "cpuPct", Sample.round(100 * (cpu - before.cpuNanos) / 1e9 / seconds, 1));
      }
      if (seconds > 0 && !Double.isNaN(deliveries) && !Double.isNaN(before.deliveries)) {
        putIfKnown(line, "deliveriesPerSec", Sample.round((deliveries - before.deliveries) / seconds, 1));
      }
      double p99 = PrometheusText.quantile(before.latency, latency, 0.99);
      putIfKnown(line, "p99Ms", p99 * 1000);
      // the interval's bucket counts, so that a report can merge intervals into any window's quantiles
      JsonObject buckets = new JsonObject();
      for (Double bound : latency.keySet()) {
        double d = PrometheusText.delta(before.latency, latency, bound);
        buckets.put(bound.isInfinite() ? "+Inf" : Double.toString(bound), d);
      }
      line.put("latencyBuckets", buckets);
    }
    previous.put(n.name(), new Previous(pid, nanos, cpu, latency, deliveries));
    return line;
  }

  private JsonObject sampleRedis(long now) {
    JsonObject line = new JsonObject().put("t", now).put("node", "cluster");
    try (Resp redis = new Resp(redisHost, redisPort)) {
      line.put("registryEntries", redis.scan(keyPrefix + "t:*").size());
      List<String> history = redis.scan(keyPrefix + "h:*");
      line.put("historyKeys", history.size());
      List<String[]> ttls = new ArrayList<>();
      for (String key : history) {
        // the history generations (one per slot, raised after messages went out unstored) live as long as Redis
        if (!key.startsWith(keyPrefix + "h:gen")) {
          ttls.add(new String[] {"PTTL", key});
        }
      }
      long without = 0;
      for (Object ttl : redis.pipeline(ttls)) {
        if (ttl instanceof Long l && l == -1) {
          without++;
        }
      }
      line.put("historyKeysWithoutTtl", without);
      putIfKnown(line, "redisUsedMemoryBytes", number(redis.info("memory", "used_memory")));
      putIfKnown(line, "redisKeys", number(String.valueOf(redis.command("DBSIZE"))));
    } catch (IOException e) {
      line.put("error", e.toString());
    }
    return line;
  }

  private static double number(String s) {
    try {
      return s == null ? Double.NaN : Double.parseDouble(s);
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static long pidOf(Node n) {
    if (n.pidFile() == null) {
      return -1;
    }
    try {
      return Long.parseLong(Files.readString(n.pidFile()).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static double procStatus(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith(field)) {
          return Double.parseDouble(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return Double.NaN;
    }
    return Double.NaN;
  }

  private static double openFiles(long pid) {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.count();
    } catch (IOException | UncheckedIOException e) {
      return Double.NaN;
    }
  }

  private static void putIfKnown(JsonObject line, String key, double v) {
    if (!Double.isNaN(v) && !Double.isInfinite(v)) {
      line.put(key, v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v);
    }
  }
}
