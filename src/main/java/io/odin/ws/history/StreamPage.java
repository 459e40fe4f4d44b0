package io.odin.ws.history;

import java.util.List;

/**
 * The answer to a {@link StreamRead}: where the stream stands ({@code epoch}, {@code top}: the last sequence number
 * appended) and, when the read's epoch is the stream's and nothing between {@code afterSeq} and the first message
 * returned is missing, {@code contiguous} with up to {@code limit} messages in sequence order. Not contiguous means
 * the messages after {@code afterSeq} are not all in the store any more (another epoch, trimmed, expired, or a
 * position from the future).
 */
public record StreamPage(long epoch, long top, boolean contiguous, List<StoredMessage> messages) {

  public StreamPosition position() {
    return new StreamPosition(epoch, top);
  }
}
