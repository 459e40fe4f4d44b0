package io.odin.ws.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns Netty's warning for a failed accept (at the open-file limit: one WARN with a stack trace per second per
 * listening socket, from the tail of the server channel's pipeline) into one line without a stack trace at most
 * every 10 s, and counts every failure ({@code odin_ws_accept_errors_total}). Installed in logback.xml; a
 * custom logback configuration should keep the {@code <turboFilter>} line. The WebSocket port's own acceptor
 * (shard.ShardListener) reports its failures here directly.
 */
public final class AcceptErrorLog extends TurboFilter {

  /** The logger Netty reports unhandled exceptions of a channel's pipeline with, the server channel's included. */
  static final String NETTY_PIPELINE_LOGGER = "io.netty.channel.DefaultChannelPipeline";
  static final long INTERVAL_MILLIS = 10_000;

  private static final AtomicLong FAILURES = new AtomicLong();
  private static final AtomicLong LAST_LOGGED = new AtomicLong(Long.MIN_VALUE / 2);
  private static final AtomicLong SINCE_LOGGED = new AtomicLong();
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(AcceptErrorLog.class);

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (t == null || !NETTY_PIPELINE_LOGGER.equals(logger.getName()) || !isAcceptFailure(t)) {
      return FilterReply.NEUTRAL;
    }
    record(t, System.currentTimeMillis());
    return FilterReply.DENY;
  }

  /** Counts a failure and logs one line when the last one is older than {@link #INTERVAL_MILLIS}. */
  public static void record(Throwable t, long nowMillis) {
    FAILURES.incrementAndGet();
    long since = SINCE_LOGGED.incrementAndGet();
    long last = LAST_LOGGED.get();
    if (nowMillis - last >= INTERVAL_MILLIS && LAST_LOGGED.compareAndSet(last, nowMillis)) {
      SINCE_LOGGED.addAndGet(-since);
      log.warn("cannot accept connections: {} ({} failure(s) since the last report; Netty retries every second;"
        + " see ws.maxConnections and the open-file limit, ulimit -n)", t.getMessage(), since);
    }
  }

  public static boolean isAcceptFailure(Throwable t) {
    // epoll: NativeIoException "accept(..) failed: Too many open files"; NIO: IOException "Too many open files"
    return t instanceof IOException && t.getMessage() != null
      && (t.getMessage().contains("accept") || t.getMessage().contains("open files"));
  }

  /** Accept failures seen by this process. */
  public static long count() {
    return FAILURES.get();
  }
}
