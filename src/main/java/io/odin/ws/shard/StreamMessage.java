package io.odin.ws.shard;

import io.odin.ws.history.StoredMessage;
import io.odin.ws.protocol.Envelope;

/**
 * One message of one stream as a shard delivers it: its frame (without {@code id}), where it stands in its stream
 * (epoch 0: not stored), its place in the store's dispatch order, and the envelope it came in (null when it was
 * read from the history: a replay or a filled gap).
 */
final class StreamMessage {

  final byte[] frame;
  final long epoch;
  final long seq;
  final String order;
  final Envelope envelope;
  /** A late message of a stream's previous epoch: delivered without moving the connection's position back. */
  boolean late;

  StreamMessage(byte[] frame, long epoch, long seq, String order, Envelope envelope) {
    this.frame = frame;
    this.epoch = epoch;
    this.seq = seq;
    this.order = order;
    this.envelope = envelope;
  }

  /** Stream {@code index}'s copy of a dispatched envelope (index: the token's position, 0 for a broadcast). */
  static StreamMessage of(Envelope e, int index) {
    long[] stored = e.stored();
    return stored == null ? new StreamMessage(e.frame(), 0, 0, null, e)
      : new StreamMessage(e.frame(), stored[index * 2], stored[index * 2 + 1], e.storedOrder(), e);
  }

  static StreamMessage of(long epoch, StoredMessage m) {
    return new StreamMessage(m.frame(), epoch, m.seq(), m.order(), null);
  }

  boolean stored() {
    return epoch != 0;
  }

  @Override
  public String toString() {
    return epoch + ":" + seq;
  }
}
