package io.odin.ws.history;

/**
 * Where a stream stands, or where a connection stands in it: the stream's epoch and a sequence number (of the last
 * message appended, or received). Sequence numbers of one epoch are contiguous from 1, so a missing message shows
 * as a jump. The epoch changes whenever the store may have lost messages of the stream (restarted, failed over,
 * the stream expired, or messages were dispatched without being stored); epoch 0 is {@link #UNKNOWN}.
 */
public record StreamPosition(long epoch, long seq) {

  /** Nothing is known: a cursor holding it cannot be recovered from. */
  public static final StreamPosition UNKNOWN = new StreamPosition(0, 0);

  public boolean known() {
    return epoch != 0;
  }

  /** The position of the message that follows this one in the same epoch. */
  public boolean isFollowedBy(long epoch, long seq) {
    return this.epoch == epoch && this.seq + 1 == seq;
  }

  @Override
  public String toString() {
    return known() ? epoch + ":" + seq : "unknown";
  }
}
