package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.util.Map;
import java.util.TreeMap;

/**
 * The latency of live deliveries and the deliveries per window of fixed length (--window, e.g. 5 minutes of an hour's
 * soak), from the run's once-a-second samples: whether the tail stays where it was as the hours go by. Plain Java; the
 * caller synchronises.
 */
final class LiveWindows {

  private record Window(Histogram latency, long[] deliveries) {
  }

  private final long windowNanos;
  private final long startNanos;
  private final TreeMap<Long, Window> windows = new TreeMap<>();
  private long lastReceived = -1;

  LiveWindows(long windowMillis, long startNanos) {
    this.windowNanos = windowMillis * 1_000_000L;
    this.startNanos = startNanos;
  }

  /** One sample: the latency recorded since the previous one, and the deliveries received so far. */
  void add(long nowNanos, Histogram interval, long received) {
    Window w = windows.computeIfAbsent(Math.max(0, nowNanos - startNanos) / windowNanos,
      k -> new Window(FleetStats.newHistogram(), new long[1]));
    w.latency.add(interval);
    if (lastReceived >= 0) {
      w.deliveries[0] += received - lastReceived;
    }
    lastReceived = received;
  }

  JsonArray report() {
    JsonArray out = new JsonArray();
    for (Map.Entry<Long, Window> e : windows.entrySet()) {
      long from = e.getKey() * windowNanos / 1_000_000_000L;
      out.add(new JsonObject().put("fromSeconds", from).put("toSeconds", from + windowNanos / 1_000_000_000L)
        .put("delivered", e.getValue().deliveries[0]).put("latencyMs", LoadTest.latency(e.getValue().latency)));
    }
    return out;
  }
}
