package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Summarises the load tool's reports of a shard sweep ({@code scripts/shard-sweep}): a table on stdout and an
 * HTML chart of deliveries per second and p99 per shard count. Each report's {@code --label} names its point,
 * e.g. {@code "shards=4 kind=broadcast"}.
 * <pre>java -cp target/odin-ws.jar io.odin.ws.loadtest.SweepReport OUT.html REPORT.json...</pre>
 */
public final class SweepReport {

  /** One load-tool run of the sweep (the best of {@code runs} when points were repeated). */
  record Point(int shards, String kind, JsonObject report, int runs) {

    Point(int shards, String kind, JsonObject report) {
      this(shards, kind, report, 1);
    }

    /** Gateway CPU (user + kernel) per delivery in microseconds: what a delivery costs, whatever else ran. */
    double gatewayCpuMicros() {
      JsonObject server = report.getJsonObject("server");
      Double v = server == null ? null : server.getDouble("cpuMicrosPerDelivery");
      return v == null ? Double.NaN : v;
    }

    double otherCpuPct() {
      Double v = report.getDouble("otherCpuPctWhileMeasuring");
      return v == null ? Double.NaN : v;
    }

    /** Deliveries over the measured window (after the warm-up, until the last delivery), per second. */
    double deliveriesPerSec() {
      return report.getJsonObject("deliveries").getDouble("perSecond");
    }

    double p99() {
      JsonObject all = report.getJsonObject("latencyMs").getJsonObject("all");
      return all.getLong("count") > 0 ? all.getDouble("p99") : Double.NaN;
    }

    double latency(String key) {
      JsonObject all = report.getJsonObject("latencyMs").getJsonObject("all");
      return all.getLong("count") > 0 ? all.getDouble(key) : Double.NaN;
    }
  }

