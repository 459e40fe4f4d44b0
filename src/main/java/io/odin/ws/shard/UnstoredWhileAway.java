package io.odin.ws.shard;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Messages that went out unstored while their client had no connection on this shard. A message goes out unstored when
 * its store call failed or timed out, and then its lookup failed with it (one call), so it is sent to every shard of
 * every node: a shard without the token's connection drops it (so does one whose connection is closing), and no
 * history holds it. The node that sent it raises
 * its streams' generation once Redis answers it and tells the other nodes within about 100 ms ({@code unstoredSlots});
 * until both have happened a read here may still find the stream's old epoch and answer {@code recovered:true} over the
 * message (the hour soak's one missing message, docs/benchmarks.md). So for a window ({@code history.unstoredWindowMs})
 * after such a message a reconnect of its token, or after an unstored broadcast any reconnect, is not recovered here.
 * <p>Bounded: {@code history.maxUnstoredTokens} tokens at most; pushing out one still inside its window makes every
 * reconnect unrecoverable until that window ends (fail-closed). Plain state, confined to the shard's event loop.
 */
final class UnstoredWhileAway {

  /** How long a read may still answer from the old epoch: the sender's raise and announcement, with room for load. */
  private final long windowMillis;
  private final int maxTokens;
  /** Token to when its last unstored message passed, oldest first. */
  private final LinkedHashMap<String, Long> tokens = new LinkedHashMap<>();
  private long broadcastAtMillis = Long.MIN_VALUE / 2;
  private long everyTokenUntilMillis = Long.MIN_VALUE / 2;

  UnstoredWhileAway(long windowMillis, int maxTokens) {
    this.windowMillis = windowMillis;
    this.maxTokens = maxTokens;
  }

  /**
   * An unstored message of {@code token} reached this shard (whether or not a connection of it is here). Answers how
   * many tokens still inside their window were pushed out for it (every reconnect unrecoverable meanwhile).
   */
  int token(String token, long nowMillis) {
    tokens.remove(token);
    tokens.put(token, nowMillis);
    int pushedOut = 0;
    Iterator<Map.Entry<String, Long>> oldest = tokens.entrySet().iterator();
    while (oldest.hasNext()) {
      Map.Entry<String, Long> e = oldest.next();
      long until = e.getValue() + windowMillis;
      if (until < nowMillis) {
        oldest.remove();
      } else if (tokens.size() > maxTokens) {
        everyTokenUntilMillis = Math.max(everyTokenUntilMillis, until);
        oldest.remove();
        pushedOut++;
      } else {
        break;
      }
    }
    return pushedOut;
  }

  /** An unstored broadcast passed this shard: the clients away missed it. */
  void broadcast(long nowMillis) {
    broadcastAtMillis = nowMillis;
  }

  /** Whether a reconnect of {@code token} now may have missed a message that no history holds. */
  boolean missedBy(String token, long nowMillis) {
    if (nowMillis <= broadcastAtMillis + windowMillis || nowMillis <= everyTokenUntilMillis) {
      return true;
    }
    Long at = tokens.get(token);
    return at != null && nowMillis <= at + windowMillis;
  }

  int tokens() {
    return tokens.size();
  }
}
