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

  /** Bytes that {@code {"id":"CURSOR",} adds in front of a message frame's {@code "type":...}. */
  static final byte[] ID_OPEN = {'{', '"', 'i', 'd', '"', ':', '"'};
  static final byte[] ID_CLOSE = {'"', ','};

  /**
   * The part of a message that is the same for every socket: its frame without the opening brace, which each socket's
   * {@link #messageHead} replaces by {@code {"id":"CURSOR",}.
   */
  static ByteBuf messageTail(ByteBufAllocator alloc, byte[] frame) {
    int n = frame.length - 1;
    return alloc.directBuffer(n, n).writeBytes(frame, 1, n);
  }

  /**
   * The start of one socket's copy of a message: the frame header (unless {@code header} is false: a compressing
   * socket's encoder writes it), then {@code {"id":"CURSOR",}; the shared {@link #messageTail} follows it.
   *
   * @param cursor      the socket's cursor, in {@code cursor[0, cursorLength)}
   * @param frameLength the length of the message's frame without id
   */
  static ByteBuf messageHead(ByteBufAllocator alloc, byte[] cursor, int cursorLength, int frameLength, boolean header) {
    int payload = ID_OPEN.length + cursorLength + ID_CLOSE.length + frameLength - 1;
    int headLength = ID_OPEN.length + cursorLength + ID_CLOSE.length;
    ByteBuf buf = alloc.directBuffer((header ? headerLength(payload) : 0) + headLength);
    if (header) {
      writeHeader(buf, payload);
    }
    return buf.writeBytes(ID_OPEN).writeBytes(cursor, 0, cursorLength).writeBytes(ID_CLOSE);
  }

  private static void writeHeader(ByteBuf buf, int n) {
    buf.writeByte(0x81);
    if (n <= 125) {
      buf.writeByte(n);
    } else if (n <= 0xFFFF) {
      buf.writeByte(126).writeShort(n);
    } else {
      buf.writeByte(127).writeLong(n);
    }
  }

  /** A final text frame of {@code payload}, unmasked, in one buffer from {@code alloc}. */
  static ByteBuf text(ByteBufAllocator alloc, byte[] payload) {
    int n = payload.length;
    ByteBuf buf = alloc.directBuffer(headerLength(n) + n);
    writeHeader(buf, n);
    return buf.writeBytes(payload);
  }
}
