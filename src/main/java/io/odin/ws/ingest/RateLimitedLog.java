package io.odin.ws.ingest;

import org.slf4j.Logger;

/**
 * Logs at most one line per interval and says how many it held back, so a stream of bad records cannot flood
 * the log (they are all counted in metrics). Used on one event loop.
 */
final class RateLimitedLog {

  private final Logger log;
  private final long intervalMillis;
  private long lastMillis;
  private long suppressed;

  RateLimitedLog(Logger log, long intervalMillis) {
    this.log = log;
    this.intervalMillis = intervalMillis;
    this.lastMillis = -intervalMillis;
  }

  void warn(String format, Object... args) {
    long now = System.currentTimeMillis();
    if (now - lastMillis < intervalMillis) {
      suppressed++;
      return;
    }
    lastMillis = now;
    if (suppressed > 0) {
      log.warn("({} similar lines suppressed) " + format, prepend(suppressed, args));
      suppressed = 0;
    } else {
      log.warn(format, args);
    }
  }

  private static Object[] prepend(long n, Object[] args) {
    Object[] out = new Object[args.length + 1];
    out[0] = n;
    System.arraycopy(args, 0, out, 1, args.length);
    return out;
  }
}
