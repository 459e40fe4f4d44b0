package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The soak's arithmetic: slopes, process lifetimes, p99 from merged histogram intervals, the report's tables. */
class SoakReportTest {

  @Test
  void slopeIsPerHourWithItsError() {
    List<double[]> points = new ArrayList<>();
    for (int i = 0; i <= 60; i++) {
      // 100 MiB growing 12 MiB an hour, sampled every minute, with a saw of ±1
      points.add(new double[] {i * 60_000.0, 100 + 12 * i / 60.0 + (i % 2 == 0 ? 1 : -1)});
    }
    SoakReport.Slope s = SoakReport.slope(points);
    assertEquals(12, s.perHour(), 0.2);
    assertTrue(s.stdErr() > 0 && s.stdErr() < 1, "error " + s.stdErr());
    assertEquals(61, s.points());
    assertNull(SoakReport.slope(points.subList(0, 2)), "two points are no trend");
  }

  @Test
  void aRestartStartsANewProcessSegmentAndTheLongestGivesTheNodesSlope() {
    List<JsonObject> samples = new ArrayList<>();
    long t0 = 1_000_000_000L;
    for (int i = 0; i < 100; i++) {
      long t = t0 + i * 10_000L;
      // node-0: flat at 200 MiB; node-1: restarted at sample 30, each life growing from 100 MiB (a JVM warming up)
      samples.add(new JsonObject().put("t", t).put("node", "node-0").put("pid", 10).put("rssKiB", 200 * 1024));
      int life = i < 30 ? i : i - 30;
      samples.add(new JsonObject().put("t", t).put("node", "node-1").put("pid", i < 30 ? 11 : 12)
        .put("rssKiB", (100 + life) * 1024));
      samples.add(new JsonObject().put("t", t).put("node", "cluster").put("registryEntries", 1000).put("connections", 1000));
    }
    SoakReport report = new SoakReport(samples, List.of(), null, 60_000, 300_000);
    JsonObject json = report.summary();
    JsonObject node0 = json.getJsonObject("nodes").getJsonObject("node-0");
    assertEquals(1, node0.getInteger("processes"));
    assertEquals(0, node0.getJsonObject("series").getJsonObject("rssKiB").getDouble("slopePerHour"), 1e-9);
    JsonObject node1 = json.getJsonObject("nodes").getJsonObject("node-1");
    assertEquals(2, node1.getInteger("processes"));
    // 1 MiB per 10 s sample = 360 MiB an hour, over the 70-sample life after its first minute
    assertEquals(360, node1.getJsonObject("series").getJsonObject("rssKiB").getDouble("slopePerHour"), 1e-6);
    assertEquals(0, json.getJsonObject("cluster").getJsonObject("registryEntries").getDouble("slopePerHour"), 1e-9);
    String table = report.table(json);
    assertTrue(table.contains("| Resident memory | MiB | +0.00 ± 0.00 (200 → 200) | +360.00 ± 0.00 (106 → 169) |"), table);
    String html = report.html(json);
    assertTrue(html.contains("<svg") && html.contains("Registry entries"), "charts rendered");
  }

  @Test
  void p99ComesFromTheIntervalsMergedPerPhase() {
    List<JsonObject> samples = new ArrayList<>();
    long t0 = 1_000_000_000L;
    for (int i = 1; i <= 30; i++) {
      long t = t0 + i * 10_000L;
      boolean drained = i > 10 && i <= 20;
      // 100 deliveries per interval: steady ones within 10 ms, during the drain 5 of 100 take up to 0.5 s
      JsonObject b = new JsonObject().put("0.01", drained ? 95.0 : 100.0).put("0.5", 100.0).put("+Inf", 100.0);
      samples.add(new JsonObject().put("t", t).put("node", "node-0").put("pid", 1).put("latencyBuckets", b));
    }
    List<JsonObject> events = List.of(
      new JsonObject().put("t", t0 + 100_000L).put("event", "drain").put("node", "node-1"),
      new JsonObject().put("t", t0 + 170_000L).put("event", "restarted").put("node", "node-1"));
    JsonObject json = new SoakReport(samples, events, null, 0, 100_000).summary();
    assertEquals(10.0, json.getJsonObject("p99MsByPhase").getDouble("steady"));
    assertEquals(500.0, json.getJsonObject("p99MsByPhase").getDouble("drainAndRestart"));
    assertEquals(3, json.getJsonArray("p99MsByWindow").size());
    assertEquals(500.0, json.getJsonArray("p99MsByWindow").getJsonObject(1).getDouble("p99Ms"));
  }

  @Test
  void prometheusTextAndHistogramQuantiles() {
    PrometheusText t = new PrometheusText(String.join("\n",
      "# HELP x", "odin_ws_connections{shard=\"odin.shard.n.0\"} 3.0", "odin_ws_connections{shard=\"odin.shard.n.1\"} 4.0",
      "jvm_memory_max_bytes{area=\"heap\",id=\"G1 Old Gen\"} 1.073741824E9",
      "odin_delivery_latency_seconds_bucket{le=\"0.001\"} 10.0", "odin_delivery_latency_seconds_bucket{le=\"0.01\"} 90.0",
      "odin_delivery_latency_seconds_bucket{le=\"+Inf\"} 100.0", "bad line"));
    assertEquals(7.0, t.sum("odin_ws_connections"));
    assertEquals(1.073741824E9, t.sum("jvm_memory_max_bytes", "area", "heap", "id", "G1 Old Gen"));
    assertTrue(Double.isNaN(t.sum("absent")));
    TreeMap<Double, Double> after = t.buckets("odin_delivery_latency_seconds");
    TreeMap<Double, Double> before = new TreeMap<>(java.util.Map.of(0.001, 10.0, 0.01, 80.0, Double.POSITIVE_INFINITY, 80.0));
    // between the reads: 10 in (1 ms, 10 ms], 10 above: the p99 is above the largest bound, the median within 10 ms
    assertEquals(Double.POSITIVE_INFINITY, PrometheusText.quantile(before, after, 0.99));
    assertEquals(0.01, PrometheusText.quantile(before, after, 0.5));
    assertTrue(Double.isNaN(PrometheusText.quantile(after, after, 0.99)), "nothing recorded");
  }
}
