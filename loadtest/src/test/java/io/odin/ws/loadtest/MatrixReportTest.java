package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The matrix table from real load-tool reports: src/test/resources/loadtest/matrix/shards-N.json were written by
 * a real local run (a gateway with ODIN_SHARDS=N on this shared 2-core machine, load average about 25):
 * <pre>
 * ODIN_SHARDS=N ODIN_WS_PORT=3201 ODIN_HTTP_PORT=3204 java -Xms512m -Xmx512m -jar target/odin-ws.jar &amp;
 * scripts/loadtest --url ws://127.0.0.1:3201/ws --publish-url http://127.0.0.1:3204/api/publish \
 *   --node-metrics http://127.0.0.1:3204/metrics --connections 500 --ramp 1000 --warmup 2s --duration 5s \
 *   --rate 200 --mix 100:0 --verify-routing --quiet --label shards=N --report shards-N.json
 * </pre>
 * Each cell is checked against the report's own fields, so the test holds for any rerun of those commands.
 */
class MatrixReportTest {

  static final Path SAMPLES = Path.of("src/test/resources/loadtest/matrix");
  static final int[] SHARDS = {2, 3, 4, 5, 7};

  static JsonObject sample(int shards) throws Exception {
    return new JsonObject(Files.readString(SAMPLES.resolve("shards-" + shards + ".json")));
  }

  static List<String> cells(String row) {
    List<String> out = new ArrayList<>();
    for (String c : row.substring(1, row.length() - 1).split("\\|")) {
      out.add(c.trim());
    }
    return out;
  }

  @Test
  void oneRowPerShardCountWithEachReportsFigures(@TempDir Path dir) throws Exception {
    List<String> args = new ArrayList<>(List.of(dir.resolve("matrix.md").toString()));
    for (int i = SHARDS.length - 1; i >= 0; i--) {   // any order in, shard order out
      args.add(SAMPLES.resolve("shards-" + SHARDS[i] + ".json").toString());
    }
    MatrixReport.main(args.toArray(new String[0]));
    String table = Files.readString(dir.resolve("matrix.md"));
    String[] lines = table.split("\n");
    assertEquals(2 + SHARDS.length, lines.length, table);
    assertEquals(List.of("shards per node", "connections held", "delivery success", "p99 (ms)", "CPU per node",
      "routing", "exit"), cells(lines[0]));
    for (int i = 0; i < SHARDS.length; i++) {
      JsonObject r = sample(SHARDS[i]);
      List<String> row = cells(lines[2 + i]);
      assertEquals(String.valueOf(SHARDS[i]), row.get(0), table);

      JsonObject c = r.getJsonObject("connections");
      long held = c.getLong("opened") - c.getLong("closedEarly");
      assertTrue(row.get(1).startsWith(String.format(Locale.ROOT, "%,d of %,d", held, c.getLong("requested"))), row.get(1));

      JsonObject d = r.getJsonObject("deliveries");
      assertTrue(d.getLong("expected") > 0, "the sample run published");
      assertTrue(row.get(2).startsWith(String.format(Locale.ROOT, "%.3f%%", 100.0 * Math.min(d.getLong("received"),
        d.getLong("expected")) / d.getLong("expected"))), row.get(2));

      assertEquals(String.format(Locale.ROOT, "%,.1f", r.getJsonObject("latencyMs").getJsonObject("all").getDouble("p99")),
        row.get(3));

      JsonArray nodes = r.getJsonArray("nodes");
      assertEquals(1, nodes.size(), "one local gateway");
      JsonObject node = nodes.getJsonObject(0);
      assertEquals(String.format(Locale.ROOT, "%.0f%% of %d cores", node.getDouble("cpuPct"), node.getInteger("cores")),
        row.get(4));
      assertEquals(r.getJsonObject("verification").getLong("violations") + " violations", row.get(5));
      assertEquals(String.valueOf(r.getInteger("exitCode")), row.get(6));
    }
  }

  @Test
  void whatARunCouldNotMeasureIsShownAsSuchNotAsZero() throws Exception {
    JsonObject r = sample(3).copy();
    r.getJsonObject("connections").put("closedEarly", 20);
    r.put("nodes", new JsonArray().add(new JsonObject().put("metricsUrl", "http://10.0.0.9:3004/metrics")
      .put("error", "java.net.ConnectException")).add(r.getJsonArray("nodes").getJsonObject(0)));
    r.getJsonObject("latencyMs").getJsonObject("all").put("count", 0);
    r.getJsonObject("verification").put("ok", false).put("violations", 4);
    List<String> row = cells(MatrixReport.table(List.of(new MatrixReport.Row(3, r))).split("\n")[2]);
    long opened = r.getJsonObject("connections").getLong("opened");
    assertTrue(row.get(1).startsWith(String.format(Locale.ROOT, "%,d of", opened - 20)), row.get(1));
    assertEquals("n/a", row.get(3));
    assertTrue(row.get(4).startsWith("n/a, "), "the unreadable node first, then the other: " + row.get(4));
    assertEquals("4 violations", row.get(5));

    JsonObject idle = sample(2).copy();
    idle.getJsonObject("deliveries").put("expected", 0);
    idle.remove("nodes");
    List<String> idleRow = cells(MatrixReport.table(List.of(new MatrixReport.Row(2, idle))).split("\n")[2]);
    assertEquals("n/a (nothing published)", idleRow.get(2));
    assertEquals("n/a (run without --node-metrics)", idleRow.get(4));
  }

  @Test
  void reportsWithoutAShardLabelOrMissingAreSkipped(@TempDir Path dir) throws Exception {
    Path unlabelled = dir.resolve("other.json");
    Files.writeString(unlabelled, sample(4).copy().put("label", "capacity").encode());
    MatrixReport.main(new String[] {dir.resolve("m.md").toString(), unlabelled.toString(),
      dir.resolve("absent.json").toString(), SAMPLES.resolve("shards-5.json").toString()});
    String[] lines = Files.readString(dir.resolve("m.md")).split("\n");
    assertEquals(3, lines.length);
    assertTrue(lines[2].startsWith("| 5 |"));
  }
}
