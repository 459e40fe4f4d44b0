package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Each gateway node's own view of a run (--node-metrics): its Prometheus {@code /metrics} read at the start and at
 * the end of the measured window. The CPU a node spent in between ({@code process_cpu_time_ns_total}) over the
 * window and its cores ({@code system_cpu_count}) gives its CPU use; {@code odin_ws_connections} summed over its
 * shards gives the connections it held; the batches it dispatched ({@code odin_dispatch_batch_size_count}) beside its
 * Redis lookups ({@code odin_redis_lookup_duration_seconds_count}: one round trip each, the history's append
 * included) give its Redis round trips per batch. Works wherever the load tool can reach the management port,
 * including nodes on other machines, where --server-pid cannot look.
 */
final class NodeMetrics {

  static final String CPU_TIME = "process_cpu_time_ns_total";
  static final String CORES = "system_cpu_count";
  static final String CONNECTIONS = "odin_ws_connections";
  static final String BATCHES = "odin_dispatch_batch_size_count";
  static final String LOOKUPS = "odin_redis_lookup_duration_seconds_count";

  /** One read of one node; NaN for what its /metrics did not show; {@code error} when it could not be read. */
  record Snapshot(long nanos, double cpuNanos, double cores, double connections, double batches, double lookups,
                  String error) {

    static Snapshot failed(long nanos, String error) {
      return new Snapshot(nanos, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, error);
    }
  }

  private final List<String> urls;
  private final HttpClient client;

  NodeMetrics(List<String> urls) {
    this.urls = List.copyOf(urls);
    this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  List<String> urls() {
    return urls;
  }

  /** Reads every node at once; a node that does not answer within 5 s gets a failed snapshot, not an exception. */
  List<Snapshot> read() {
    List<CompletableFuture<Snapshot>> pending = new ArrayList<>();
    for (String url : urls) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).GET().build();
      pending.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> r.statusCode() == 200 ? parse(r.body(), System.nanoTime())
          : Snapshot.failed(System.nanoTime(), "HTTP " + r.statusCode()))
        .exceptionally(e -> Snapshot.failed(System.nanoTime(), String.valueOf(e.getCause() != null ? e.getCause() : e))));
    }
    List<Snapshot> out = new ArrayList<>();
    for (CompletableFuture<Snapshot> f : pending) {
      out.add(f.join());
    }
    return out;
  }

  /** The figures of one Prometheus text exposition; samples of one name with several label sets are summed. */
  static Snapshot parse(String text, long nanos) {
    double cpu = Double.NaN;
    double cores = Double.NaN;
    double connections = Double.NaN;
    double batches = Double.NaN;
    double lookups = Double.NaN;
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      String name = metricName(line);
      if (!name.equals(CPU_TIME) && !name.equals(CORES) && !name.equals(CONNECTIONS) && !name.equals(BATCHES)
        && !name.equals(LOOKUPS)) {
        continue;
      }
      double value = sampleValue(line);
      if (Double.isNaN(value)) {
        continue;
      }
      switch (name) {
        case CPU_TIME -> cpu = sum(cpu, value);
        case CORES -> cores = value;
        case BATCHES -> batches = sum(batches, value);
        case LOOKUPS -> lookups = sum(lookups, value);
        default -> connections = sum(connections, value);
      }
    }
    return new Snapshot(nanos, cpu, cores, connections, batches, lookups, null);
  }

  /** Per node: cores, CPU used over the window (percent of all its cores, and in cores), connections at the end. */
  static JsonArray report(List<String> urls, List<Snapshot> start, List<Snapshot> end) {
    JsonArray nodes = new JsonArray();
    for (int i = 0; i < urls.size(); i++) {
      Snapshot a = start.get(i);
      Snapshot b = end.get(i);
      JsonObject node = new JsonObject().put("metricsUrl", urls.get(i));
      String error = a.error() != null ? a.error() : b.error();
      if (error != null) {
        nodes.add(node.put("error", error));
        continue;
      }
      double seconds = (b.nanos() - a.nanos()) / 1e9;
      if (!Double.isNaN(b.cores())) {
        node.put("cores", (int) b.cores());
      }
      if (!Double.isNaN(a.cpuNanos()) && !Double.isNaN(b.cpuNanos()) && seconds > 0) {
        double coresUsed = (b.cpuNanos() - a.cpuNanos()) / 1e9 / seconds;
        node.put("cpuCoresUsed", Sample.round(coresUsed, 3));
        if (b.cores() > 0) {
          node.put("cpuPct", Sample.round(100.0 * coresUsed / b.cores(), 1));
        }
      }
      if (!Double.isNaN(b.connections())) {
        node.put("connectionsAtEnd", (long) b.connections());
      }
      if (!Double.isNaN(a.batches()) && !Double.isNaN(b.batches())) {
        long batches = (long) (b.batches() - a.batches());
        node.put("batches", batches);
        if (!Double.isNaN(a.lookups()) && !Double.isNaN(b.lookups())) {
          long lookups = (long) (b.lookups() - a.lookups());
          node.put("redisLookups", lookups);
          if (batches > 0) {
            node.put("redisLookupsPerBatch", Sample.round((double) lookups / batches, 3));
          }
        }
      }
      nodes.add(node.put("windowSeconds", Sample.round(seconds, 3)));
    }
    return nodes;
  }

  private static double sum(double acc, double v) {
    return Double.isNaN(acc) ? v : acc + v;
  }

  private static String metricName(String line) {
    int end = 0;
    while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
      end++;
    }
    return line.substring(0, end);
  }

  /** The value after the name and labels (a timestamp may follow it); NaN when it does not parse. */
  private static double sampleValue(String line) {
    int close = line.lastIndexOf('}');
    String rest = (close >= 0 ? line.substring(close + 1) : line.substring(metricName(line).length())).trim();
    int space = rest.indexOf(' ');
    try {
      return Double.parseDouble(space < 0 ? rest : rest.substring(0, space));
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
