package io.odin.ws.loadtest;

/**
 * Which token each connection uses: connection {@code i} (0-based, over all processes) gets token
 * {@code prefix + (i % tokens)}, so each token has {@code connections / tokens} connections (one more for
 * the first {@code connections % tokens}). With more tokens than connections, some tokens have no connection:
 * messages for them must reach nobody.
 * <p>With channels ({@code --channels N}), each connection also subscribes at its handshake to one channel,
 * {@code channelPrefix + c}: channel {@code c} has {@code lo + c % (hi - lo + 1)} subscribers ({@code --channel-sizes
 * LO-HI}; by default the connections are spread evenly), taken in connection order, wrapping to channel 0 when the
 * connections outnumber the channels' places.
 */
public final class TokenPlan {

  private final String prefix;
  private final int tokens;
  private final int connections;
  private final String channelPrefix;
  /** Per connection, its channel (none without channels). */
  private final int[] channelOfConnection;
  /** Per channel, its subscribers among the planned connections. */
  private final int[] subscribers;

  public TokenPlan(String prefix, int tokens, int connections) {
    this(prefix, tokens, connections, null, 0, 0, 0);
  }

  /**
   * @param channels      channels the connections subscribe to (0: none)
   * @param sizeLo        with {@code sizeHi}, the subscribers of channel c: {@code sizeLo + c % (sizeHi - sizeLo + 1)};
   *                      0: the connections spread evenly ({@code i % channels})
   */
  public TokenPlan(String prefix, int tokens, int connections, String channelPrefix, int channels, int sizeLo, int sizeHi) {
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1");
    }
    this.prefix = prefix;
    this.tokens = tokens;
    this.connections = connections;
    this.channelPrefix = channelPrefix;
    this.channelOfConnection = new int[channels > 0 ? connections : 0];
    this.subscribers = new int[channels];
    int c = 0;
    int placed = 0;
    for (int i = 0; i < channelOfConnection.length; i++) {
      if (sizeLo <= 0) {
        c = i % channels;
      } else if (placed >= sizeLo + c % (sizeHi - sizeLo + 1)) {
        c = (c + 1) % channels;
        placed = 0;
      }
      channelOfConnection[i] = c;
      subscribers[c]++;
      placed++;
    }
  }

  /** The channel connection {@code connection} subscribes to, or -1 without channels. */
  public int channelOf(int connection) {
    return channelOfConnection.length == 0 ? -1 : channelOfConnection[connection];
  }

  public int channelCount() {
    return subscribers.length;
  }

  public String channelName(int channel) {
    return channelPrefix + channel;
  }

  /** How many of the planned connections subscribe to {@code channel}. */
  public int subscribersOf(int channel) {
    return subscribers[channel];
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
