package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * The soak's report (scripts/soak): from {@link SoakSampler}'s lines and the script's events (drains, restarts), one
 * chart per series in the load tool's HTML style (a line per node, drains shaded) and each series' slope per hour,
 * least squares over the samples after the warm-up. A node's process lifetime is a segment of its own (a restarted node
 * starts small again): a node's slope is its longest segment's. The delivery latency's p99 is given per phase (steady,
 * or while a node drains and comes back) and per window, from the nodes' histograms merged.
 * <pre>java -cp odin-loadtest.jar io.odin.ws.loadtest.SoakReport --samples S.jsonl [--events E.jsonl] [--loadtest LT.json]
 *   [--warmup 5m] [--window 5m] --out soak.html (and soak.json beside it)</pre>
 */
public final class SoakReport {

  /** A series: its key in the sample lines, title, unit, and the factor from the line's value to the unit. */
  record Series(String key, String title, String unit, double scale) {
    double value(JsonObject line) {
      Number n = (Number) line.getValue(key);
      return n == null ? Double.NaN : n.doubleValue() * scale;
    }
  }

  static final double MIB = 1.0 / (1024 * 1024);

  /** Per node, in the order they are charted. */
  static final List<Series> NODE_SERIES = List.of(
    new Series("heapAfterGcBytes", "Heap after the last GC (old generation)", "MiB", MIB),
    new Series("rssKiB", "Resident memory", "MiB", 1.0 / 1024),
    new Series("directBytes", "Direct memory (NIO buffers)", "MiB", MIB),
    new Series("openFiles", "Open files", "files", 1),
    new Series("threads", "Threads", "threads", 1),
    new Series("connections", "Connections", "connections", 1),
    new Series("kafkaLag", "Kafka lag", "records", 1),
    new Series("p99Ms", "Delivery latency p99 (publish to socket write, per interval)", "ms", 1),
    new Series("cpuPct", "CPU", "% of one core", 1));

  /** The cluster's (Redis, and the nodes together). */
  static final List<Series> CLUSTER_SERIES = List.of(
    new Series("registryEntries", "Registry entries (t:*)", "keys", 1),
    new Series("connections", "Connections (all nodes)", "connections", 1),
    new Series("historyKeys", "History keys (h:*)", "keys", 1),
    new Series("historyKeysWithoutTtl", "History keys without an expiry", "keys", 1),
    new Series("redisUsedMemoryBytes", "Redis memory", "MiB", MIB));

  /** A least-squares line through (hours, value) points: slope per hour, its standard error, the points' count. */
  record Slope(double perHour, double stdErr, int points, double first, double last, double min, double max) {
    JsonObject toJson() {
      return new JsonObject().put("slopePerHour", Sample.round(perHour, 3)).put("stdErrPerHour", Sample.round(stdErr, 3))
        .put("points", points).put("first", Sample.round(first, 3)).put("last", Sample.round(last, 3))
        .put("min", Sample.round(min, 3)).put("max", Sample.round(max, 3));
    }
  }

