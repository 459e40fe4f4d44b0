package io.odin.ws.loadtest.churn;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code scripts/cluster-churn members}' table: per member count, the same load's CPU and event-bus traffic per node
 * (each node's /metrics over the measured window, the load tool's --node-metrics), the gateway CPU per delivery over
 * all nodes, and how long a drain, a kill and a join took to reach every node.
 * <pre>
 * java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.churn.MembersReport OUT.md N LOAD.json CHURN.json|- ...
 * </pre>
 */
public final class MembersReport {

  private MembersReport() {
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 4 || (args.length - 1) % 3 != 0) {
      System.err.println("usage: MembersReport OUT.md N LOAD.json CHURN.json|- [N LOAD.json CHURN.json|- ...]");
      System.exit(2);
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 1; i < args.length; i += 3) {
      JsonObject load = new JsonObject(Files.readString(Path.of(args[i + 1]), StandardCharsets.UTF_8));
      JsonObject churn = args[i + 2].equals("-") ? null
        : new JsonObject(Files.readString(Path.of(args[i + 2]), StandardCharsets.UTF_8));
      rows.add(new Row(Integer.parseInt(args[i]), load, churn));
    }
    String table = table(rows);
    Files.writeString(Path.of(args[0]), table, StandardCharsets.UTF_8);
    System.out.print(table);
  }

  /** One member count: its load report and, with 2 members or more, its churn report. */
  public record Row(int members, JsonObject load, JsonObject churn) {
  }

  public static String table(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| members | deliveries/s | CPU per node (mean / max) | CPU of all nodes | CPU per delivery, all nodes"
      + " | event bus out per node | to other nodes per node | drain: membership / routing / Kafka | kill: membership /"
      + " routing / Kafka | join: ready / membership / routing / Kafka | routing verified |\n");
    sb.append("|---:|---:|---|---:|---:|---:|---:|---|---|---|---|\n");
    for (Row r : rows) {
      JsonArray nodes = r.load().getJsonArray("nodes", new JsonArray());
      double sum = 0;
      double max = 0;
      double written = 0;
      double messages = 0;
      int read = 0;
      for (int i = 0; i < nodes.size(); i++) {
        JsonObject n = nodes.getJsonObject(i);
        Double cores = n.getDouble("cpuCoresUsed");
        if (cores == null) {
          continue;
        }
        read++;
        sum += cores;
        max = Math.max(max, cores);
        written += n.getDouble("eventBusBytesWrittenPerSecond", 0.0);
        messages += n.getDouble("eventBusRemoteMessagesPerSecond", 0.0);
      }
      double deliveries = r.load().getJsonObject("deliveries").getDouble("perSecond");
      JsonObject v = r.load().getJsonObject("verification");
      String verified = v == null ? "not verified" : v.getLong("violations") + " violations in "
        + String.format(Locale.ROOT, "%,d", v.getLong("deliveries")) + " deliveries";
      sb.append(String.format(Locale.ROOT, "| %d | %,.0f | %s | %.2f cores | %s | %s | %s | %s | %s | %s | %s |%n",
        r.members(), deliveries,
        read == 0 ? "n/a" : String.format(Locale.ROOT, "%.0f%% / %.0f%% of a core", 100 * sum / read, 100 * max),
        sum, deliveries > 0 ? String.format(Locale.ROOT, "%.1f µs", sum * 1e6 / deliveries) : "n/a",
        read == 0 ? "n/a" : kb(written / read), read == 0 ? "n/a" : String.format(Locale.ROOT, "%,.0f msg/s", messages / read),
        change(r.churn(), "drain", false), change(r.churn(), "kill", false), change(r.churn(), "join", true), verified));
    }
    return sb.toString();
  }

  private static String kb(double bytesPerSecond) {
    return String.format(Locale.ROOT, "%,.1f kB/s", bytesPerSecond / 1000);
  }

  /** The first change of this kind: its times in seconds, "-" for what did not settle. */
  private static String change(JsonObject churn, String kind, boolean join) {
    if (churn == null) {
      return "n/a (one node)";
    }
    JsonArray changes = churn.getJsonArray("changes");
    for (int i = 0; i < changes.size(); i++) {
      JsonObject c = changes.getJsonObject(i);
      if (c.getString("change").startsWith(kind + " ")) {
        return (join ? s(c, "readyMs") + " / " : "") + s(c, "membershipMs") + " / " + s(c, "routingMs") + " / "
          + s(c, "kafkaMs");
      }
    }
    return "n/a";
  }

  private static String s(JsonObject c, String key) {
    Long ms = c.getLong(key);
    return ms == null ? "-" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
  }
}
