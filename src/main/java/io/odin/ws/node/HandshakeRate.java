package io.odin.ws.node;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * How many WebSocket handshakes the node starts per second ({@code ws.maxHandshakesPerSecond}), shared by its shards:
 * a reconnect storm (a drained node's clients, a load balancer restarted) would otherwise put every JWT check,
 * registry write and history read of thousands of clients on the shards' event loops within a second, and the
 * deliveries to the clients already connected would wait behind them.
 * <p>A generic cell rate algorithm (one atomic, no lock, no timer): one handshake per {@code 1/rate} seconds on
 * average, and up to one second's worth at once. A refused handshake is told when to come back: refusals are
 * lined up behind each other at the admission rate, so the clients of a storm that follow {@code Retry-After}
 * return spread over the seconds the node needs for them instead of all together again.
 */
public final class HandshakeRate {

  /** The longest {@code Retry-After} given, in seconds: a line that long is an overload, not a storm. */
  public static final long MAX_RETRY_AFTER_SECONDS = 60;

  private static final long SECOND = 1_000_000_000L;

  private final long intervalNanos;
  private final long burstNanos;
  private final LongSupplier nanoClock;
  /** When the bucket is empty again (the theoretical arrival time of the next handshake at the full rate). */
  private final AtomicLong full;
  /** Where the line of refused handshakes ends: the next refused one is told to come back then. */
  private final AtomicLong line;

  /** {@code perSecond} handshakes a second, on the JVM's monotonic clock. */
  public HandshakeRate(int perSecond) {
    this(perSecond, System::nanoTime);
  }

  HandshakeRate(int perSecond, LongSupplier nanoClock) {
    if (perSecond <= 0) {
      throw new IllegalArgumentException("perSecond must be positive, got " + perSecond);
    }
    this.intervalNanos = Math.max(1, SECOND / perSecond);
    // one second's worth may come at once (the first handshakes of a storm go through without waiting)
    this.burstNanos = SECOND - intervalNanos;
    this.nanoClock = nanoClock;
    long now = nanoClock.getAsLong();
    this.full = new AtomicLong(now - SECOND);
    this.line = new AtomicLong(now - SECOND);
  }

  /**
   * Takes a handshake's turn: 0 when it may go on now, else the whole seconds (at least 1, at most
   * {@link #MAX_RETRY_AFTER_SECONDS}) after which the client should try again.
   */
  public long tryAdmit() {
    long now = nanoClock.getAsLong();
    while (true) {
      long tat = full.get();
      long start = Math.max(tat, now);
      if (start - now > burstNanos) {
        return refuse(now, tat - burstNanos);
      }
      if (full.compareAndSet(tat, start + intervalNanos)) {
        return 0;
      }
    }
  }

  /**
   * A refused handshake's place in the line: one admission interval after the one refused before it, and not before
   * {@code room}, when the bucket admits again.
   */
  private long refuse(long now, long room) {
    long cap = now + MAX_RETRY_AFTER_SECONDS * SECOND;
    while (true) {
      long end = line.get();
      long turn = Math.min(cap, Math.max(end + intervalNanos, room));
      if (line.compareAndSet(end, turn)) {
        long seconds = (turn - now + SECOND - 1) / SECOND;
        return Math.max(1, Math.min(MAX_RETRY_AFTER_SECONDS, seconds));
      }
    }
  }
}
