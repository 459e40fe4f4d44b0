package io.odin.ws.shard;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/**
 * One client socket and the little state its shard keeps for it: it is also the last handler of the socket's
 * pipeline, so a connection costs odin-ws one object (plus its token's entry in {@link ShardConnections}).
 * Touched only on the shard's event loop.
 */
final class ClientConnection extends ChannelInboundHandlerAdapter implements ShardConnections.Slot {

  final Channel channel;
  final String token;
  /** The client's IP address: its slot in the node's per-address count is given back on close. */
  final String address;
  private final ShardVerticle shard;
  /** Its frame rate and any fragmented message it is sending; made on its first frame other than a solicited pong. */
  ClientFrames frames;
  /** Last time the client sent anything (a frame or a pong), for the idle sweep. */
  long lastHeardMillis;
  /** The server pinged it and no pong came back yet: the next pong is the answer, free; others count as frames. */
  boolean pingOutstanding;
  /** Set once the shard decided to close it, so the close reason is counted once and writes stop. */
  boolean closing;
  /** Written to in the batch being delivered, not flushed yet. */
  boolean flushPending;
  /** When the server sent its close frame: the TCP connection is torn down {@code ws.closeTimeoutMs} later. */
  long closingSinceMillis;
  long closeTimer = -1;
  /** The timer that closes it when its JWT expires (auth.mode=jwt), or -1. */
  long expiryTimer = -1;
  private int slot = -1;

  /** Its WebSocket upgrade is done: frames may be written (until then it only collects its messages). */
  boolean opened;
  /**
   * Writing straight to the socket: opened, recovered (or connected without a cursor) and caught up. Until then its
   * messages wait in {@link #backlog}, behind the replay.
   */
  boolean live;
  /** A reconnect's history reads are in flight: nothing is written until they are answered. */
  boolean recovering;
  /** {@code {"type":"resumed",...}}, written first once the connection is open; null when sent or not owed. */
  byte[] resumed;
  /** What it missed while away, being written (a reconnect with {@code since=} that recovered). */
  Replay replay;
  /** Messages for it that arrived before it was live, in arrival order. */
  java.util.ArrayDeque<Replay.Item> backlog;
  /**
   * Where it stands in its token's stream and in the broadcast stream: the cursor of the next frame it gets (epoch 0:
   * unknown, it received a message that was not stored).
   */
  long tokenEpoch;
  long tokenSeq;
  long broadcastEpoch;
  long broadcastSeq;
  /** Its channels and where it stands in each (the rest of its cursor); null until its first subscription. */
  Subscriptions subs;
  /** Channels it asked for that wait for their interest registration here; null when none. */
  java.util.List<String> pendingChannels;
  /** The channel patterns its JWT grants (empty without a JWT): what later subscribe ops are judged by. */
  java.util.List<String> grants = java.util.List.of();

  ClientConnection(ShardVerticle shard, Channel channel, String token, String address, long nowMillis) {
    this.shard = shard;
    this.channel = channel;
    this.token = token;
    this.address = address;
    this.lastHeardMillis = nowMillis;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof WebSocketFrame) {
      WebSocketFrame frame = (WebSocketFrame) msg;
      try {
        shard.onFrame(this, frame);
      } finally {
        frame.release();
      }
    } else {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    shard.onClosed(this);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (channel.isWritable()) {
      shard.onWritable(this);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    shard.onSocketError(this, cause);
  }

  @Override
  public int slot() {
    return slot;
  }

  @Override
  public void slot(int index) {
    slot = index;
  }
}
