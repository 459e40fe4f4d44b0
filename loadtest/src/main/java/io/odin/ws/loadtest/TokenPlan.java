package io.odin.ws.loadtest;

/**
 * Which token each connection uses: connection {@code i} (0-based, over all processes) gets token
 * {@code prefix + (i % tokens)}, so each token has {@code connections / tokens} connections (one more for
 * the first {@code connections % tokens}). With more tokens than connections, some tokens have no connection:
 * messages for them must reach nobody.
 */
public final class TokenPlan {

  private final String prefix;
  private final int tokens;
  private final int connections;

  public TokenPlan(String prefix, int tokens, int connections) {
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1");
    }
    this.prefix = prefix;
    this.tokens = tokens;
    this.connections = connections;
  }

  public int tokenOf(int connection) {
    return connection % tokens;
  }

  public String name(int token) {
    return prefix + token;
  }

  public int tokenCount() {
    return tokens;
  }

  public int connectionCount() {
    return connections;
  }

  /** How many of the planned connections use {@code token}. */
  public int connectionsOf(int token) {
    return connections / tokens + (token < connections % tokens ? 1 : 0);
  }

  public String prefix() {
    return prefix;
  }
}
