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
  /** The log record it was read from ("topic/partition") and its offset; null and -1 for a published message. */
  private String source;
  private long offset = -1;

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

  /**
   * The Kafka record it was read from: the history stores each record once per stream, so a record read again (a
   * rebalance or a crash before the commit) is not delivered again ({@link #storedBefore()}).
   */
  public void readFrom(String source, long offset) {
    this.source = source;
    this.offset = offset;
  }

  /** "topic/partition" of the record it was read from, or null. */
  public String source() {
    return source;
  }

  public long offset() {
    return offset;
  }

  /**
   * True when the history already had this record in every stream it goes to: a Kafka record read again after a
   * rebalance or a crash. Its first copy was handed to the shards (or is read from the history by the shards that
   * miss it), so it is not dispatched again. A stream that had it has sequence number -1 in {@link #stored()}.
   */
  public boolean storedBefore() {
    if (stored == null) {
      return false;
    }
    for (int i = 1; i < stored.length; i += 2) {
      if (stored[i] != STORED_BEFORE) {
        return false;
      }
    }
    return true;
  }

  /** The sequence number of a stream in {@link #stored()} that had the record already. */
  public static final long STORED_BEFORE = -1;

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
