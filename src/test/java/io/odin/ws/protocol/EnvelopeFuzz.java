package io.odin.ws.protocol;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

/**
 * Random and mutated publish envelopes for fuzz tests: well-formed ones of every shape (targeted, asked-for and
 * typed broadcasts, typos of {@code token}), then byte-level mutations of them (flips, cuts, duplications,
 * splices of JSON fragments). Deterministic for a seed.
 */
public final class EnvelopeFuzz {

  private static final String[] FIELDS = {"type", "token", "tokens", "Token", "broadcast", "channel", "data", "to", "user"};
  private static final String[] FRAGMENTS = {"{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "false", "-0.0e9",
    "\"token\"", "\"broadcast\"", "\"global\"", "\u00e9", "\\u0000", "\\ud800", "\"type\":\"t\"", "[[[[[[", "{\"a\":"};

  private final Random random;

  public EnvelopeFuzz(long seed) {
    random = new Random(seed);
  }

  /** One fuzz input: a valid-looking envelope or array, possibly mutated. */
  public byte[] next() {
    byte[] base = (random.nextInt(4) == 0 ? array() : envelope()).getBytes(StandardCharsets.UTF_8);
    int mutations = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(4);
    for (int i = 0; i < mutations; i++) {
      base = mutate(base);
    }
    return base;
  }

  private String array() {
    StringBuilder sb = new StringBuilder("[");
    int n = random.nextInt(5);
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(envelope());
    }
    return sb.append(']').toString();
  }

  /** An envelope of random fields, values of random kinds. */
  public String envelope() {
    StringBuilder sb = new StringBuilder("{");
    int n = 1 + random.nextInt(5);
    for (int i = 0; i < n; i++) {
      String field = FIELDS[random.nextInt(FIELDS.length)];
      sb.append(i == 0 ? "" : ",").append('"').append(field).append("\":").append(value(field));
    }
    return sb.append('}').toString();
  }

  private String value(String field) {
    switch (random.nextInt(6)) {
      case 0:
        return "\"" + pick(List.of("t", "otp", "system-announcement", "global", "alice", "bob", "a b", "")) + "\"";
      case 1:
        return "[\"alice\",\"bob\"]";
      case 2:
        return random.nextBoolean() ? "true" : "false";
      case 3:
        return "null";
      case 4:
        return Integer.toString(random.nextInt(2000) - 1000);
      default:
        return "{\"n\":" + random.nextInt() + ",\"s\":\"" + field + "\"}";
    }
  }

  private byte[] mutate(byte[] in) {
    if (in.length == 0) {
      return FRAGMENTS[random.nextInt(FRAGMENTS.length)].getBytes(StandardCharsets.UTF_8);
    }
    int at = random.nextInt(in.length);
    switch (random.nextInt(5)) {
      case 0: { // flip a byte
        byte[] out = in.clone();
        out[at] = (byte) random.nextInt(256);
        return out;
      }
      case 1: { // cut
        byte[] out = new byte[at];
        System.arraycopy(in, 0, out, 0, at);
        return out;
      }
      case 2: { // duplicate a slice
        int len = Math.min(in.length - at, 1 + random.nextInt(16));
        byte[] out = new byte[in.length + len];
        System.arraycopy(in, 0, out, 0, at + len);
        System.arraycopy(in, at, out, at + len, in.length - at);
        return out;
      }
      default: { // splice a fragment
        byte[] frag = FRAGMENTS[random.nextInt(FRAGMENTS.length)].getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[in.length + frag.length];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(frag, 0, out, at, frag.length);
        System.arraycopy(in, at, out, at + frag.length, in.length - at);
        return out;
      }
    }
  }

  private <T> T pick(List<T> list) {
    return list.get(random.nextInt(list.size()));
  }
}
