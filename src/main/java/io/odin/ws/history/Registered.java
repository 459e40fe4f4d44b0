package io.odin.ws.history;

/**
 * What a registration answers besides "done": where the token's stream and the broadcast stream stood once the
 * registration was visible to every dispatcher. Every message stored after that point goes to the registered shard,
 * so a new connection starts at these positions and misses nothing after them.
 */
public record Registered(StreamPosition token, StreamPosition broadcast) {

  /** No history, or it could not be read: the connection's positions are unknown until its first messages. */
  public static final Registered UNKNOWN = new Registered(StreamPosition.UNKNOWN, StreamPosition.UNKNOWN);
}
