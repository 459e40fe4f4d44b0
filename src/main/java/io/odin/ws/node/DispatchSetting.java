package io.odin.ws.node;

import io.odin.ws.protocol.DispatchPath;
import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * The rollout setting every dispatcher of the cluster applies, one batch at a time: {@code mode}
 * ({@code targeted} or {@code broadcast}) and, in targeted mode, {@code targetedPercent}, the share of tokens that
 * use targeted dispatch. Immutable; plain, so the path choice is unit-tested without Vert.x.
 * <p>
 * <b>Which tokens.</b> A token's bucket is a stable hash of the token (murmur3's 32-bit finaliser over
 * {@link String#hashCode()}, which the language specifies) modulo 100; a token is on the targeted path when its
 * bucket is below {@code targetedPercent}. So every node puts a token on the same path, a token stays on one path
 * while the percentage holds, and raising the percentage only adds tokens (a token in the 10% canary is in the
 * 50% too). A message for several tokens is targeted only when all its tokens are: the canary never reaches
 * more recipients than its percentage says.
 * <p>
 * <b>Versions.</b> A change made on any node gets the version after the highest that node has seen, with the
 * node id breaking ties ({@link #supersedes}): every node keeps the newest, so concurrent changes on two nodes
 * converge to the same setting everywhere, and a node that joins adopts whatever is newest.
 */
public final class DispatchSetting {

  public static final String TARGETED = "targeted";
  public static final String BROADCAST = "broadcast";

  private final boolean broadcastMode;
  private final int targetedPercent;
  private final long version;
  private final String origin;

  public DispatchSetting(String mode, int targetedPercent, long version, String origin) {
    this.broadcastMode = BROADCAST.equals(checkMode("mode", mode));
    this.targetedPercent = checkPercent("targetedPercent", targetedPercent);
    this.version = version;
    this.origin = origin == null ? "" : origin;
  }

  /** The node's setting from its configuration (version 0: any change made in the cluster supersedes it). */
  public static DispatchSetting fromConfig(String mode, int targetedPercent) {
    return new DispatchSetting(mode, targetedPercent, 0, "");
  }

  public String mode() {
    return broadcastMode ? BROADCAST : TARGETED;
  }

  public int targetedPercent() {
    return targetedPercent;
  }

  public long version() {
    return version;
  }

  /** The node where the change was made ("" for the configured setting). */
  public String origin() {
    return origin;
  }

  /** The share of tokens that use targeted dispatch now, 0 to 100 (0 in broadcast mode). */
  public int effectivePercent() {
    return broadcastMode ? 0 : targetedPercent;
  }

  /** The path of a message for {@code tokens} (at least one): targeted only when every token is. */
  public DispatchPath pathOf(String[] tokens) {
    if (broadcastMode || targetedPercent == 0) {
      return DispatchPath.BROADCAST;
    }
    if (targetedPercent == 100) {
      return DispatchPath.TARGETED;
    }
    for (String token : tokens) {
      if (bucket(token) >= targetedPercent) {
        return DispatchPath.BROADCAST;
      }
    }
    return DispatchPath.TARGETED;
  }

  /** A token's bucket, 0 to 99, the same on every node and every run. */
  public static int bucket(String token) {
    int h = token.hashCode();
    // murmur3 fmix32: spreads similar tokens (user-1, user-2, ...) evenly over the buckets
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return Math.floorMod(h, 100);
  }

  /** True when this setting wins over {@code other}: a higher version, or the same version from a greater node id. */
  public boolean supersedes(DispatchSetting other) {
    if (version != other.version) {
      return version > other.version;
    }
    return origin.compareTo(other.origin) > 0;
  }

  /**
   * The setting after a change requested on node {@code origin}: the body of {@code PUT /api/dispatch}, with
   * {@code mode} and/or {@code targetedPercent} (a field left out keeps its value).
   *
   * @throws IllegalArgumentException naming the field, for a body that is not a valid change
   */
  public DispatchSetting change(JsonObject body, String origin) {
    if (body == null) {
      throw new IllegalArgumentException("body: expected a JSON object with mode and/or targetedPercent");
    }
    for (String field : body.fieldNames()) {
      if (!field.equals("mode") && !field.equals("targetedPercent")) {
        throw new IllegalArgumentException(field + ": unknown field (expected mode, targetedPercent)");
      }
    }
    if (body.isEmpty()) {
      throw new IllegalArgumentException("body: give mode and/or targetedPercent");
    }
    String mode = mode();
    if (body.containsKey("mode")) {
      Object m = body.getValue("mode");
      if (!(m instanceof String)) {
        throw new IllegalArgumentException("mode: must be \"targeted\" or \"broadcast\"");
      }
      mode = (String) m;
    }
    int percent = targetedPercent;
    if (body.containsKey("targetedPercent")) {
      Object p = body.getValue("targetedPercent");
      if (!(p instanceof Integer || p instanceof Long) || ((Number) p).longValue() < 0 || ((Number) p).longValue() > 100) {
        throw new IllegalArgumentException("targetedPercent: must be a whole number from 0 to 100, got " + p);
      }
      percent = ((Number) p).intValue();
    }
    return new DispatchSetting(mode, percent, version + 1, origin);
  }

  public JsonObject toJson() {
    return new JsonObject()
      .put("mode", mode())
      .put("targetedPercent", targetedPercent)
      .put("version", version)
      .put("origin", origin);
  }

  /** @throws IllegalArgumentException naming the field, for JSON that is not a setting */
  public static DispatchSetting fromJson(JsonObject json) {
    Object version = json.getValue("version");
    Object percent = json.getValue("targetedPercent");
    if (!(version instanceof Number) || !(percent instanceof Number)) {
      throw new IllegalArgumentException("version and targetedPercent: numbers expected in " + json.encode());
    }
    return new DispatchSetting(json.getString("mode"), ((Number) percent).intValue(), ((Number) version).longValue(),
      json.getString("origin"));
  }

  private static String checkMode(String field, String mode) {
    if (mode == null) {
      throw new IllegalArgumentException(field + ": must be \"targeted\" or \"broadcast\"");
    }
    String m = mode.toLowerCase(Locale.ROOT);
    if (!m.equals(TARGETED) && !m.equals(BROADCAST)) {
      throw new IllegalArgumentException(field + ": must be \"targeted\" or \"broadcast\", got \"" + mode + "\"");
    }
    return m;
  }

  private static int checkPercent(String field, int percent) {
    if (percent < 0 || percent > 100) {
      throw new IllegalArgumentException(field + ": must be from 0 to 100, got " + percent);
    }
    return percent;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DispatchSetting s && s.broadcastMode == broadcastMode && s.targetedPercent == targetedPercent
      && s.version == version && s.origin.equals(origin);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(version) * 31 + targetedPercent;
  }

  @Override
  public String toString() {
    return "mode " + mode() + ", targetedPercent " + targetedPercent + " (version " + version
      + (origin.isEmpty() ? ", configured" : ", from " + origin) + ")";
  }
}
