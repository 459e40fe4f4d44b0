package io.odin.ws.logging;

import org.slf4j.Logger;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * Writes at most one WARN line per reason per interval, never a stack trace, and says how many lines of that
 * reason it held back, so a stream of bad input (malformed requests, bad Kafka records) cannot flood the log or
 * slow the node down writing it. Callers count every occurrence in a metric; the log only says it is happening.
 * Thread-safe (reasons are a small fixed set of words).
 */
public final class RateLimitedLog {

  private final Logger log;
  private final long intervalMillis;
  private final LongSupplier clock;
  private final ConcurrentMap<String, Slot> slots = new ConcurrentHashMap<>();

  public RateLimitedLog(Logger log, long intervalMillis) {
    this(log, intervalMillis, System::currentTimeMillis);
  }

  RateLimitedLog(Logger log, long intervalMillis, LongSupplier clock) {
    this.log = log;
    this.intervalMillis = intervalMillis;
    this.clock = clock;
  }

  /**
   * One occurrence of {@code reason}; logged when no line of that reason was written in the last interval.
   * Throwable arguments are written as their {@code toString()}, never as a stack trace.
   *
   * @return true when a line was written
   */
  public boolean warn(String reason, String format, Object... args) {
    Slot slot = slots.computeIfAbsent(reason, r -> new Slot(clock.getAsLong() - intervalMillis));
    long suppressed;
    synchronized (slot) {
      long now = clock.getAsLong();
      if (now - slot.lastMillis < intervalMillis) {
        slot.suppressed++;
        return false;
      }
      slot.lastMillis = now;
      suppressed = slot.suppressed;
      slot.suppressed = 0;
    }
    Object[] safe = new Object[args.length];
    for (int i = 0; i < args.length; i++) {
      safe[i] = args[i] instanceof Throwable ? describe((Throwable) args[i]) : args[i];
    }
    String line = suppressed > 0 ? format + " ({} more like this in the last {} s)" : format;
    if (suppressed > 0) {
      Object[] more = java.util.Arrays.copyOf(safe, safe.length + 2);
      more[safe.length] = suppressed;
      more[safe.length + 1] = intervalMillis / 1000;
      safe = more;
    }
    log.warn(line, safe);
    return true;
  }

  /** A throwable on one line: its class and message, without the stack. */
  public static String describe(Throwable t) {
    String message = t.getMessage();
    if (message != null) {
      int cut = message.indexOf('\n');
      if (cut >= 0) {
        message = message.substring(0, cut);
      }
    }
    return t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  private static final class Slot {
    long lastMillis;
    long suppressed;

    Slot(long lastMillis) {
      this.lastMillis = lastMillis;
    }
  }
}
