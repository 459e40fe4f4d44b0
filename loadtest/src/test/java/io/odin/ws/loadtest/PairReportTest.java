package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PairReportTest {

  /** A report with one phase per {rate, delivered/s, p99 ms, server CPU %}. */
  static JsonObject report(double[]... phases) {
    JsonArray out = new JsonArray();
    for (double[] p : phases) {
      out.add(new JsonObject().put("rate", p[0]).put("deliveredPerSecond", p[1])
        .put("latencyMs", new JsonObject().put("count", 10).put("p50", p[2] / 2).put("p99", p[2]))
        .put("cpuPct", new JsonObject().put("server", p[3]).put("tool", 40.0).put("other", 20.0)));
    }
    return new JsonObject().put("phases", out)
      .put("machine", new JsonObject().put("loadAverageAtStart", 1.5).put("loadAverageAtEnd", 2.0));
  }

  @Test
  void readsThePairsOfADirectoryWithoutTheWarmUpPhase(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("pair-1-floor.json"), report(new double[] {5000, 5000, 900, 50},
      new double[] {5000, 5000, 20, 10}, new double[] {10000, 10000, 40, 20}).encode());
    Files.writeString(dir.resolve("pair-1-odin.json"), report(new double[] {5000, 5000, 900, 50},
      new double[] {5000, 5000, 25, 12}, new double[] {10000, 9000, 80, 27}).encode());
    Files.writeString(dir.resolve("pair-2-floor.json"), report(new double[] {5000, 5000, 1, 1}).encode());
    Files.writeString(dir.resolve("other.json"), "{}");

    List<PairReport.Pair> pairs = PairReport.read(dir, 1);

    // pair 2 has no odin-ws run: not a pair
    assertEquals(1, pairs.size());
    PairReport.Pair p = pairs.get(0);
    assertNull(p.http());
    assertEquals(2, p.floor().size());
    assertEquals(5000, p.floor().get(0).rate());
    // 12 % of a core at 5,000/s: 24 µs per delivery; 27 % at 9,000/s: 30 µs
    assertEquals(24.0, p.odin().get(0).cpuMicrosPerDelivery(), 1e-9);
    assertEquals(30.0, p.odin().get(1).cpuMicrosPerDelivery(), 1e-9);
  }

  @Test
  void summaryCountsThePairsThatMeetEachGoal() {
    PairReport.Phase floor5k = new PairReport.Phase(5000, 5000, 5, 20, 10);
    PairReport.Phase floor20k = new PairReport.Phase(20000, 20000, 10, 200, 40);
    List<PairReport.Pair> pairs = List.of(
      new PairReport.Pair(1, List.of(floor5k, floor20k),
        List.of(new PairReport.Phase(5000, 5000, 6, 25, 11), new PairReport.Phase(20000, 19500, 12, 400, 50)),
        List.of(new PairReport.Phase(5000, 5000, 4, 15, 10), new PairReport.Phase(20000, 20000, 8, 100, 44)), "1→1"),
      new PairReport.Pair(2, List.of(floor5k, floor20k),
        List.of(new PairReport.Phase(5000, 5000, 6, 40, 13), new PairReport.Phase(20000, 18000, 12, 400, 50)),
        null, "1→1"));

    String summary = PairReport.summary(pairs);

    // 5,000/s: p99 1.25x and 2.00x the floor's, CPU per delivery 1.10x and 1.30x, Kafka 1.10x HTTP's in pair 1
    assertTrue(summary.contains("5000/s: p99× 1.25 2.00 (1 of 2 ≤ 1.5); µs× 1.10 1.30 (1 ≤ 1.2)"), summary);
    assertTrue(summary.contains("kafka/http µs× 1.10 - (1 ≤ 1.15)"), summary);
    // 20,000/s: delivered 0.975x and 0.90x the floor's
    assertTrue(summary.contains("rate× 0.98 0.90 (1 ≥ 0.95)"), summary);
    String table = PairReport.render(pairs);
    assertTrue(table.contains("pair 2 (load average floor, odin-ws: 1→1)"), table);
  }
}
