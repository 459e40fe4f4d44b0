package io.odin.ws.shard;

/**
 * How a shard spreads its pings over the ping interval: a tick every {@link #tickMs()}, each pinging the next
 * {@link #next(int)} connections, so every connection is pinged (and checked for idleness) once per interval, and
 * only once: a shard with fewer connections than ticks pings one on some ticks and none on the others (rounding
 * each tick up pinged a lone socket every tick, 300 times per interval).
 * Each ping is a write syscall (on loopback it also does the receiver's work), so a tick's slice is what a
 * delivery arriving at that moment waits behind: ticks are at most {@value #MAX_TICK_MS} ms apart, which keeps a
 * slice to a few dozen sockets (25 of 7,500 at the default 30 s) instead of a tenth of the shard.
 */
final class PingSchedule {

  static final long MAX_TICK_MS = 100;
  /** At least this many ticks per interval, however short the interval (tests use a few hundred ms). */
  static final long MIN_TICKS = 10;

  private final long tickMs;
  private final long ticksPerInterval;
  /** Ticks since the interval began, 0 to ticksPerInterval - 1. */
  private long tick;

  PingSchedule(long intervalMs) {
    if (intervalMs <= 0) {
      throw new IllegalArgumentException("ping interval must be positive: " + intervalMs);
    }
    tickMs = Math.max(1, Math.min(intervalMs / MIN_TICKS, MAX_TICK_MS));
    ticksPerInterval = Math.max(1, intervalMs / tickMs);
  }

  long tickMs() {
    return tickMs;
  }

  long ticksPerInterval() {
    return ticksPerInterval;
  }

  /**
   * Connections to ping on the next tick, of {@code connections}: tick k of an interval takes the share between
   * ceil(k n / T) and ceil((k + 1) n / T), so the T ticks of an interval add up to n exactly (while n holds).
   */
  int next(int connections) {
    long k = tick;
    tick = k + 1 == ticksPerInterval ? 0 : k + 1;
    return (int) (ceilDiv((k + 1) * connections, ticksPerInterval) - ceilDiv(k * connections, ticksPerInterval));
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
