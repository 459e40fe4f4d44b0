package io.odin.ws.loadtest;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * The {@code data} the load tool publishes and how a receiver reads it back without a JSON parser:
 * {@code {"run":"RUN","seq":SEQ,"ts":MICROS,"k":"t"|"b"[,"pad":"xxx"]}}. The gateway copies {@code data}
 * unchanged into the frame, so the fields arrive in this order inside {@code {"type":..,"data":{..}}}.
 */
public final class Payload {

  public static final char TARGETED = 't';
  public static final char BROADCAST = 'b';
  public static final char CHANNEL = 'c';

  private static final byte[] RUN_KEY = ascii("\"run\":\"");
  private static final byte[] SEQ_KEY = ascii("\"seq\":");
  private static final byte[] TS_KEY = ascii("\"ts\":");
  private static final byte[] KIND_KEY = ascii("\"k\":\"");

  private Payload() {
  }

  /** The data object as JSON text. */
  public static String data(String run, int seq, long tsMicros, char kind, String pad) {
    StringBuilder sb = new StringBuilder(64 + (pad == null ? 0 : pad.length()));
    sb.append("{\"run\":\"").append(run).append("\",\"seq\":").append(seq)
      .append(",\"ts\":").append(tsMicros).append(",\"k\":\"").append(kind).append('"');
    if (pad != null && !pad.isEmpty()) {
      sb.append(",\"pad\":\"").append(pad).append('"');
    }
    return sb.append('}').toString();
  }

  /** What a receiver found in one frame. Reused per connection-event to avoid garbage; not thread-safe. */
  public static final class Receipt {
    /** False when the frame is not a load-tool message (a pong, an error) or belongs to another run. */
    public boolean ours;
    /** True when the frame is a load-tool message of another run (another tool on the same gateway). */
    public boolean foreign;
    public int seq;
    public long tsMicros;
    public char kind;
  }

  /** Reads the first load-tool message of a received text frame; {@code runBytes} is the ASCII run id of this run. */
  public static void read(Buffer frame, byte[] runBytes, Receipt out) {
    read(frame, 0, runBytes, out);
  }

  /**
   * Reads the first load-tool message at or after {@code from}, so a frame that carries several messages (should the
   * gateway merge what is due to one socket) is read message by message.
   *
   * @return where to look for the next message, or -1 when there is none
   */
  public static int read(Buffer frame, int from, byte[] runBytes, Receipt out) {
    out.ours = false;
    out.foreign = false;
    int n = frame.length();
    int i = indexOf(frame, RUN_KEY, from, n);
    if (i < 0) {
      return -1;
    }
    i += RUN_KEY.length;
    boolean sameRun = i + runBytes.length < n && frame.getByte(i + runBytes.length) == '"';
    for (int k = 0; sameRun && k < runBytes.length; k++) {
      sameRun = frame.getByte(i + k) == runBytes[k];
    }
    if (!sameRun) {
      out.foreign = true;
      return i;
    }
    i = indexOf(frame, SEQ_KEY, i, n);
    if (i < 0) {
      return -1;
    }
    i += SEQ_KEY.length;
    long seq = 0;
    int digits = 0;
    while (i < n) {
      byte b = frame.getByte(i);
      if (b < '0' || b > '9') {
        break;
      }
      seq = seq * 10 + (b - '0');
      digits++;
      i++;
    }
    if (digits == 0 || seq > Integer.MAX_VALUE) {
      return i;
    }
    i = indexOf(frame, TS_KEY, i, n);
    if (i < 0) {
      return -1;
    }
    i += TS_KEY.length;
    long ts = 0;
    digits = 0;
    while (i < n) {
      byte b = frame.getByte(i);
      if (b < '0' || b > '9') {
        break;
      }
      ts = ts * 10 + (b - '0');
      digits++;
      i++;
    }
    if (digits == 0) {
      return i;
    }
    i = indexOf(frame, KIND_KEY, i, n);
    if (i < 0 || i + KIND_KEY.length >= n) {
      return -1;
    }
    out.kind = (char) frame.getByte(i + KIND_KEY.length);
    out.seq = (int) seq;
    out.tsMicros = ts;
    out.ours = true;
    return i + KIND_KEY.length + 1;
  }

  static int indexOf(Buffer b, byte[] key, int from, int to) {
    outer:
    for (int i = from, last = to - key.length; i <= last; i++) {
      for (int k = 0; k < key.length; k++) {
        if (b.getByte(i + k) != key[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
