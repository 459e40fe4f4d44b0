package io.odin.ws.shard;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * WebSocket frames as the server puts them on the wire. A server's frames are not masked, so a message's frame
 * is the same bytes for every socket: the shard encodes it once per message and writes that one buffer to every
 * socket it goes to (a retained duplicate each, no copy and no encoding per socket).
 */
final class WireFrames {

  /** An empty ping, shared by every socket (never released): write a {@code duplicate()} of it. */
  static final ByteBuf PING = Unpooled.unreleasableBuffer(
    Unpooled.directBuffer(2, 2).writeByte(0x89).writeByte(0));

  private WireFrames() {
  }

  /** Bytes of the header of an unmasked final frame with {@code payload} bytes. */
  static int headerLength(int payload) {
    return payload <= 125 ? 2 : payload <= 0xFFFF ? 4 : 10;
  }

  /** A final text frame of {@code payload}, unmasked, in one buffer from {@code alloc}. */
  static ByteBuf text(ByteBufAllocator alloc, byte[] payload) {
    int n = payload.length;
    ByteBuf buf = alloc.directBuffer(headerLength(n) + n);
    buf.writeByte(0x81);
    if (n <= 125) {
      buf.writeByte(n);
    } else if (n <= 0xFFFF) {
      buf.writeByte(126).writeShort(n);
    } else {
      buf.writeByte(127).writeLong(n);
    }
    return buf.writeBytes(payload);
  }
}
