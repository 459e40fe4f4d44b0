package io.odin.ws.protocol;

/**
 * The {@code id} of a message frame, which a client sends back as {@code since=} when it reconnects: where the
 * connection stands in each stream it receives, its token's stream and the broadcast stream. A position is the
 * stream's epoch (a random number that changes whenever the store may have lost the stream's data) and the
 * sequence number of the last message of that stream the connection received. Epoch 0 means "unknown": the
 * connection received a message that was not stored, or the store could not say where the stream stood, so a
 * recovery from such a cursor is refused ({@code recovered:false}).
 * <p>Wire form: four base-36 numbers joined by dots, {@code TOKENEPOCH.TOKENSEQ.BCASTEPOCH.BCASTSEQ}, e.g.
 * {@code 2vj5k1m9x.2a.9b1u4k7qz.7}: letters, digits and dots only, so it needs no escaping in JSON or in a query
 * string. Clients treat it as opaque.
 */
public final class Cursor {

  /** Epochs and sequence numbers are below 2^53 (Redis's Lua numbers are doubles). */
  public static final long MAX = (1L << 53) - 1;
  /** The longest wire form: four numbers of at most 11 base-36 digits and three dots. */
  public static final int MAX_LENGTH = 4 * 11 + 3;

  public final long tokenEpoch;
  public final long tokenSeq;
  public final long broadcastEpoch;
  public final long broadcastSeq;

  public Cursor(long tokenEpoch, long tokenSeq, long broadcastEpoch, long broadcastSeq) {
    this.tokenEpoch = tokenEpoch;
    this.tokenSeq = tokenSeq;
    this.broadcastEpoch = broadcastEpoch;
    this.broadcastSeq = broadcastSeq;
  }

  /** The cursor in {@code since}, or null when it is not one (malformed, too long, a number out of range). */
  public static Cursor parse(String since) {
    if (since == null || since.isEmpty() || since.length() > MAX_LENGTH) {
      return null;
    }
    long[] parts = new long[4];
    int part = 0;
    long value = 0;
    int digits = 0;
    for (int i = 0; i <= since.length(); i++) {
      char c = i < since.length() ? since.charAt(i) : '.';
      if (c == '.') {
        if (digits == 0 || part == 4) {
          return null;
        }
        parts[part++] = value;
        value = 0;
        digits = 0;
        continue;
      }
      int d = Character.digit(c, 36);
      // Character.digit also takes non-ASCII digits: only 0-9 and a-z belong to the wire form
      if (d < 0 || c > 'z' || (c >= 'A' && c <= 'Z') || ++digits > 11) {
        return null;
      }
      value = value * 36 + d;
      if (value > MAX) {
        return null;
      }
    }
    return part == 4 ? new Cursor(parts[0], parts[1], parts[2], parts[3]) : null;
  }

  /** Writes the wire form of a cursor into {@code out} at {@code offset}; returns the offset after it. */
  public static int write(byte[] out, int offset, long tokenEpoch, long tokenSeq, long broadcastEpoch, long broadcastSeq) {
    offset = writeNumber(out, offset, tokenEpoch);
    out[offset++] = '.';
    offset = writeNumber(out, offset, tokenSeq);
    out[offset++] = '.';
    offset = writeNumber(out, offset, broadcastEpoch);
    out[offset++] = '.';
    return writeNumber(out, offset, broadcastSeq);
  }

  private static int writeNumber(byte[] out, int offset, long value) {
    if (value == 0) {
      out[offset] = '0';
      return offset + 1;
    }
    int digits = 0;
    for (long v = value; v > 0; v /= 36) {
      digits++;
    }
    for (int i = offset + digits - 1; i >= offset; i--) {
      int d = (int) (value % 36);
      out[i] = (byte) (d < 10 ? '0' + d : 'a' + d - 10);
      value /= 36;
    }
    return offset + digits;
  }

  @Override
  public String toString() {
    byte[] out = new byte[MAX_LENGTH];
    int n = write(out, 0, tokenEpoch, tokenSeq, broadcastEpoch, broadcastSeq);
    return new String(out, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
  }
}
