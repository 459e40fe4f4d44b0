package io.odin.ws.shard;

/**
 * How a shard spreads its pings over the ping interval: a tick every {@link #tickMs()}, each pinging the next
 * {@link #perTick(int)} connections, so every connection is pinged (and checked for idleness) once per interval.
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

  /** Connections to ping this tick, of {@code connections}: rounded up, so none waits longer than an interval. */
  int perTick(int connections) {
    return (int) ((connections + ticksPerInterval - 1) / ticksPerInterval);
  }
}
