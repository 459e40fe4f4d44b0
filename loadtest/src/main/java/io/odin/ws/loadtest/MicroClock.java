package io.odin.ws.loadtest;

import java.time.Instant;

/**
 * Wall-clock time in microseconds since the epoch, cheap to read: one {@link System#nanoTime()} plus an
 * offset taken once per process. The publisher stamps messages with it and every receiving process (children
 * included, all on this machine) compares against it, so latency is end to end across processes.
 */
public final class MicroClock {

  private static final long BASE_EPOCH_MICROS;
  private static final long BASE_NANOS;

  static {
    Instant now = Instant.now();
    BASE_NANOS = System.nanoTime();
    BASE_EPOCH_MICROS = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  private MicroClock() {
  }

  public static long nowMicros() {
    return BASE_EPOCH_MICROS + (System.nanoTime() - BASE_NANOS) / 1_000;
  }
}