  private SweepReport() {
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: SweepReport OUT.html REPORT.json...");
      System.exit(2);
    }
    List<Point> points = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      JsonObject r = new JsonObject(Files.readString(Path.of(args[i])));
      Map<String, String> label = parseLabel(r.getString("label", ""));
      if (!label.containsKey("shards") || !label.containsKey("kind")) {
        System.err.println("skipping " + args[i] + ": its label needs shards=N kind=K");
        continue;
      }
      points.add(new Point(Integer.parseInt(label.get("shards")), label.get("kind"), r));
    }
    String table = table(points);
    System.out.print(table);
    Files.writeString(Path.of(args[0]), html(points, table), StandardCharsets.UTF_8);
    System.out.println("chart: " + args[0]);
  }

  static Map<String, String> parseLabel(String label) {
    Map<String, String> out = new HashMap<>();
    for (String part : label.trim().split("\\s+")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        out.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return out;
  }

  /** Points grouped by kind, each group sorted by shard count; of repeated points, the one with most deliveries/s. */
  static Map<String, List<Point>> byKind(List<Point> points) {
    Map<String, Map<Integer, Point>> best = new TreeMap<>(java.util.Comparator.reverseOrder());
    Map<String, Integer> runs = new HashMap<>();
    for (Point p : points) {
      runs.merge(p.kind() + "/" + p.shards(), 1, Integer::sum);
      Map<Integer, Point> m = best.computeIfAbsent(p.kind(), k -> new TreeMap<>());
      Point prev = m.get(p.shards());
      if (prev == null || p.deliveriesPerSec() > prev.deliveriesPerSec()) {
        m.put(p.shards(), p);
      }
    }
    Map<String, List<Point>> out = new TreeMap<>(java.util.Comparator.reverseOrder());
    for (Map.Entry<String, Map<Integer, Point>> e : best.entrySet()) {
      for (Point p : e.getValue().values()) {
        out.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
          .add(new Point(p.shards(), p.kind(), p.report(), runs.get(p.kind() + "/" + p.shards())));
      }
    }
    for (List<Point> l : out.values()) {
      l.sort(java.util.Comparator.comparingInt(Point::shards));
    }
    return out;
  }

  static String table(List<Point> points) {
    StringBuilder sb = new StringBuilder();
    sb.append("| kind | shards | connections | published msgs/s | deliveries/s | vs best | p50 ms | p99 ms | max ms "
      + "| gateway CPU % | gateway CPU µs/delivery | other CPU % | runs | lost/violations |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (Map.Entry<String, List<Point>> e : byKind(points).entrySet()) {
      double best = 0;
      for (Point p : e.getValue()) {
        best = Math.max(best, p.deliveriesPerSec());
      }
      for (Point p : e.getValue()) {
        JsonObject r = p.report();
        JsonObject pub = r.getJsonObject("publish");
        JsonObject server = r.getJsonObject("server");
        JsonObject v = r.getJsonObject("verification");
        long expected = r.getJsonObject("deliveries").getLong("expected");
        long received = r.getJsonObject("deliveries").getLong("received");
        String check = v != null ? (v.getBoolean("ok") ? "0" : v.getLong("violations") + " " + v.getJsonObject("counts").encode())
          : (expected - received) + " (unverified)";
        sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %.0f | %.0f | %.1f%% | %s | %s | %s | %s | %s | %s | %d | %s |%n",
          p.kind(), p.shards(), r.getJsonObject("connections").getLong("opened"),
          pub.getDouble("achievedRate", 0.0), p.deliveriesPerSec(),
          best > 0 ? 100.0 * p.deliveriesPerSec() / best : 0.0,
          num(p.latency("p50")), num(p.p99()), num(p.latency("max")),
          server == null ? "-" : num(server.getDouble("cpuPctWhilePublishing", Double.NaN)),
          num(p.gatewayCpuMicros()), num(p.otherCpuPct()), p.runs(), check));
      }
    }
    return sb.toString();
  }

  private static String num(Double v) {
    return v == null || v.isNaN() ? "-" : String.format(Locale.ROOT, "%.1f", v);
  }

  static String html(List<Point> points, String table) {
    String[] colors = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"};
    SvgChart throughput = new SvgChart("Deliveries per second by shard count", "shards", "deliveries/s");
    SvgChart p99 = new SvgChart("p99 end-to-end latency by shard count", "shards", "milliseconds");
    SvgChart cost = new SvgChart("Gateway CPU per delivery by shard count (lower is better)", "shards", "microseconds");
    java.util.TreeSet<Integer> shardCounts = new java.util.TreeSet<>();
    int c = 0;
    for (Map.Entry<String, List<Point>> e : byKind(points).entrySet()) {
      List<Point> l = e.getValue();
      double[] xs = new double[l.size()];
      double[] d = new double[l.size()];
      double[] q = new double[l.size()];
      double[] u = new double[l.size()];
      for (int i = 0; i < l.size(); i++) {
        xs[i] = l.get(i).shards();
        d[i] = l.get(i).deliveriesPerSec();
        q[i] = l.get(i).p99();
        u[i] = l.get(i).gatewayCpuMicros();
        shardCounts.add(l.get(i).shards());
      }
      throughput.points(e.getKey(), colors[c % colors.length], xs, d);
      p99.points(e.getKey(), colors[c % colors.length], xs, q);
      cost.points(e.getKey(), colors[c % colors.length], xs, u);
      c++;
    }
    double[] ticks = shardCounts.stream().mapToDouble(Integer::doubleValue).toArray();
    throughput.xTicks(ticks);
    p99.xTicks(ticks);
    cost.xTicks(ticks);
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>odin-ws shard sweep</title>")
      .append("<style>body{font-family:sans-serif;margin:20px}pre{background:#f6f6f6;padding:8px;font-size:12px}</style>")
      .append("</head><body>\n<h1>odin-ws shard sweep</h1>\n<pre>").append(SvgChart.esc(table)).append("</pre>\n");
    if (!points.isEmpty()) {
      sb.append("<p>Machine: ").append(SvgChart.esc(points.get(0).report().getJsonObject("machine").encode()))
        .append("</p>\n");
    }
    sb.append(throughput.render()).append(p99.render()).append(cost.render()).append("</body></html>\n");
    return sb.toString();
  }
}
