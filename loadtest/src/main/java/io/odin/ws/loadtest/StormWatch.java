package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * What a reconnect storm (--storm) did to the clients that stayed connected, second by second as the run samples its
 * fleets: the latency of live deliveries (replays apart) in the {@link #AROUND_SECONDS} before the storm, from its start
 * until every connection closed since was open again, and in the {@link #AROUND_SECONDS} after; how long that took, as
 * the samples saw it; and how many handshakes met a 503 with Retry-After meanwhile. Plain Java; the caller
 * synchronises.
 */
final class StormWatch {

  static final int AROUND_SECONDS = 20;
  /** A storm whose connections are not all back by then is reported as such. */
  static final long GIVE_UP_NANOS = 600_000_000_000L;

  private enum State { DURING, AFTER, DONE }

  private static final class Storm {
    final String what;
    final long atNanos;
    final double atSeconds;
    final long closedBefore;
    final long reopenedBefore;
    final long rateLimitedBefore;
    final Histogram before = FleetStats.newHistogram();
    final Histogram during = FleetStats.newHistogram();
    final Histogram after = FleetStats.newHistogram();
    State state = State.DURING;
    long allBackNanos = -1;
    long rateLimited;
    int afterSeconds;

    Storm(String what, long atNanos, double atSeconds, long closed, long reopened, long rateLimited) {
      this.what = what;
      this.atNanos = atNanos;
      this.atSeconds = atSeconds;
      this.closedBefore = closed;
      this.reopenedBefore = reopened;
      this.rateLimitedBefore = rateLimited;
    }
  }

  private final ArrayDeque<Histogram> lastSeconds = new ArrayDeque<>();
  private final List<Storm> storms = new ArrayList<>();

  /** A storm begins now: its "before" is the last {@link #AROUND_SECONDS} of samples. */
  void begin(String what, long nowNanos, double atSeconds, long closed, long reopened, long rateLimited) {
    Storm s = new Storm(what, nowNanos, atSeconds, closed, reopened, rateLimited);
    for (Histogram h : lastSeconds) {
      s.before.add(h);
    }
    storms.add(s);
  }

  /**
   * One second of the run: the live deliveries' latency recorded in it, and the fleets' cumulative counts of closed
   * sessions, reconnects and rate-limited handshakes.
   */
  void sample(long nowNanos, Histogram interval, long closed, long reopened, long rateLimited) {
    for (Storm s : storms) {
      switch (s.state) {
        case DURING -> {
          s.during.add(interval);
          long gone = closed - s.closedBefore;
          long back = reopened - s.reopenedBefore;
          if (gone > 0 && back >= gone) {
            s.state = State.AFTER;
            s.allBackNanos = nowNanos;
            s.rateLimited = rateLimited - s.rateLimitedBefore;
          } else if (nowNanos - s.atNanos > GIVE_UP_NANOS) {
            s.state = State.DONE;
            s.rateLimited = rateLimited - s.rateLimitedBefore;
          }
        }
        case AFTER -> {
          s.after.add(interval);
          if (++s.afterSeconds >= AROUND_SECONDS) {
            s.state = State.DONE;
          }
        }
        default -> { }
      }
    }
    lastSeconds.addLast(interval.copy());
    while (lastSeconds.size() > AROUND_SECONDS) {
      lastSeconds.removeFirst();
    }
  }

  JsonArray report(long nowNanos, long rateLimitedNow) {
    JsonArray out = new JsonArray();
    for (Storm s : storms) {
      JsonObject j = new JsonObject().put("what", s.what).put("atSeconds", Sample.round(s.atSeconds, 3));
      if (s.allBackNanos >= 0) {
        // as the once-a-second samples saw it: the connections' own times are in reconnects.events
        j.put("allBackWithinSeconds", Sample.round((s.allBackNanos - s.atNanos) / 1e9, 1));
      } else {
        j.put("allBackWithinSeconds", null).put("notAllBackAfterSeconds", Sample.round((nowNanos - s.atNanos) / 1e9, 1));
      }
      j.put("rateLimited", s.state == State.DURING ? rateLimitedNow - s.rateLimitedBefore : s.rateLimited);
      j.put("liveLatencyMs", new JsonObject()
        .put("before", LoadTest.latency(s.before))
        .put("during", LoadTest.latency(s.during))
        .put("after", LoadTest.latency(s.after)));
      Double before = p99(s.before);
      Double during = p99(s.during);
      if (before != null && during != null && before > 0) {
        j.put("p99DuringOverBefore", Sample.round(during / before, 2));
      }
      out.add(j);
    }
    return out;
  }

  private static Double p99(Histogram h) {
    return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(99) / 1000.0;
  }
}
