package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The storm's and the windows' accounting, second by second. */
class StormWatchTest {

  private static Histogram ms(long millis, int count) {
    Histogram h = FleetStats.newHistogram();
    h.recordValueWithCount(millis * 1000, count);
    return h;
  }

  @Test
  void beforeDuringAndAfterTheStormAndWhenAllWereBack() {
    StormWatch w = new StormWatch();
    long s = 1_000_000_000L;
    for (int i = 0; i < 30; i++) {
      w.sample(s * i, ms(10, 100), 0, 0, 0);
    }
    w.begin("storm", s * 30, 30, 0, 0, 0);
    // 500 close at once; 200 back a second (Retry-After for the others); live deliveries slow down to 25 ms meanwhile
    w.sample(s * 31, ms(25, 100), 500, 100, 300);
    w.sample(s * 32, ms(25, 100), 500, 300, 350);
    w.sample(s * 33, ms(25, 100), 500, 500, 360);
    for (int i = 34; i < 60; i++) {
      w.sample(s * i, ms(12, 100), 500, 500, 360);
    }
    JsonObject storm = w.report(s * 60, 360).getJsonObject(0);
    assertEquals(3.0, storm.getDouble("allBackWithinSeconds"));
    assertEquals(360, storm.getLong("rateLimited"));
    JsonObject lat = storm.getJsonObject("liveLatencyMs");
    assertEquals(StormWatch.AROUND_SECONDS * 100L, lat.getJsonObject("before").getLong("count"));
    assertEquals(10.0, lat.getJsonObject("before").getDouble("p99"), 0.1);
    assertEquals(300, lat.getJsonObject("during").getLong("count"));
    assertEquals(25.0, lat.getJsonObject("during").getDouble("p99"), 0.1);
    assertEquals(StormWatch.AROUND_SECONDS * 100L, lat.getJsonObject("after").getLong("count"));
    assertEquals(2.5, storm.getDouble("p99DuringOverBefore"), 0.01);
  }

  @Test
  void aStormNotOverByTheEndSaysSo() {
    StormWatch w = new StormWatch();
    w.begin("storm", 0, 5, 10, 10, 0);
    w.sample(1_000_000_000L, ms(5, 10), 510, 200, 40);
    JsonObject storm = w.report(2_000_000_000L, 50).getJsonObject(0);
    assertNull(storm.getValue("allBackWithinSeconds"));
    assertEquals(2.0, storm.getDouble("notAllBackAfterSeconds"));
    assertEquals(50, storm.getLong("rateLimited"));
  }

  @Test
  void windowsCountTheirOwnSeconds() {
    LiveWindows w = new LiveWindows(10_000, 0);
    long received = 0;
    for (int i = 1; i <= 25; i++) {
      received += 100;
      w.add(i * 1_000_000_000L, ms(i < 10 ? 5 : 50, 100), received);
    }
    JsonArray windows = w.report();
    assertEquals(3, windows.size());
    assertEquals(0, windows.getJsonObject(0).getLong("fromSeconds"));
    assertEquals(900, windows.getJsonObject(0).getJsonObject("latencyMs").getLong("count"));
    assertEquals(5.0, windows.getJsonObject(0).getJsonObject("latencyMs").getDouble("p99"), 0.1);
    assertEquals(50.0, windows.getJsonObject(1).getJsonObject("latencyMs").getDouble("p99"), 0.1);
    assertEquals(1000, windows.getJsonObject(1).getLong("delivered"));
  }
}
