package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WireAndChartTest {

  @Test
  void receiptsSurviveTheFileBetweenProcesses(@TempDir Path dir) throws Exception {
    ConnectionRecord.Session first = new ConnectionRecord.Session(100, 200, 1001, false, ConnectionRecord.Resume.NONE,
      Long.MAX_VALUE, 0, 0);
    ConnectionRecord.Session back = new ConnectionRecord.Session(300, Long.MAX_VALUE, ConnectionRecord.NO_CODE, false,
      ConnectionRecord.Resume.RECOVERED, 310, 2, 1);
    List<ConnectionRecord> in = List.of(
      ConnectionRecord.single(7, 1, 100, Long.MAX_VALUE, new int[] {3, 1, 3}),
      ConnectionRecord.single(8, 2, Long.MAX_VALUE, Long.MAX_VALUE, new int[0]),
      new ConnectionRecord(9, 0, List.of(first, back), new int[] {4, 5, 6}, new int[] {-7, 8, 9}));
    Path file = dir.resolve("r.bin");
    Wire.writeReceipts(in, file);
    List<ConnectionRecord> out = Wire.readReceipts(file);
    assertEquals(3, out.size());
    assertEquals(7, out.get(0).id());
    assertEquals(100, out.get(0).openedAtMicros());
    assertArrayEquals(new int[] {3, 1, 3}, out.get(0).received());
    assertFalse(out.get(1).opened());
    assertEquals(List.of(first, back), out.get(2).sessions());
    assertEquals(Long.MAX_VALUE, out.get(2).closedAtMicros());
    assertArrayEquals(new int[] {-7, 8, 9}, out.get(2).receivedIds());
    assertArrayEquals(new int[0], out.get(0).receivedIds());
  }

  @Test
  void statsAndHistogramsSurviveTheWire() {
    FleetStats s = new FleetStats();
    s.planned = 10;
    s.opened = 9;
    s.received = 1234;
    s.rampDone = true;
    for (int i = 1; i <= 1000; i++) {
      s.broadcast.recordValue(i * 100L);
    }
    FleetStats back = new FleetStats();
    Wire.readStats(new JsonObject(Wire.stats(s).encode()), back);
    assertEquals(9, back.opened);
    assertEquals(1234, back.received);
    assertTrue(back.rampDone);
    Histogram h = back.broadcast;
    assertEquals(1000, h.getTotalCount());
    assertEquals(s.broadcast.getValueAtPercentile(99), h.getValueAtPercentile(99));
  }

  @Test
  void chartIsSelfContained() {
    JsonObject report = new JsonObject()
      .put("runId", "r").put("finishedAt", "now")
      .put("machine", new JsonObject()).put("options", new JsonObject()).put("connections", new JsonObject())
      .put("publish", new JsonObject()).put("deliveries", new JsonObject())
      .put("latencyMs", new JsonObject().put("all", new JsonObject()).put("targeted", new JsonObject())
        .put("broadcast", new JsonObject()))
      .put("exitCode", 0)
      .put("timeline", new io.vertx.core.json.JsonArray()
        .add(new Sample(1, "ramp", 10, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 100, 5, 50, 3).toJson())
        .add(new Sample(2, "publish", 20, 100, 2000, 1.5, 3, 9.5, 12, 110, 50, 60, 20).toJson()));
    String html = HtmlReport.render(report);
    assertTrue(html.contains("<svg"));
    assertTrue(html.contains("p99"));
    assertFalse(html.contains("<script"));
    assertFalse(html.contains("src=\"http"));
    assertFalse(html.contains("href=\"http"));
  }
}
