package io.odin.ws.history;

import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Envelope;

/**
 * Names of the streams a history keeps: one per token (its targeted messages, {@code t:TOKEN}), one per channel
 * ({@code c:CHANNEL}) and one for broadcasts ({@code b}).
 */
public final class Streams {

  /** The stream of every broadcast message. */
  public static final String BROADCAST = "b";

  private Streams() {
  }

  /** The stream of {@code token}'s targeted messages. */
  public static String token(String token) {
    return "t:" + token;
  }

  /** The stream of {@code channel}'s messages. */
  public static String channel(String channel) {
    return "c:" + channel;
  }

  /** True for a channel's stream. */
  public static boolean isChannel(String stream) {
    return stream.startsWith("c:");
  }

  /** The stream a registry entry receives: a token's, or a channel's for its {@link ChannelName#interestKey}. */
  public static String ofRegistryKey(String key) {
    return ChannelName.isInterestKey(key) ? channel(ChannelName.ofInterestKey(key)) : token(key);
  }

  /** The streams an envelope is stored in, in the order of its {@link Envelope#stored()} pairs. */
  public static String[] of(Envelope e) {
    if (e.isBroadcast()) {
      return new String[] {BROADCAST};
    }
    if (e.isChannelMessage()) {
      return new String[] {channel(e.channel())};
    }
    String[] tokens = e.tokens();
    String[] out = new String[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      out[i] = token(tokens[i]);
    }
    return out;
  }
}
