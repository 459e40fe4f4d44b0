package io.odin.ws.protocol;

/**
 * The {@code id} of a message frame, which a client sends back as {@code since=} when it reconnects: where the
 * connection stands in each stream it receives, its token's stream and the broadcast stream. A position is the
 * stream's epoch (a random number that changes whenever the store may have lost the stream's data) and the
 * sequence number of the last message of that stream the connection received. Epoch 0 means "unknown": the
 * connection received a message that was not stored, or the store could not say where the stream stood, so a
 * recovery from such a cursor is refused ({@code recovered:false}).
 * <p>Wire form: base-36 numbers joined by dots, {@code TOKENEPOCH.TOKENSEQ.BCASTEPOCH.BCASTSEQ}, e.g.
 * {@code 2vj5k1m9x.2a.9b1u4k7qz.7}, then three more per channel the connection is subscribed to,
 * {@code .HASH.EPOCH.SEQ} (the channel's {@link ChannelName#hash}, and its stream's position): letters, digits and dots
 * only, so it needs no escaping in JSON or in a query string, and at most {@link #maxLength} characters for a
 * connection's {@code ws.maxSubscriptionsPerConnection} channels. The four-number form of a connection without
 * channels is unchanged. Clients treat it as opaque.
 */
public final class Cursor {

  /** Epochs and sequence numbers are below 2^53 (Redis's Lua numbers are doubles). */
  public static final long MAX = (1L << 53) - 1;
  /** The longest wire form without channels: four numbers of at most 11 base-36 digits and three dots. */
  public static final int MAX_LENGTH = 4 * 11 + 3;
  /** What each channel adds at most: three dots, a hash of 5 digits, an epoch and a sequence number of 11. */
  public static final int CHANNEL_LENGTH = 3 + 5 + 11 + 11;
  /** The most channel segments {@link #parse(String)} takes (the bound of ws.maxSubscriptionsPerConnection). */
  public static final int MAX_CHANNELS = 1000;
  private static final int[] NO_HASHES = new int[0];
  private static final long[] NO_POSITIONS = new long[0];

  public final long tokenEpoch;
  public final long tokenSeq;
  public final long broadcastEpoch;
  public final long broadcastSeq;
  /** Per channel segment: the channel's hash, its stream's epoch and sequence number (all three of equal length). */
  public final int[] channelHashes;
  public final long[] channelEpochs;
  public final long[] channelSeqs;

  public Cursor(long tokenEpoch, long tokenSeq, long broadcastEpoch, long broadcastSeq) {
    this(tokenEpoch, tokenSeq, broadcastEpoch, broadcastSeq, NO_HASHES, NO_POSITIONS, NO_POSITIONS);
  }

  public Cursor(long tokenEpoch, long tokenSeq, long broadcastEpoch, long broadcastSeq, int[] channelHashes,
                long[] channelEpochs, long[] channelSeqs) {
    this.tokenEpoch = tokenEpoch;
    this.tokenSeq = tokenSeq;
    this.broadcastEpoch = broadcastEpoch;
    this.broadcastSeq = broadcastSeq;
    this.channelHashes = channelHashes;
    this.channelEpochs = channelEpochs;
    this.channelSeqs = channelSeqs;
  }

  /** The longest wire form of a cursor with {@code channels} channel segments. */
  public static int maxLength(int channels) {
    return MAX_LENGTH + channels * CHANNEL_LENGTH;
  }

  /**
   * Where the cursor stands in the channel of hash {@code hash}: {@code {epoch, seq}}, null when it has no segment
   * for it, or {@link #AMBIGUOUS} when it has several (two of the connection's channels share a hash).
   */
  public long[] channel(int hash) {
    long[] found = null;
    for (int i = 0; i < channelHashes.length; i++) {
      if (channelHashes[i] == hash) {
        if (found != null) {
          return AMBIGUOUS;
        }
        found = new long[] {channelEpochs[i], channelSeqs[i]};
      }
    }
    return found;
  }

  /** {@link #channel}'s answer when two segments share the hash: neither can be trusted. */
  public static final long[] AMBIGUOUS = new long[0];

  /** The cursor in {@code since}, or null when it is not one (malformed, too long, a number out of range). */
  public static Cursor parse(String since) {
    return parse(since, MAX_CHANNELS);
  }

  /** Like {@link #parse(String)}, with at most {@code maxChannels} channel segments. */
  public static Cursor parse(String since, int maxChannels) {
    if (since == null || since.isEmpty() || since.length() > maxLength(maxChannels)) {
      return null;
    }
    long[] parts = new long[4 + 3 * maxChannels];
    int part = 0;
    long value = 0;
    int digits = 0;
    for (int i = 0; i <= since.length(); i++) {
      char c = i < since.length() ? since.charAt(i) : '.';
      if (c == '.') {
        if (digits == 0 || part == parts.length) {
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
    if (part < 4 || (part - 4) % 3 != 0) {
      return null;
    }
    int channels = (part - 4) / 3;
    int[] hashes = new int[channels];
    long[] epochs = new long[channels];
    long[] seqs = new long[channels];
    for (int c = 0; c < channels; c++) {
      long hash = parts[4 + c * 3];
      if (hash >= ChannelName.HASH_BOUND) {
        return null;
      }
      hashes[c] = (int) hash;
      epochs[c] = parts[5 + c * 3];
      seqs[c] = parts[6 + c * 3];
    }
    return new Cursor(parts[0], parts[1], parts[2], parts[3], hashes, epochs, seqs);
  }

  /**
   * Writes the wire form of a cursor with the first {@code channels} channel positions of the arrays into {@code out}
   * at {@code offset} (room for {@link #maxLength}{@code (channels)}); returns the offset after it.
   */
  public static int write(byte[] out, int offset, long tokenEpoch, long tokenSeq, long broadcastEpoch, long broadcastSeq,
                          int channels, int[] hashes, long[] epochs, long[] seqs) {
    offset = write(out, offset, tokenEpoch, tokenSeq, broadcastEpoch, broadcastSeq);
    for (int c = 0; c < channels; c++) {
      offset = writeChannel(out, offset, hashes[c], epochs[c], seqs[c]);
    }
    return offset;
  }

  /** Appends one channel segment, {@code .HASH.EPOCH.SEQ}, at {@code offset}; returns the offset after it. */
  public static int writeChannel(byte[] out, int offset, int hash, long epoch, long seq) {
    out[offset++] = '.';
    offset = writeNumber(out, offset, hash);
    out[offset++] = '.';
    offset = writeNumber(out, offset, epoch);
    out[offset++] = '.';
    return writeNumber(out, offset, seq);
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
    byte[] out = new byte[maxLength(channelHashes.length)];
    int n = write(out, 0, tokenEpoch, tokenSeq, broadcastEpoch, broadcastSeq, channelHashes.length, channelHashes,
      channelEpochs, channelSeqs);
    return new String(out, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
  }
}
