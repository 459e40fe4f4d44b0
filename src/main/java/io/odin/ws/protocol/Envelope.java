package io.odin.ws.protocol;

import io.odin.ws.protocol.DispatchPath;

/**
 * One message to push, parsed and checked once at the edge of the node (publish API or Kafka).
 * The frame clients receive is encoded here, once, whatever the number of shards and sockets that get it.
 */
public final class Envelope {

  private static final String[] NO_TOKENS = new String[0];

  private final String type;
  private final String[] tokens;
  private final String channel;
  private final byte[] frame;
  private final boolean broadcast;
  private final long publishedAtMillis;
  /** Set by the dispatcher before hand-over (the event-bus send publishes it to the shards); null for broadcasts. */
  private DispatchPath path;
  /** Where the message was stored (see {@link #stored()}); set before hand-over, null when it was not stored. */
  private long[] stored;
  private String storedOrder;

  public Envelope(String type, String[] tokens, String channel, byte[] frame, boolean broadcast, long publishedAtMillis) {
    this.type = type;
    this.tokens = tokens != null ? tokens : NO_TOKENS;
    this.channel = channel;
    this.frame = frame;
    this.broadcast = broadcast;
    this.publishedAtMillis = publishedAtMillis;
  }

  public String type() {
    return type;
  }

  /** The recipients of a targeted message, without duplicates; empty for a message without token. */
  public String[] tokens() {
    return tokens;
  }

  public String channel() {
    return channel;
  }

  /** The UTF-8 JSON text frame clients receive: {@code {"type":..,"channel":..,"data":..}}. Never modify. */
  public byte[] frame() {
    return frame;
  }

  /** True when the message goes to every connection (broadcast type, channel "global", or {@code "broadcast": true}). */
  public boolean isBroadcast() {
    return broadcast;
  }

  /**
   * True when the message goes to the subscribers of its {@link #channel()}: it names no token and is no broadcast.
   * (A message with tokens and a channel goes to those tokens; the channel is then only a label in its frame.)
   */
  public boolean isChannelMessage() {
    return !broadcast && tokens.length == 0 && channel != null;
  }

  /** The path the dispatcher routed this message on, for the per-path metrics; null for a broadcast or channel message. */
  public DispatchPath path() {
    return path;
  }

  /** Called by the dispatcher (or a relay decoding it) once, before the message is handed to shards. */
  public void routedOn(DispatchPath path) {
    this.path = path;
  }

  /**
   * Where the history stored the message, as epoch and sequence number pairs: one pair for a broadcast (the
   * broadcast stream) and for a channel message (its channel's stream), else one per token in {@link #tokens()}
   * order (each token's stream). Null when the message was not stored (history off or unavailable): a client that
   * receives it can no longer recover from its cursor. A pair 0:0 is a stream it was not stored in (a Redis Cluster
   * master that did not answer).
   */
  public long[] stored() {
    return stored;
  }

  /**
   * The message's place in the store's dispatch order (a fixed-width string that sorts across streams): a replay
   * interleaves a token's stream and the broadcast stream by it. Null when not stored.
   */
  public String storedOrder() {
    return storedOrder;
  }

  /** True when the message was stored in every stream it went to (epoch 0 in {@link #stored()}: not in that one). */
  public boolean storedEverywhere() {
    if (stored == null) {
      return false;
    }
    for (int i = 0; i < stored.length; i += 2) {
      if (stored[i] == 0) {
        return false;
      }
    }
    return true;
  }

  /** Called by the registry that stored the message (or by a relay decoding it), before hand-over. */
  public void stored(long[] positions, String order) {
    this.stored = positions;
    this.storedOrder = order;
  }

  /** When the message entered the system (Kafka record timestamp or publish time), for delivery latency. */
  public long publishedAtMillis() {
    return publishedAtMillis;
  }
}
