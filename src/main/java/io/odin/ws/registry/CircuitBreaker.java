package io.odin.ws.registry;

import java.util.function.LongSupplier;

/**
 * A small circuit breaker in front of Redis. Closed: calls go through; {@code failureThreshold} consecutive
 * failures open it. Open: calls are refused at once (dispatch falls back without waiting for a dead Redis);
 * every {@code probeIntervalMillis} one probe may go through (half-open). A successful probe closes it, a failed
 * one opens it again. Thread-safe: lookups report from dispatcher event loops, writes from the registry's.
 */
public final class CircuitBreaker {

  public enum State { CLOSED, OPEN, HALF_OPEN }

  private final int failureThreshold;
  private final long probeIntervalMillis;
  private final LongSupplier clock;

  private volatile State state = State.CLOSED;
  private int failures;
  private long openedAt;
  private long opened;

  public CircuitBreaker(int failureThreshold, long probeIntervalMillis, LongSupplier clockMillis) {
    if (failureThreshold < 1) {
      throw new IllegalArgumentException("failureThreshold must be at least 1");
    }
    this.failureThreshold = failureThreshold;
    this.probeIntervalMillis = probeIntervalMillis;
    this.clock = clockMillis;
  }

  /** True when calls may go to Redis (closed). Lock-free: read on every lookup. */
  public boolean allowRequest() {
    return state == State.CLOSED;
  }

  /** When open and the probe interval passed: moves to half-open and returns true; the caller sends one probe. */
  public synchronized boolean tryProbe() {
    if (state == State.OPEN && clock.getAsLong() - openedAt >= probeIntervalMillis) {
      state = State.HALF_OPEN;
      return true;
    }
    return false;
  }

  /** A call or probe succeeded. Returns true when this closed the breaker (Redis is back). */
  public synchronized boolean onSuccess() {
    failures = 0;
    if (state != State.CLOSED) {
      state = State.CLOSED;
      return true;
    }
    return false;
  }

  /** A call or probe failed. Returns true when this opened a closed breaker. */
  public synchronized boolean onFailure() {
    failures++;
    if (state == State.HALF_OPEN) {
      state = State.OPEN;
      openedAt = clock.getAsLong();
      return false;
    }
    if (state == State.CLOSED && failures >= failureThreshold) {
      state = State.OPEN;
      openedAt = clock.getAsLong();
      opened++;
      return true;
    }
    return false;
  }

  public State state() {
    return state;
  }

  public synchronized int consecutiveFailures() {
    return failures;
  }

  /** How many times the breaker opened since start. */
  public synchronized long timesOpened() {
    return opened;
  }
}
