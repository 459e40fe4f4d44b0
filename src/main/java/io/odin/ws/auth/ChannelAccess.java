package io.odin.ws.auth;

import io.odin.ws.protocol.ChannelName;

import java.util.List;
import java.util.Set;

/**
 * Who may subscribe to which channel (docs/protocol.md, "Channels"). With {@code auth.mode=jwt} a connection may join
 * a channel its JWT's {@code auth.jwt.channelsClaim} lists (a name, or a beginning followed by {@code *}), or any
 * channel of a namespace in {@code channels.publicNamespaces}; the channels of its {@code auth.jwt.subscribeClaim} are
 * allowed by the backend that signed them. With {@code auth.mode=none} every subscription is trusted, as the token
 * is. Plain and thread-safe.
 */
public final class ChannelAccess {

  private final boolean jwt;
  private final Set<String> publicNamespaces;
  private final String channelsClaim;

  public ChannelAccess(AuthSettings settings) {
    this(settings.jwt, settings.publicNamespaces, settings.channelsClaim);
  }

  public ChannelAccess(boolean jwt, Set<String> publicNamespaces, String channelsClaim) {
    this.jwt = jwt;
    this.publicNamespaces = Set.copyOf(publicNamespaces);
    this.channelsClaim = channelsClaim;
  }

  /**
   * Why a connection may not subscribe to {@code channel}, or null when it may.
   *
   * @param grants the patterns of the connection's JWT claim (empty without one; ignored with auth.mode=none)
   */
  public String refusal(String channel, List<String> grants) {
    String problem = ChannelName.problem(channel);
    if (problem != null) {
      return "channel " + problem;
    }
    if (!jwt || publicNamespaces.contains(ChannelName.namespace(channel))) {
      return null;
    }
    for (String pattern : grants) {
      if (ChannelName.matches(pattern, channel)) {
        return null;
      }
    }
    return "not allowed: the JWT's " + channelsClaim + " claim does not list it and its namespace is not public"
      + " (channels.publicNamespaces)";
  }
}
