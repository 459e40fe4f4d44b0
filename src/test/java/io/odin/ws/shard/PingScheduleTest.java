package io.odin.ws.shard;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PingScheduleTest {

  /** The schedule of {@code intervalMs}, checked to tick every {@code tickMs}, {@code ticks} times an interval. */
  private static PingSchedule schedule(long intervalMs, long tickMs, long ticks) {
    PingSchedule s = new PingSchedule(intervalMs);
    assertEquals(tickMs, s.tickMs());
    assertEquals(ticks, s.ticksPerInterval());
    return s;
  }

  /** Pings over one interval's ticks for {@code connections}, and the most in one tick. */
  private static int[] interval(PingSchedule s, int connections) {
    int total = 0;
    int most = 0;
    for (long t = 0; t < s.ticksPerInterval(); t++) {
      int n = s.next(connections);
      total += n;
      most = Math.max(most, n);
    }
    return new int[] {total, most};
  }

  @Test
  void theDefaultIntervalPingsAFewDozenSocketsPerTick() {
    PingSchedule s = schedule(30_000, 100, 300);
    // a shard of 7,500 connections (15,000 over 2 shards): 25 per tick, where a tenth of the interval's were 750
    assertEquals(25, s.next(7_500));
    assertEquals(67, s.next(20_000));
  }

  @Test
  void everyConnectionIsPingedExactlyOncePerIntervalWhateverTheCounts() {
    for (long interval : new long[] {1, 7, 50, 300, 999, 1_000, 5_000, 30_000, 120_000}) {
      PingSchedule s = new PingSchedule(interval);
      assertTrue(s.tickMs() >= 1 && s.tickMs() <= PingSchedule.MAX_TICK_MS, "tick of " + interval);
      assertTrue(s.tickMs() * s.ticksPerInterval() <= interval || interval < PingSchedule.MIN_TICKS,
        "the ticks of " + interval + " ms fit in the interval");
      for (int n : new int[] {0, 1, 9, 10, 11, 299, 301, 7_500, 19_500}) {
        int[] pings = interval(s, n);
        assertEquals(n, pings[0], n + " connections at " + interval + " ms");
        assertTrue(pings[1] <= Math.max(1, (n + s.ticksPerInterval() - 1) / s.ticksPerInterval()),
          "spread evenly: " + pings[1] + " in one tick for " + n + " at " + interval + " ms");
      }
    }
  }

  /** Issue 33: one socket on a shard was pinged every 100 ms tick, about 750 times in 75 s, not every 30 s. */
  @Test
  void aLoneSocketIsPingedOncePerInterval() {
    PingSchedule s = schedule(30_000, 100, 300);
    int pings = 0;
    for (int tick = 0; tick < 750; tick++) {
      pings += s.next(1);
    }
    assertEquals(3, pings, "75 s of ticks at the default interval");
  }

  @Test
  void shortIntervalsStillSliceTheSweep() {
    PingSchedule s = schedule(300, 30, 10);
    assertEquals(1, s.next(10));
  }

  @Test
  void aNonPositiveIntervalIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new PingSchedule(0));
  }
}
