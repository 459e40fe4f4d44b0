package io.odin.ws.registry;

import java.nio.charset.StandardCharsets;
import java.util.BitSet;

/**
 * Redis Cluster's key to slot mapping (CRC16-XMODEM of the key, or of its hash tag, modulo 16384), and for every
 * slot a short hash tag that lands in it. The registry uses the tags to name keys that must live in a given slot: a
 * slot's history generation, and the per-master keys of the registry (shard markers and indexes) in a slot the
 * master serves. Pure functions, no state besides the tag table built once.
 */
public final class SlotHash {

  public static final int SLOTS = 16384;

  private static final int[] TABLE = new int[256];
  /** TAGS[s]: the shortest base-36 number found whose CRC16 falls in slot s. */
  private static final String[] TAGS = new String[SLOTS];

  static {
    for (int i = 0; i < 256; i++) {
      int crc = i << 8;
      for (int b = 0; b < 8; b++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      TABLE[i] = crc & 0xffff;
    }
    int found = 0;
    for (int n = 0; found < SLOTS; n++) {
      String tag = Integer.toString(n, 36);
      int slot = crc16(tag.getBytes(StandardCharsets.US_ASCII), 0, tag.length()) & (SLOTS - 1);
      if (TAGS[slot] == null) {
        TAGS[slot] = tag;
        found++;
      }
    }
  }

  private SlotHash() {
  }

  static int crc16(byte[] bytes, int from, int to) {
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
    }
    return crc;
  }

  /** The slot of {@code key}: of the part between the first '{' and the next '}' when that part is not empty. */
  public static int slot(String key) {
    byte[] b = key.getBytes(StandardCharsets.UTF_8);
    int open = -1;
    for (int i = 0; i < b.length; i++) {
      if (b[i] == '{') {
        open = i;
        break;
      }
    }
    if (open >= 0) {
      for (int i = open + 1; i < b.length; i++) {
        if (b[i] == '}') {
          if (i > open + 1) {
            return crc16(b, open + 1, i) & (SLOTS - 1);
          }
          break;
        }
      }
    }
    return crc16(b, 0, b.length) & (SLOTS - 1);
  }

  /** A hash tag (without braces) whose keys land in {@code slot}. */
  public static String tag(int slot) {
    return TAGS[slot];
  }

  /** "0-5460,6000" for a set of slots. */
  public static String ranges(BitSet slots) {
    StringBuilder sb = new StringBuilder();
    for (int from = slots.nextSetBit(0); from >= 0; from = slots.nextSetBit(from)) {
      int to = slots.nextClearBit(from) - 1;
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(from);
      if (to > from) {
        sb.append('-').append(to);
      }
      from = to + 1;
    }
    return sb.toString();
  }

  /** "0-5460,6000" as a set; null for a malformed announcement (then nothing is taken from it). */
  public static BitSet parseRanges(String ranges) {
    BitSet out = new BitSet();
    if (ranges == null || ranges.isBlank()) {
      return out;
    }
    try {
      for (String r : ranges.split(",")) {
        int dash = r.indexOf('-');
        int from = Integer.parseInt(dash < 0 ? r.trim() : r.substring(0, dash).trim());
        int to = dash < 0 ? from : Integer.parseInt(r.substring(dash + 1).trim());
        if (from < 0 || to < from || to > 65_535) {
          return null;
        }
        out.set(from, to + 1);
      }
    } catch (NumberFormatException e) {
      return null;
    }
    return out;
  }
}
