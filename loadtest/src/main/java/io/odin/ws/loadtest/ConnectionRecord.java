package io.odin.ws.loadtest;

/**
 * What one client connection saw, for routing verification: when it was open and the sequence numbers of
 * the load-tool messages it received, in arrival order (duplicates included).
 *
 * @param id             the connection's index over the whole run (all processes)
 * @param token          its token index (see {@link TokenPlan})
 * @param openedAtMicros when its handshake completed, or {@link Long#MAX_VALUE} if it never opened
 * @param closedAtMicros when it closed, or {@link Long#MAX_VALUE} if it was still open when receipts were taken
 * @param received       sequence numbers received, in arrival order
 */
public record ConnectionRecord(int id, int token, long openedAtMicros, long closedAtMicros, int[] received) {

  public boolean opened() {
    return openedAtMicros != Long.MAX_VALUE;
  }
}
