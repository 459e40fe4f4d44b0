package io.odin.ws.protocol;

/**
 * A channel: a name clients subscribe to and producers publish to (docs/protocol.md, "Channels"). A name is 1 to
 * {@value #MAX_LENGTH} characters of {@code [A-Za-z0-9._:@/=-]}, safe in a URL's query, a Redis key and a log line;
 * its namespace is the part before its first {@code :} ({@code prices:BTC} is in namespace {@code prices}, a name
 * without {@code :} in the empty namespace). {@code global} is not a channel but the old system's name for a
 * broadcast. A pattern (a JWT claim's entry) is a name, or a name's beginning followed by {@code *}
 * ({@code prices:*}, {@code *} for every channel).
 */
public final class ChannelName {

  public static final int MAX_LENGTH = 128;

  /** The old system's broadcast channel: an envelope naming it goes to every connection, nobody subscribes to it. */
  public static final String GLOBAL = "global";

  /**
   * The registry entry of a channel's interest (which shards have a subscriber): the name behind a character no token
   * has, so channel entries share the token registry's keys, heartbeats and clean-ups without meeting a token.
   */
  private static final char INTEREST = '#';

  /** Cursor segments name a channel by a hash below this bound: five base-36 digits. */
  public static final int HASH_BOUND = 36 * 36 * 36 * 36 * 36;

  private ChannelName() {
  }

  public static boolean isValid(String name) {
    return problem(name) == null;
  }

  /** Why {@code name} is not a channel one may subscribe or publish to, or null when it is one. */
  public static String problem(String name) {
    if (name == null || name.isEmpty() || name.length() > MAX_LENGTH) {
      return "must be 1 to " + MAX_LENGTH + " characters";
    }
    for (int i = 0; i < name.length(); i++) {
      if (!allowed(name.charAt(i))) {
        return "may contain only letters, digits and . _ : @ / = -";
      }
    }
    if (GLOBAL.equals(name)) {
      return "global is the broadcast, not a channel: every connection receives it";
    }
    return null;
  }

  private static boolean allowed(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
      || c == '.' || c == '_' || c == ':' || c == '-' || c == '@' || c == '/' || c == '=';
  }

  /** The namespace of a valid name: what precedes its first {@code :}, empty when it has none. */
  public static String namespace(String name) {
    int colon = name.indexOf(':');
    return colon < 0 ? "" : name.substring(0, colon);
  }

  /** True when {@code pattern} (a name, or a beginning followed by {@code *}) covers {@code name}. */
  public static boolean matches(String pattern, String name) {
    if (pattern.endsWith("*")) {
      return name.startsWith(pattern.substring(0, pattern.length() - 1));
    }
    return pattern.equals(name);
  }

  /** Why {@code pattern} is not a pattern, or null. */
  public static String patternProblem(String pattern) {
    if ("*".equals(pattern)) {
      return null;
    }
    String name = pattern != null && pattern.endsWith("*") ? pattern.substring(0, pattern.length() - 1) : pattern;
    if (name == null || name.isEmpty() || name.length() > MAX_LENGTH) {
      return "must be 1 to " + MAX_LENGTH + " characters, optionally followed by *";
    }
    for (int i = 0; i < name.length(); i++) {
      if (!allowed(name.charAt(i))) {
        return "may contain only letters, digits and . _ : @ / = -, and end with *";
      }
    }
    return null;
  }

  /** The registry entry that says a shard has subscribers of {@code name}. */
  public static String interestKey(String name) {
    return INTEREST + name;
  }

  /** True when a registry entry is a channel's interest rather than a token. */
  public static boolean isInterestKey(String key) {
    return !key.isEmpty() && key.charAt(0) == INTEREST;
  }

  /** The channel of an interest key. */
  public static String ofInterestKey(String key) {
    return key.substring(1);
  }

  /**
   * The hash a cursor names the channel by (below {@link #HASH_BOUND}): a reconnect's cursor carries positions for the
   * channels the connection had, and the channels it subscribes to again find theirs by it. {@link String#hashCode}
   * is fixed by the language, so every node computes the same; a collision between two channels of one connection
   * is detected where the cursor is read (docs/protocol.md).
   */
  public static int hash(String name) {
    int h = name.hashCode();
    // murmur3's finaliser spreads the bits before the modulo
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return Math.floorMod(h, HASH_BOUND);
  }
}
