package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SweepReportTest {

  static SweepReport.Point point(int shards, String kind, double perSecond, double p99) {
    JsonObject r = new JsonObject()
      .put("label", "shards=" + shards + " kind=" + kind)
      .put("machine", new JsonObject().put("cores", 2))
      .put("connections", new JsonObject().put("opened", 100))
      .put("publish", new JsonObject().put("achievedRate", 10.0))
      .put("deliveries", new JsonObject().put("perSecond", perSecond).put("expected", 5).put("received", 5))
      .put("latencyMs", new JsonObject().put("all", new JsonObject().put("count", 10).put("p50", 1.0)
        .put("p99", p99).put("max", 9.0)))
      .put("verification", new JsonObject().put("ok", true).put("violations", 0).put("counts", new JsonObject()));
    return new SweepReport.Point(shards, kind, r);
  }

  @Test
  void tableComparesEachShardCountWithTheBest() {
    String table = SweepReport.table(List.of(point(2, "targeted", 1000, 5), point(1, "targeted", 800, 4),
      point(1, "broadcast", 500, 9)));
    String[] lines = table.split("\n");
    assertEquals(5, lines.length);
    assertTrue(lines[2].startsWith("| targeted | 1 |") && lines[2].contains("| 80.0% |"), table);
    assertTrue(lines[3].startsWith("| targeted | 2 |") && lines[3].contains("| 100.0% |"), table);
    assertTrue(lines[4].startsWith("| broadcast | 1 |"), table);
  }

  @Test
  void repeatedPointsKeepTheBestRun() {
    String table = SweepReport.table(List.of(point(1, "targeted", 800, 4), point(1, "targeted", 950, 4),
      point(1, "targeted", 700, 4)));
    String[] lines = table.split("\n");
    assertEquals(3, lines.length);
    assertTrue(lines[2].contains("| 950 |") && lines[2].contains("| 3 |"), table);
  }

  @Test
  void labelsAndChart() {
    assertEquals("4", SweepReport.parseLabel(" shards=4  kind=broadcast ").get("shards"));
    String html = SweepReport.html(List.of(point(1, "targeted", 1000, 5), point(8, "targeted", 990, 6)), "t");
    assertTrue(html.contains("<svg") && !html.contains("<script"));
  }
}
