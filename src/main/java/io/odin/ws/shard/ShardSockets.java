package io.odin.ws.shard;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.vertx.core.internal.ContextInternal;

import java.util.function.BiConsumer;

/**
 * The bookkeeping of a shard's sockets: its connections by token and for broadcasts ({@link ShardConnections}), how
 * many count in /health (open, not being closed, not still upgrading), closing them with a code and a deadline,
 * pinging them and closing the silent ones, and closing them when their JWT expires. Confined to the shard's event
 * loop.
 */
final class ShardSockets {

  /** Close codes: standard ones, and 4408 (private range, after HTTP 408) for clients that stopped answering. */
  static final short CLOSE_GOING_AWAY = 1001;
  static final short CLOSE_TRY_AGAIN_LATER = 1013;
  static final short CLOSE_PING_TIMEOUT = 4408;
  /** 4401 (private range, after HTTP 401): the connection's JWT expired and no refresh came in time. */
  static final short CLOSE_TOKEN_EXPIRED = 4401;

  final ShardConnections<ClientConnection> connections = new ShardConnections<>();
  private final ShardSettings settings;
  private final GatewayMetrics metrics;
  private final ContextInternal ctx;
  private final PingSchedule pingSchedule;
  private final BiConsumer<ClientConnection, Object> ping = this::ping;
  /** Connections whose upgrade is not done: in {@code connections} (they collect their messages), not in /health. */
  private int pendingCount;
  /** Connections being closed by the server: still in {@code connections} until torn down, not counted in /health. */
  private int closingCount;
  private int sweepCursor;
  private boolean stopping;

  ShardSockets(ShardSettings settings, GatewayMetrics metrics, ContextInternal ctx) {
    this.settings = settings;
    this.metrics = metrics;
    this.ctx = ctx;
    this.pingSchedule = settings.pingIntervalMs > 0 ? new PingSchedule(settings.pingIntervalMs) : null;
  }

  /** How often {@link #sweep} must run (a slice of the connections each time), or 0 without pings. */
  long sweepTickMs() {
    return pingSchedule == null ? 0 : pingSchedule.tickMs();
  }

  /** From now on a close also ends the TCP connection as soon as its close frame is out. */
  void stopping() {
    stopping = true;
  }

  /** A connection whose upgrade is under way joins (it collects its messages meanwhile). */
  void joining(String token, ClientConnection c) {
    connections.add(token, c);
    pendingCount++;
  }

  /** Its upgrade is done: it counts in /health now. */
  void opened(ClientConnection c) {
    c.opened = true;
    pendingCount--;
    metrics.connected();
  }

  /** Its upgrade failed: it goes; true when it was its token's last connection here. */
  boolean notOpened(ClientConnection c) {
    pendingCount--;
    c.closing = true;
    return connections.remove(c.token, c);
  }

  /** Its TCP connection is gone (after {@link #close}, or the client's doing); true when it was its token's last here. */
  boolean closed(ClientConnection c) {
    if (c.expiryTimer >= 0) {
      ctx.owner().cancelTimer(c.expiryTimer);
    }
    if (!c.closing) {
      metrics.disconnected(DisconnectReason.CLIENT);
    } else {
      closingCount--;
      if (c.closeTimer >= 0) {
        ctx.owner().cancelTimer(c.closeTimer);
      }
    }
    return connections.remove(c.token, c);
  }

  /** Connections counted in /health. */
  int open() {
    return connections.size() - closingCount - pendingCount;
  }

  /**
   * Closes a socket with {@code code}: the close frame is queued behind what the socket already has, and the
   * TCP connection is torn down {@code ws.closeTimeoutMs} later whatever the peer does (a slow client's close
   * frame may never leave its full queue). From now on the socket is not counted in /health.
   */
  void close(ClientConnection c, short code, String reason, DisconnectReason counted) {
    if (!c.closing) {
      c.closing = true;
      c.closingSinceMillis = System.currentTimeMillis();
      closingCount++;
      metrics.disconnected(counted);
      io.netty.channel.ChannelFuture sent = c.channel.writeAndFlush(new CloseWebSocketFrame(code, truncate(reason)));
      if (stopping) {
        sent.addListener(ChannelFutureListener.CLOSE);
      }
      c.closeTimer = ctx.setTimer(settings.closeTimeoutMs, id -> {
        c.closeTimer = -1;
        tearDown(c);
      });
    }
  }

  /** Closes the TCP connection of a closing socket that is still here; its close handler then removes it. */
  private void tearDown(ClientConnection c) {
    if (c.slot() >= 0 && c.channel.isOpen()) {
      metrics.closeTimedOut();
      // straight to the socket: whatever is still queued for it is dropped
      c.channel.close();
    }
  }

  static String truncate(String reason) {
    // a close reason must fit in a control frame (123 bytes)
    return reason == null ? "" : reason.length() > 100 ? reason.substring(0, 100) : reason;
  }

  /**
   * Answers a client frame through the same bounded write queue as deliveries: a client that sends and never
   * reads fills it and is closed like any slow client, instead of growing the queue without bound.
   */
  void reply(ClientConnection c, byte[] frame) {
    if (!c.channel.isWritable()) {
      close(c, CLOSE_TRY_AGAIN_LATER, "slow client: replies were not read", DisconnectReason.SLOW_CLIENT);
      return;
    }
    c.channel.writeAndFlush(new TextWebSocketFrame(Unpooled.wrappedBuffer(frame)), c.channel.voidPromise());
  }

  /** Closes {@code c} with 4401 when its JWT expires; a later valid refresh moves the deadline. */
  void expireAt(ClientConnection c, long expiresAtMillis) {
    if (c.expiryTimer >= 0) {
      ctx.owner().cancelTimer(c.expiryTimer);
    }
    c.expiryTimer = expiresAtMillis == Long.MAX_VALUE ? -1 : ctx.setTimer(Math.max(1, expiresAtMillis - System.currentTimeMillis()),
      id -> close(c, CLOSE_TOKEN_EXPIRED, "token expired", DisconnectReason.TOKEN_EXPIRED));
  }

  /** Pings one slice of the connections and closes those silent for longer than the idle timeout. */
  void sweep() {
    int n = connections.size();
    // each tick pings the next slice of the connections: every one once per ping interval
    sweepCursor = connections.forEachIn(sweepCursor, pingSchedule.next(n), null, ping);
  }

  private void ping(ClientConnection c, Object unused) {
    if (!c.opened) {
      // still upgrading: ws.handshakeTimeoutMs guards it
      return;
    }
    long now = System.currentTimeMillis();
    if (c.closing) {
      // a backstop for the close timer: a closing socket never stays past its close timeout
      if (now - c.closingSinceMillis > settings.closeTimeoutMs) {
        tearDown(c);
      }
      return;
    }
    if (now - c.lastHeardMillis > settings.idleTimeoutMs) {
      close(c, CLOSE_PING_TIMEOUT, "ping timeout", DisconnectReason.PING_TIMEOUT);
    } else {
      c.pingOutstanding = true;
      c.channel.writeAndFlush(WireFrames.PING.duplicate(), c.channel.voidPromise());
    }
  }
}
