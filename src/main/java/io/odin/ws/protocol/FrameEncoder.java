package io.odin.ws.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds the UTF-8 JSON text frames the server sends. Messages are encoded once, when they enter the node;
 * shards write the same bytes to every socket.
 */
public final class FrameEncoder {

  private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PONG = "{\"type\":\"pong\"}".getBytes(StandardCharsets.US_ASCII);

  private FrameEncoder() {
  }

  /**
   * {@code {"type":TYPE[,"channel":CHANNEL],"data":DATA}} where DATA is {@code source[dataFrom, dataTo)} copied
   * unchanged, or {@code null} when {@code dataFrom < 0}.
   */
  public static byte[] message(String type, String channel, byte[] source, int dataFrom, int dataTo) {
    // sized exactly, so the frame is built in place with no growth and no trimming copy
    Bytes out = new Bytes(8 + jsonStringLength(type) + (channel == null ? 0 : 11 + jsonStringLength(channel))
      + 8 + (dataFrom < 0 ? NULL.length : dataTo - dataFrom) + 1);
    out.ascii("{\"type\":");
    out.jsonString(type);
    if (channel != null) {
      out.ascii(",\"channel\":");
      out.jsonString(channel);
    }
    out.ascii(",\"data\":");
    if (dataFrom < 0) {
      out.raw(NULL, 0, NULL.length);
    } else {
      out.raw(source, dataFrom, dataTo - dataFrom);
    }
    out.ascii("}");
    return out.toArray();
  }

  /** The answer to a client's {@code {"op":"ping"}}. Shared; never modify. */
  public static byte[] pong() {
    return PONG;
  }

  /** {@code {"type":"error","message":MESSAGE}}. */
  public static byte[] error(String message) {
    Bytes out = new Bytes(40 + message.length());
    out.ascii("{\"type\":\"error\",\"message\":");
    out.jsonString(message);
    out.ascii("}");
    return out.toArray();
  }

  /** The bytes {@link Bytes#jsonString} writes for {@code s}, quotes included. */
  static int jsonStringLength(String s) {
    int n = 2;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        n += 2;
      } else if (c < 0x20) {
        n += 6;
      } else if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        // a lone surrogate: String.getBytes writes '?'
        n += 1;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** A small growable byte array; avoids the synchronisation of ByteArrayOutputStream. */
  private static final class Bytes {
    private byte[] buf;
    private int len;

    Bytes(int capacity) {
      buf = new byte[Math.max(16, capacity)];
    }

    void ensure(int extra) {
      if (len + extra > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
      }
    }

    void ascii(String s) {
      ensure(s.length());
      for (int i = 0; i < s.length(); i++) {
        buf[len++] = (byte) s.charAt(i);
      }
    }

    void raw(byte[] src, int off, int n) {
      ensure(n);
      System.arraycopy(src, off, buf, len, n);
      len += n;
    }

    void jsonString(String s) {
      ensure(s.length() + 2);
      buf[len++] = '"';
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '"' || c == '\\') {
          ensure(2);
          buf[len++] = '\\';
          buf[len++] = (byte) c;
        } else if (c < 0x20) {
          ascii(String.format("\\u%04x", (int) c));
        } else if (c < 0x80) {
          ensure(1);
          buf[len++] = (byte) c;
        } else {
          int end = i + 1;
          if (Character.isHighSurrogate(c) && end < s.length() && Character.isLowSurrogate(s.charAt(end))) {
            end++;
          }
          byte[] utf8 = s.substring(i, end).getBytes(StandardCharsets.UTF_8);
          raw(utf8, 0, utf8.length);
          i = end - 1;
        }
      }
      ensure(1);
      buf[len++] = '"';
    }

    byte[] toArray() {
      return len == buf.length ? buf : Arrays.copyOf(buf, len);
    }
  }
}
