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

  @Test
  void theDefaultIntervalPingsAFewDozenSocketsPerTick() {
    PingSchedule s = schedule(30_000, 100, 300);
    // a shard of 7,500 connections (15,000 over 2 shards): 25 per tick, where a tenth of the interval's were 750
    assertEquals(25, s.perTick(7_500));
    assertEquals(67, s.perTick(20_000));
  }

  @Test
  void everyConnectionIsPingedOncePerIntervalWhateverTheCounts() {
    for (long interval : new long[] {1, 7, 50, 300, 999, 1_000, 5_000, 30_000, 120_000}) {
      PingSchedule s = new PingSchedule(interval);
      assertTrue(s.tickMs() >= 1 && s.tickMs() <= PingSchedule.MAX_TICK_MS, "tick of " + interval);
      assertTrue(s.tickMs() * s.ticksPerInterval() <= interval || interval < PingSchedule.MIN_TICKS,
        "the ticks of " + interval + " ms fit in the interval");
      for (int n : new int[] {0, 1, 9, 10, 11, 299, 301, 7_500, 19_500}) {
        int per = s.perTick(n);
        assertTrue((long) per * s.ticksPerInterval() >= n, n + " connections at " + interval + " ms");
        assertTrue(per <= n, "never more than there are");
      }
    }
  }

  @Test
  void shortIntervalsStillSliceTheSweep() {
    assertEquals(1, schedule(300, 30, 10).perTick(10));
  }

  @Test
  void aNonPositiveIntervalIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new PingSchedule(0));
  }
}
