package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The shard-count matrix as one Markdown table ({@code scripts/gcp/matrix}): one row per load-tool report, each
 * labelled {@code shards=N}, with the connections held, the delivery success rate, the p99 latency and the CPU
 * of every gateway node (from {@code --node-metrics}, or {@code --server-pid} for a local gateway).
 * <pre>java -cp target/odin-ws.jar io.odin.ws.loadtest.MatrixReport OUT.md REPORT.json...</pre>
 */
public final class MatrixReport {

  /** One report of the matrix. */
  record Row(int shards, JsonObject report) {
  }

  private MatrixReport() {
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: MatrixReport OUT.md REPORT.json...");
      System.exit(2);
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      Path file = Path.of(args[i]);
      if (!Files.isRegularFile(file)) {
        System.err.println("skipping " + file + ": no such report (did that run fail before writing one?)");
        continue;
      }
      JsonObject r = new JsonObject(Files.readString(file));
      String shards = SweepReport.parseLabel(r.getString("label", "")).get("shards");
      if (shards == null || !shards.matches("[1-9][0-9]*")) {
        System.err.println("skipping " + file + ": its label needs shards=N");
        continue;
      }
      rows.add(new Row(Integer.parseInt(shards), r));
    }
    String table = table(rows);
    Files.writeString(Path.of(args[0]), table, StandardCharsets.UTF_8);
    System.out.print(table);
  }

  /** The Markdown table, rows by shard count. */
  static String table(List<Row> rows) {
    List<Row> sorted = new ArrayList<>(rows);
    sorted.sort(Comparator.comparingInt(Row::shards));
    StringBuilder sb = new StringBuilder();
    sb.append("| shards per node | connections held | delivery success | p99 (ms) | CPU per node | routing | exit |\n");
    sb.append("|---:|---:|---:|---:|---|---|---:|\n");
    for (Row row : sorted) {
      JsonObject r = row.report();
      sb.append("| ").append(row.shards())
        .append(" | ").append(connectionsHeld(r))
        .append(" | ").append(deliverySuccess(r))
        .append(" | ").append(p99(r))
        .append(" | ").append(cpuPerNode(r))
        .append(" | ").append(routing(r))
        .append(" | ").append(r.getValue("exitCode", "?"))
        .append(" |\n");
    }
    return sb.toString();
  }

  /** Connections open at the end (opened minus closed early) of those asked for. */
  static String connectionsHeld(JsonObject r) {
    JsonObject c = r.getJsonObject("connections");
    long requested = c.getLong("requested");
    long held = c.getLong("opened") - c.getLong("closedEarly", 0L);
    return String.format(Locale.ROOT, "%,d of %,d (%s)", held, requested, pct(held, requested));
  }

  /** Deliveries received of those the published messages called for. */
  static String deliverySuccess(JsonObject r) {
    JsonObject d = r.getJsonObject("deliveries");
    long expected = d.getLong("expected", 0L);
    if (expected <= 0) {
      return "n/a (nothing published)";
    }
    long received = Math.min(d.getLong("received"), expected);
    return String.format(Locale.ROOT, "%s (%,d of %,d)", pct(received, expected), received, expected);
  }

  static String p99(JsonObject r) {
    JsonObject all = r.getJsonObject("latencyMs").getJsonObject("all");
    if (all.getLong("count", 0L) == 0) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%,.1f", all.getDouble("p99"));
  }

  /** Each node's CPU over the measured window, in percent of its cores; a node that could not be read says so. */
  static String cpuPerNode(JsonObject r) {
    JsonArray nodes = r.getJsonArray("nodes");
    if (nodes != null && !nodes.isEmpty()) {
      List<String> parts = new ArrayList<>();
      Integer cores = null;
      for (int i = 0; i < nodes.size(); i++) {
        JsonObject n = nodes.getJsonObject(i);
        if (n.containsKey("cpuPct")) {
          parts.add(String.format(Locale.ROOT, "%.0f%%", n.getDouble("cpuPct")));
          cores = n.getInteger("cores", cores);
        } else {
          parts.add("n/a");
        }
      }
      return String.join(", ", parts) + (cores == null ? "" : " of " + cores + " cores");
    }
    JsonObject server = r.getJsonObject("server");
    if (server != null && server.getDouble("cpuPctWhilePublishing") != null) {
      // --server-pid: percent of one core, as /proc counts it
      return String.format(Locale.ROOT, "%.0f%% of one core (one local gateway)", server.getDouble("cpuPctWhilePublishing"));
    }
    return "n/a (run without --node-metrics)";
  }

  static String routing(JsonObject r) {
    JsonObject v = r.getJsonObject("verification");
    if (v == null) {
      return "not verified";
    }
    long violations = v.getLong("violations", 0L);
    return violations == 0 && v.getBoolean("ok", false) ? "0 violations" : violations + " violations";
  }

  private static String pct(long part, long whole) {
    if (whole <= 0) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.3f%%", 100.0 * part / whole);
  }
}
