package io.odin.ws.protocol;

import java.util.Locale;

/**
 * How a message with tokens reaches its shards: {@link #TARGETED} to the shards the registry names, or
 * {@link #BROADCAST} to every live shard, each shard filtering by token (the behaviour of the system odin-ws
 * replaces). Both go through the same ordered per-shard stream of the dispatcher, so a token that changes path
 * keeps its order. Broadcast messages (broadcast type, channel "global", no token) have no path: they go to
 * every shard on either.
 */
public enum DispatchPath {
  TARGETED, BROADCAST;

  /** The {@code path} label of the per-path metrics. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
