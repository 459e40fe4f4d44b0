package io.odin.ws.registry;

import java.nio.charset.StandardCharsets;

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
}
