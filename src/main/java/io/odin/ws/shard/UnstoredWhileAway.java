package io.odin.ws.shard;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Streams that a message went out unstored for while their clients may have been away. A message goes out unstored
 * when its store call failed or timed out, and then its lookup failed with it (one call), so it is sent to every shard
 * of every node: a shard without a connection of its stream drops it (so does one whose connection is closing), and no
 * history holds it. The node that sent it raises its streams' generation once Redis answers it and tells the other
 * nodes within about 100 ms ({@code unstoredSlots}); until both have happened a read here may still find the stream's
 * old epoch and answer {@code recovered:true} over the message (the hour soak's one missing message,
 * docs/benchmarks.md). So for a window ({@code history.unstoredWindowMs}) after such a message a reconnect whose
 * cursor covers its stream (the token's, a channel's, the broadcast stream, which every cursor covers) is not
 * recovered here.
 * <p>Bounded: {@code history.maxUnstoredStreams} streams at most; pushing out one still inside its window makes every
 * reconnect unrecoverable until that window ends (fail-closed). Plain state, confined to the shard's event loop.
 */
final class UnstoredWhileAway {

  /** How long a read may still answer from the old epoch: the sender's raise and announcement, with room for load. */
  private final long windowMillis;
  private final int maxStreams;
  /** Stream to when its last unstored message passed, oldest first. */
  private final LinkedHashMap<String, Long> streams = new LinkedHashMap<>();
  private long everyStreamUntilMillis = Long.MIN_VALUE / 2;

  UnstoredWhileAway(long windowMillis, int maxStreams) {
    this.windowMillis = windowMillis;
    this.maxStreams = maxStreams;
  }

  /**
   * An unstored message of {@code stream} reached this shard (whether or not a connection of it is here). Answers how
   * many streams still inside their window were pushed out for it (every reconnect unrecoverable meanwhile).
   */
  int unstored(String stream, long nowMillis) {
    streams.remove(stream);
    streams.put(stream, nowMillis);
    int pushedOut = 0;
    Iterator<Map.Entry<String, Long>> oldest = streams.entrySet().iterator();
    while (oldest.hasNext()) {
      Map.Entry<String, Long> e = oldest.next();
      long until = e.getValue() + windowMillis;
      if (until < nowMillis) {
        oldest.remove();
      } else if (streams.size() > maxStreams) {
        everyStreamUntilMillis = Math.max(everyStreamUntilMillis, until);
        oldest.remove();
        pushedOut++;
      } else {
        break;
      }
    }
    return pushedOut;
  }

  /** Whether a reconnect whose cursor covers {@code stream} now may have missed a message of it that no history holds. */
  boolean missed(String stream, long nowMillis) {
    if (nowMillis <= everyStreamUntilMillis) {
      return true;
    }
    Long at = streams.get(stream);
    return at != null && nowMillis <= at + windowMillis;
  }

  int streams() {
    return streams.size();
  }
}
