package io.odin.ws.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What Hazelcast logs about its port, made safe for a port anyone on the network can reach: a connection that
 * never identified itself as a member (garbage, an HTTP request, a port scanner) is one WARN line at most every
 * 10 s, without a stack trace, and counted ({@code odin_cluster_bad_connections_total}); Hazelcast wrote a WARN
 * with a stack trace per connection. And the line where Hazelcast states its cluster name at start is dropped:
 * that name is derived from {@code cluster.secret} and is all Hazelcast checks at join (docs/security.md).
 * Installed in logback.xml; a custom Logback configuration should keep the {@code <turboFilter>} line.
 */
public final class ClusterPortLog extends TurboFilter {

  /** Where Hazelcast reports a member-port connection closed, with the exception that closed it. */
  static final String CONNECTION_LOGGER = "com.hazelcast.internal.server.tcp.TcpServerConnection";
  /** Where Hazelcast writes its start-up facts, "Cluster name: ..." among them. */
  static final String SYSTEM_LOGGER = "com.hazelcast.system";
  static final long INTERVAL_MILLIS = 10_000;

  private static final AtomicLong BAD_CONNECTIONS = new AtomicLong();
  private static final RateLimitedLog LOG = new RateLimitedLog(LoggerFactory.getLogger(ClusterPortLog.class), INTERVAL_MILLIS);
  /** The peer in Hazelcast's "Connection[id=4, /127.0.0.1:5701->/127.0.0.1:55026, ...]". */
  private static final Pattern PEER = Pattern.compile("->/?([^,\\]]+)");

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null) {
      return FilterReply.NEUTRAL;
    }
    String name = logger.getName();
    if (SYSTEM_LOGGER.equals(name) && format.startsWith("Cluster name:")) {
      return FilterReply.DENY;
    }
    if (t != null && CONNECTION_LOGGER.equals(name) && isStranger(format)) {
      record(format, t);
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }

  /** A connection that never completed Hazelcast's handshake: no member or client behind it. */
  static boolean isStranger(String message) {
    return message.contains("remoteUuid=null");
  }

  static void record(String message, Throwable t) {
    BAD_CONNECTIONS.incrementAndGet();
    Matcher peer = PEER.matcher(message);
    LOG.warn("bad-connection", "cluster port: closed a connection from {} that does not speak Hazelcast's member"
      + " protocol: {} (only odin-ws nodes should reach this port: docs/security.md)", peer.find() ? peer.group(1) : "?", t);
  }

  /** Connections to the cluster port closed for not speaking the member protocol, in this process. */
  public static long count() {
    return BAD_CONNECTIONS.get();
  }
}
