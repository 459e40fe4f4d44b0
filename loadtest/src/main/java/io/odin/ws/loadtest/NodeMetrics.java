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
 * included) give its Redis round trips per batch; on a clustered node, Vert.x's event-bus summaries give the bytes it
 * wrote to and read from the other nodes and the messages it sent them. Works wherever the load tool can reach the
 * management port, including nodes on other machines, where --server-pid cannot look.
 */
final class NodeMetrics {

  static final String CPU_TIME = "process_cpu_time_ns_total";
  static final String CORES = "system_cpu_count";
  static final String CONNECTIONS = "odin_ws_connections";
  static final String BATCHES = "odin_dispatch_batch_size_count";
  static final String LOOKUPS = "odin_redis_lookup_duration_seconds_count";
  /** Vert.x's clustered event bus: bytes this node wrote to and read from other nodes (summaries, every address). */
  static final String BUS_WRITTEN = "vertx_eventbus_bytes_written_sum";
  static final String BUS_READ = "vertx_eventbus_bytes_read_sum";
  /** Messages sent and published to other nodes ({@code side="remote"}). */
  static final String BUS_SENT = "vertx_eventbus_sent_total";
  static final String BUS_PUBLISHED = "vertx_eventbus_published_total";

  /**
   * One read of one node; NaN for what its /metrics did not show; {@code error} when it could not be read. The
   * event-bus figures exist only on a clustered node.
   */
  record Snapshot(long nanos, double cpuNanos, double cores, double connections, double batches, double lookups,
                  double busWritten, double busRead, double busRemoteMessages, String error) {

    static Snapshot failed(long nanos, String error) {
      return new Snapshot(nanos, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, error);
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
    double written = Double.NaN;
    double read = Double.NaN;
    double remote = Double.NaN;
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      String name = metricName(line);
      boolean remoteMessages = (name.equals(BUS_SENT) || name.equals(BUS_PUBLISHED)) && line.contains("side=\"remote\"");
      if (!name.equals(CPU_TIME) && !name.equals(CORES) && !name.equals(CONNECTIONS) && !name.equals(BATCHES)
        && !name.equals(LOOKUPS) && !name.equals(BUS_WRITTEN) && !name.equals(BUS_READ) && !remoteMessages) {
        continue;
      }
      double value = sampleValue(line);
      if (Double.isNaN(value)) {
        continue;
      }
      switch (name) {
        case CPU_TIME -> cpu = sum(cpu, value);
        case CORES -> cores = value;
        case CONNECTIONS -> connections = sum(connections, value);
        case BATCHES -> batches = sum(batches, value);
        case LOOKUPS -> lookups = sum(lookups, value);
        case BUS_WRITTEN -> written = sum(written, value);
        case BUS_READ -> read = sum(read, value);
        default -> remote = sum(remote, value);
      }
    }
    return new Snapshot(nanos, cpu, cores, connections, batches, lookups, written, read, remote, null);
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
      if (seconds > 0) {
        putRate(node, "eventBusBytesWrittenPerSecond", a.busWritten(), b.busWritten(), seconds);
        putRate(node, "eventBusBytesReadPerSecond", a.busRead(), b.busRead(), seconds);
        putRate(node, "eventBusRemoteMessagesPerSecond", a.busRemoteMessages(), b.busRemoteMessages(), seconds);
      }
      nodes.add(node.put("windowSeconds", Sample.round(seconds, 3)));
    }
    return nodes;
  }

  private static void putRate(JsonObject node, String key, double start, double end, double seconds) {
    if (!Double.isNaN(end)) {
      node.put(key, Sample.round((end - (Double.isNaN(start) ? 0 : start)) / seconds, 1));
    }
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