  /** Least squares over {@code (t, v)} with t in milliseconds; null with fewer than 3 points. */
  static Slope slope(List<double[]> points) {
    int n = points.size();
    if (n < 3) {
      return null;
    }
    double mt = 0;
    double mv = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double[] p : points) {
      mt += p[0] / 3_600_000.0;
      mv += p[1];
      min = Math.min(min, p[1]);
      max = Math.max(max, p[1]);
    }
    mt /= n;
    mv /= n;
    double stt = 0;
    double stv = 0;
    for (double[] p : points) {
      double dt = p[0] / 3_600_000.0 - mt;
      stt += dt * dt;
      stv += dt * (p[1] - mv);
    }
    if (stt == 0) {
      return null;
    }
    double b = stv / stt;
    double a = mv - b * mt;
    double residuals = 0;
    for (double[] p : points) {
      double r = p[1] - (a + b * p[0] / 3_600_000.0);
      residuals += r * r;
    }
    double stdErr = Math.sqrt(residuals / Math.max(1, n - 2) / stt);
    return new Slope(b, stdErr, n, points.get(0)[1], points.get(n - 1)[1], min, max);
  }

  private final List<JsonObject> samples;
  private final List<JsonObject> events;
  private final JsonObject loadTest;
  private final long warmupMillis;
  private final long windowMillis;
  private final long start;
  private final long end;
  /** What the slopes and quantiles look at: from the "ramped" event (every connection open) to the "end" event. */
  private final long measureFrom;
  private final long measureTo;

  SoakReport(List<JsonObject> samples, List<JsonObject> events, JsonObject loadTest, long warmupMillis, long windowMillis) {
    this.samples = samples;
    this.events = events;
    this.loadTest = loadTest;
    this.warmupMillis = warmupMillis;
    this.windowMillis = windowMillis;
    long s = Long.MAX_VALUE;
    long e = Long.MIN_VALUE;
    for (JsonObject line : samples) {
      s = Math.min(s, line.getLong("t"));
      e = Math.max(e, line.getLong("t"));
    }
    for (JsonObject ev : events) {
      if ("start".equals(ev.getString("event"))) {
        s = Math.min(s, ev.getLong("t"));
      }
    }
    this.start = samples.isEmpty() ? 0 : s;
    this.end = samples.isEmpty() ? 0 : e;
    long from = start;
    long to = end;
    for (JsonObject ev : events) {
      if ("ramped".equals(ev.getString("event"))) {
        from = Math.max(from, ev.getLong("t"));
      } else if ("end".equals(ev.getString("event"))) {
        to = Math.min(to, ev.getLong("t"));
      }
    }
    this.measureFrom = from;
    this.measureTo = Math.max(from, to);
  }

  public static void main(String[] args) throws IOException {
    Path samples = null;
    Path events = null;
    Path loadTest = null;
    Path out = null;
    long warmup = -1;
    long window = 300_000;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--samples" -> samples = Path.of(args[i + 1]);
        case "--events" -> events = Path.of(args[i + 1]);
        case "--loadtest" -> loadTest = Path.of(args[i + 1]);
        case "--out" -> out = Path.of(args[i + 1]);
        case "--warmup" -> warmup = LoadTestOptions.durationMillis(args[i], args[i + 1]);
        case "--window" -> window = LoadTestOptions.durationMillis(args[i], args[i + 1]);
        default -> {
          System.err.println("soak report: unknown option " + args[i]);
          System.exit(2);
        }
      }
    }
    if (samples == null || out == null) {
      System.err.println("usage: SoakReport --samples S.jsonl [--events E.jsonl] [--loadtest LT.json] [--warmup D]"
        + " [--window 5m] --out soak.html");
      System.exit(2);
    }
    List<JsonObject> lines = readLines(samples);
    List<JsonObject> ev = events != null && Files.exists(events) ? readLines(events) : List.of();
    JsonObject lt = loadTest != null && Files.exists(loadTest) ? new JsonObject(Files.readString(loadTest)) : null;
    SoakReport report = new SoakReport(lines, ev, lt, warmup, window);
    JsonObject json = report.summary();
    Files.writeString(out, report.html(json), StandardCharsets.UTF_8);
    Path jsonOut = Path.of(out.toString().replaceFirst("\\.html$", "") + ".json");
    Files.writeString(jsonOut, json.encodePrettily() + "\n", StandardCharsets.UTF_8);
    System.out.println(report.table(json));
  }

  static List<JsonObject> readLines(Path file) throws IOException {
    List<JsonObject> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        out.add(new JsonObject(line));
      }
    }
    return out;
  }

  /** The warm-up left out of every slope: as given, else a sixth of the measured run, at most 10 minutes. */
  long warmup() {
    return warmupMillis >= 0 ? warmupMillis : Math.min(600_000, (measureTo - measureFrom) / 6);
  }

  /** Node names in the order they first appear (the cluster's line excluded). */
  List<String> nodes() {
    List<String> out = new ArrayList<>();
    for (JsonObject line : samples) {
      String n = line.getString("node");
      if (!"cluster".equals(n) && !out.contains(n)) {
        out.add(n);
      }
    }
    return out;
  }

  private List<JsonObject> linesOf(String node) {
    List<JsonObject> out = new ArrayList<>();
    for (JsonObject line : samples) {
      if (node.equals(line.getString("node"))) {
        out.add(line);
      }
    }
    return out;
  }

  /** A node's lines split by process (pid): each restart starts a segment. */
  static List<List<JsonObject>> segments(List<JsonObject> lines) {
    List<List<JsonObject>> out = new ArrayList<>();
    Long pid = null;
    for (JsonObject line : lines) {
      Long p = line.getLong("pid");
      if (p == null || line.containsKey("error")) {
        continue;
      }
      if (!p.equals(pid)) {
        out.add(new ArrayList<>());
        pid = p;
      }
      out.get(out.size() - 1).add(line);
    }
    return out;
  }

  /** The slope of {@code series} over {@code lines} from {@code from} to {@code to} (epoch ms). */
  static Slope slopeOf(List<JsonObject> lines, Series series, long from, long to) {
    List<double[]> points = new ArrayList<>();
    for (JsonObject line : lines) {
      double v = series.value(line);
      long t = line.getLong("t");
      if (t >= from && t <= to && !Double.isNaN(v)) {
        points.add(new double[] {line.getLong("t"), v});
      }
    }
    return slope(points);
  }

  JsonObject summary() {
    JsonObject json = new JsonObject()
      .put("startedAtEpochMillis", start)
      .put("minutes", Sample.round((end - start) / 60_000.0, 1))
      .put("measuredMinutes", Sample.round((measureTo - measureFrom) / 60_000.0, 1))
      .put("warmupMinutes", Sample.round(warmup() / 60_000.0, 1));
    JsonObject nodes = new JsonObject();
    for (String node : nodes()) {
      List<List<JsonObject>> segs = segments(linesOf(node));
      JsonObject n = new JsonObject().put("processes", segs.size());
      List<JsonObject> longest = segs.stream().max((a, b) -> Integer.compare(a.size(), b.size())).orElse(List.of());
      if (!longest.isEmpty()) {
        long from = Math.max(longest.get(0).getLong("t"), measureFrom) + warmup();
        n.put("longestProcessMinutes", Sample.round((longest.get(longest.size() - 1).getLong("t") - longest.get(0).getLong("t"))
          / 60_000.0, 1));
        JsonObject series = new JsonObject();
        for (Series s : NODE_SERIES) {
          Slope slope = slopeOf(longest, s, from, measureTo);
          if (slope != null) {
            series.put(s.key(), slope.toJson().put("unit", s.unit()));
          }
        }
        n.put("series", series);
      }
      nodes.put(node, n);
    }
    json.put("nodes", nodes);
    List<JsonObject> cluster = linesOf("cluster");
    JsonObject clusterSeries = new JsonObject();
    for (Series s : CLUSTER_SERIES) {
      Slope slope = slopeOf(cluster, s, measureFrom + warmup(), measureTo);
      if (slope != null) {
        clusterSeries.put(s.key(), slope.toJson().put("unit", s.unit()));
      }
    }
    json.put("cluster", clusterSeries);
    json.put("p99MsByPhase", p99ByPhase());
    json.put("p99MsByWindow", p99ByWindow());
    json.put("events", new JsonArray(new ArrayList<>(events)));
    if (loadTest != null) {
      json.put("loadTest", loadTestSummary());
    }
    return json;
  }

  /** The drains and restarts as [from, to] intervals (epoch ms): from a node's drain to 30 s after it is back. */
  List<long[]> disruptions() {
    List<long[]> out = new ArrayList<>();
    Map<String, Long> draining = new LinkedHashMap<>();
    for (JsonObject ev : events) {
      String kind = ev.getString("event");
      String node = ev.getString("node", "");
      if ("drain".equals(kind)) {
        draining.put(node, ev.getLong("t"));
      } else if ("restarted".equals(kind) && draining.containsKey(node)) {
        out.add(new long[] {draining.remove(node), ev.getLong("t") + 30_000});
      }
    }
    for (Long from : draining.values()) {
      out.add(new long[] {from, end});
    }
    return out;
  }

  private boolean disrupted(long t) {
    for (long[] d : disruptions()) {
      // a sample covers the interval before it
      if (t > d[0] && t - 10_000 < d[1]) {
        return true;
      }
    }
    return false;
  }

  /** The nodes' delivery latency p99 (ms) in steady state and around drains, from the samples' merged buckets. */
  JsonObject p99ByPhase() {
    TreeMap<Double, Double> steady = new TreeMap<>();
    TreeMap<Double, Double> disrupted = new TreeMap<>();
    for (JsonObject line : samples) {
      JsonObject b = line.getJsonObject("latencyBuckets");
      if (b != null && line.getLong("t") >= measureFrom + warmup() && line.getLong("t") <= measureTo) {
        merge(disrupted(line.getLong("t")) ? disrupted : steady, b);
      }
    }
    return new JsonObject().put("steady", p99(steady)).put("drainAndRestart", p99(disrupted));
  }

  /** Per window of {@code --window} from the ramp's end: the nodes' delivery latency p99 (ms). */
  JsonArray p99ByWindow() {
    TreeMap<Long, TreeMap<Double, Double>> windows = new TreeMap<>();
    for (JsonObject line : samples) {
      JsonObject b = line.getJsonObject("latencyBuckets");
      long t = line.getLong("t");
      if (b != null && t > measureFrom && t <= measureTo) {
        long w = (t - 1 - measureFrom) / windowMillis;
        merge(windows.computeIfAbsent(w, k -> new TreeMap<>()), b);
      }
    }
    JsonArray out = new JsonArray();
    windows.forEach((w, buckets) -> out.add(new JsonObject().put("fromMinute", w * windowMillis / 60_000)
      .put("toMinute", (w + 1) * windowMillis / 60_000).put("p99Ms", p99(buckets))));
    return out;
  }

  private static void merge(TreeMap<Double, Double> into, JsonObject buckets) {
    for (String le : buckets.fieldNames()) {
      into.merge(le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le),
        ((Number) buckets.getValue(le)).doubleValue(), Double::sum);
    }
  }

  /**
   * p99 in ms of merged interval counts (the upper bound of its bucket); null when nothing was recorded, a string
   * above the largest bucket.
   */
  static Object p99(TreeMap<Double, Double> intervalCounts) {
    // the counts are per bucket bound, cumulative within each interval: their sums stay cumulative
    double q = PrometheusText.quantile(null, intervalCounts, 0.99);
    if (Double.isNaN(q)) {
      return null;
    }
    if (Double.isInfinite(q)) {
      Double largest = intervalCounts.lowerKey(Double.POSITIVE_INFINITY);
      return "over " + (largest == null ? "?" : SvgChart.fmt(largest * 1000));
    }
    return Sample.round(q * 1000, 1);
  }

  /** The load tool's side: connections, messages, loss, end-to-end latency. */
  private JsonObject loadTestSummary() {
    JsonObject s = new JsonObject();
    for (String key : List.of("connections", "publish", "deliveries", "latencyMs", "reconnects", "windows", "problems",
      "exitCode")) {
      if (loadTest.containsKey(key)) {
        s.put(key, loadTest.getValue(key));
      }
    }
    JsonObject v = loadTest.getJsonObject("verification");
    if (v != null) {
      s.put("verification", new JsonObject().put("ok", v.getValue("ok")).put("violations", v.getValue("violations"))
        .put("counts", v.getValue("counts")).put("lostWhileAway", v.getValue("lostWhileAway"))
        .put("requiredDeliveries", v.getValue("requiredDeliveries")));
    }
    return s;
  }

  /** The slopes as a Markdown table (for docs/benchmarks.md and the terminal). */
  String table(JsonObject json) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "soak of %.1f min (%.1f min of it from every connection open to the end of the"
      + " load), slopes over those after a warm-up of %.1f min%n%n", json.getDouble("minutes"), json.getDouble("measuredMinutes"),
      json.getDouble("warmupMinutes")));
    sb.append("| series | unit |");
    List<String> nodes = nodes();
    for (String n : nodes) {
      sb.append(' ').append(n).append(" slope/h (first → last) |");
    }
    sb.append("\n|---|---|").append("---|".repeat(nodes.size())).append('\n');
    for (Series s : NODE_SERIES) {
      sb.append("| ").append(s.title()).append(" | ").append(s.unit()).append(" |");
      for (String n : nodes) {
        JsonObject sl = json.getJsonObject("nodes").getJsonObject(n).getJsonObject("series", new JsonObject()).getJsonObject(s.key());
        sb.append(' ').append(sl == null ? "-" : fmt(sl)).append(" |");
      }
      sb.append('\n');
    }
    sb.append("\n| cluster series | unit | slope/h (first → last) |\n|---|---|---|\n");
    for (Series s : CLUSTER_SERIES) {
      JsonObject sl = json.getJsonObject("cluster").getJsonObject(s.key());
      sb.append("| ").append(s.title()).append(" | ").append(s.unit()).append(" | ").append(sl == null ? "-" : fmt(sl)).append(" |\n");
    }
    sb.append("\np99 (ms) by phase: ").append(json.getJsonObject("p99MsByPhase").encode()).append('\n');
    sb.append("p99 (ms) by window: ");
    for (Object o : json.getJsonArray("p99MsByWindow")) {
      JsonObject w = (JsonObject) o;
      sb.append(w.getLong("fromMinute")).append('-').append(w.getLong("toMinute")).append(" min: ").append(w.getValue("p99Ms")).append("; ");
    }
    sb.append('\n');
    return sb.toString();
  }

  private static String fmt(JsonObject slope) {
    return String.format(Locale.ROOT, "%+.2f ± %.2f (%s → %s)", slope.getDouble("slopePerHour"), slope.getDouble("stdErrPerHour"),
      SvgChart.fmt(slope.getDouble("first")), SvgChart.fmt(slope.getDouble("last")));
  }

  String html(JsonObject json) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>odin-ws soak</title>\n<style>")
      .append("body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:10px 0}")
      .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}")
      .append("pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}</style></head><body>\n");
    sb.append("<h1>odin-ws soak</h1>\n");
    sb.append("<p>").append(SvgChart.esc(String.format(Locale.ROOT, "%.1f minutes; slopes per hour by least squares after a"
      + " warm-up of %.1f minutes after every connection was open, until the load's end, over each node's longest process"
      + " lifetime (a restarted node starts again); shaded: a node drained until 30 s after it was back.", json.getDouble("minutes"), json.getDouble("warmupMinutes")))).append("</p>\n");
    sb.append("<pre>").append(SvgChart.esc(table(json))).append("</pre>\n");
    if (json.containsKey("loadTest")) {
      sb.append("<h3>Load tool</h3><pre>").append(SvgChart.esc(json.getJsonObject("loadTest").encodePrettily())).append("</pre>\n");
    }
    String[] colors = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
    List<String> nodes = nodes();
    for (Series s : NODE_SERIES) {
      SvgChart chart = bands(new SvgChart(s.title(), "minutes", s.unit()));
      for (int i = 0; i < nodes.size(); i++) {
        List<JsonObject> lines = linesOf(nodes.get(i));
        chart.line(nodes.get(i) + slopeLabel(json.getJsonObject("nodes").getJsonObject(nodes.get(i)), s), colors[i % colors.length],
          minutes(lines), col(lines, s::value));
      }
      sb.append(chart.render());
    }
    List<JsonObject> cluster = linesOf("cluster");
    for (Series s : CLUSTER_SERIES) {
      JsonObject sl = json.getJsonObject("cluster").getJsonObject(s.key());
      SvgChart chart = bands(new SvgChart(s.title(), "minutes", s.unit()))
        .line(s.title() + (sl == null ? "" : String.format(Locale.ROOT, " (%+.2f/h)", sl.getDouble("slopePerHour"))),
          "#1f77b4", minutes(cluster), col(cluster, s::value));
      if (s.key().equals("registryEntries")) {
        chart.dashed("connections", "#7f7f7f", minutes(cluster), col(cluster, CLUSTER_SERIES.get(1)::value));
      }
      sb.append(chart.render());
    }
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static String slopeLabel(JsonObject node, Series s) {
    JsonObject sl = node.getJsonObject("series", new JsonObject()).getJsonObject(s.key());
    return sl == null ? "" : String.format(Locale.ROOT, " (%+.2f/h)", sl.getDouble("slopePerHour"));
  }

  private SvgChart bands(SvgChart chart) {
    for (long[] d : disruptions()) {
      chart.band((d[0] - start) / 60_000.0, (d[1] - start) / 60_000.0, "drain", "#fdd0a2");
    }
    return chart;
  }

  private double[] minutes(List<JsonObject> lines) {
    double[] out = new double[lines.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (lines.get(i).getLong("t") - start) / 60_000.0;
    }
    return out;
  }

  private static double[] col(List<JsonObject> lines, ToDoubleFunction<JsonObject> f) {
    double[] out = new double[lines.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = f.applyAsDouble(lines.get(i));
    }
    return out;
  }
}
