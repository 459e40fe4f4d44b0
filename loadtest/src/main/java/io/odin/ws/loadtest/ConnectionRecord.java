package io.odin.ws.loadtest;

/**
 * What one client connection saw, for routing verification: when it was open and the sequence numbers of
 * the load-tool messages it received, in arrival order (duplicates included).
 * <p>With {@code --reconnect} a connection that the server closed comes back (to the next node, with {@code since=}
 * its last cursor) and stays one record: it is owed every message from its first open to its last close, except in
 * its {@code gaps}, the times it was away and came back without recovering (no cursor yet, or the gateway answered
 * {@code recovered:false}). A reconnect that recovered leaves no gap: what was published while it was away must arrive,
 * by the replay, exactly once.
 *
 * @param id             the connection's index over the whole run (all processes)
 * @param token          its token index (see {@link TokenPlan})
 * @param openedAtMicros when its (first) handshake completed, or {@link Long#MAX_VALUE} if it never opened
 * @param closedAtMicros when it closed for good, or {@link Long#MAX_VALUE} if it was open when receipts were taken
 * @param received       sequence numbers received, in arrival order
 * @param gaps           pairs {@code [from, to]} (microseconds) during which nothing was owed to it; empty without gaps
 * @param receivedIds    with --reconnect, the hash of each received message's {@code id} (the gateway's cursor), in
 *                       the order of {@code received}: a message that arrives twice under two ids was two gateway
 *                       messages (the ingest took it twice), under one id it was delivered twice; empty otherwise
 */
public record ConnectionRecord(int id, int token, long openedAtMicros, long closedAtMicros, int[] received, long[] gaps,
                               int[] receivedIds) {

  private static final long[] NO_GAPS = new long[0];
  private static final int[] NO_IDS = new int[0];

  public ConnectionRecord {
    if (gaps.length % 2 != 0) {
      throw new IllegalArgumentException("gaps come in pairs [from, to], got " + gaps.length + " values");
    }
    if (receivedIds.length != 0 && receivedIds.length != received.length) {
      throw new IllegalArgumentException("one id per received message, or none: " + receivedIds.length + " ids for "
        + received.length + " messages");
    }
  }

  /** A connection without reconnects: owed everything between its open and its close. */
  public ConnectionRecord(int id, int token, long openedAtMicros, long closedAtMicros, int[] received) {
    this(id, token, openedAtMicros, closedAtMicros, received, NO_GAPS, NO_IDS);
  }

  public ConnectionRecord(int id, int token, long openedAtMicros, long closedAtMicros, int[] received, long[] gaps) {
    this(id, token, openedAtMicros, closedAtMicros, received, gaps, NO_IDS);
  }

  public boolean opened() {
    return openedAtMicros != Long.MAX_VALUE;
  }

  /**
   * Whether a message sent at {@code micros} fell into one of its gaps, each widened by {@code before} (a message sent
   * just before the close may still have been in flight) and {@code after} (the return's registration settling).
   */
  public boolean inGap(long micros, long before, long after) {
    for (int i = 0; i < gaps.length; i += 2) {
      if (micros >= gaps[i] - before && micros <= gaps[i + 1] + after) {
        return true;
      }
    }
    return false;
  }
}
