package io.odin.ws.loadtest;

import java.util.List;

/**
 * What one client connection saw, for routing verification: its sessions (one per successful handshake: the first,
 * then each reconnect) and the sequence numbers of the load-tool messages it received over all of them, in arrival
 * order (duplicates included).
 *
 * @param id          the connection's index over the whole run (all processes)
 * @param token       its token index (see {@link TokenPlan})
 * @param sessions    its sessions in order; empty if it never opened
 * @param received    sequence numbers received, in arrival order, over all sessions
 * @param receivedIds with --reconnect-with-cursor, for each received message in the order of {@code received}, a hash
 *                    of its position in its own stream (its token's or the broadcasts': epoch and sequence number,
 *                    from its {@code id}): a message that arrived twice at two positions was stored twice, two
 *                    gateway messages (its ingest took it in twice); at one position it was delivered twice; empty
 *                    when ids were not read
 */
public record ConnectionRecord(int id, int token, List<Session> sessions, int[] received, int[] receivedIds) {

  private static final int[] NO_IDS = new int[0];

  public ConnectionRecord {
    if (receivedIds.length != 0 && receivedIds.length != received.length) {
      throw new IllegalArgumentException("one id per received message, or none: " + receivedIds.length + " ids for "
        + received.length + " messages");
    }
  }

  /** A connection whose messages' ids were not read. */
  public ConnectionRecord(int id, int token, List<Session> sessions, int[] received) {
    this(id, token, sessions, received, NO_IDS);
  }

  /** How a session began, as far as recovery goes. */
  public enum Resume {
    /** Connected without {@code since=}: a first connect, or a reconnect without a cursor. */
    NONE,
    /** Connected with {@code since=} and got {@code resumed} with {@code recovered:true}. */
    RECOVERED,
    /** Connected with {@code since=} and got {@code recovered:false}: what was published while away is gone. */
    NOT_RECOVERED,
    /** Connected with {@code since=} and closed before any {@code resumed} came: the next session decides. */
    PENDING
  }

  /** No close code: the session is still open, or the connection ended without a close frame (1006). */
  public static final int NO_CODE = -1;

  /**
   * One handshake's lifetime.
   *
   * @param openedAtMicros  when the handshake completed
   * @param closedAtMicros  when it closed, or {@link Long#MAX_VALUE} if still open when receipts were taken
   * @param closeCode       the close code it ended with (1006 when the TCP connection ended without a close frame),
   *                        or {@link #NO_CODE} while open
   * @param byClient        true when the tool closed it (an offline spell), not the server
   * @param resume          what {@code resumed} said
   * @param resumedAtMicros when {@code resumed} arrived, or {@link Long#MAX_VALUE}
   * @param replayed        the {@code replayed} count of its {@code resumed} frame
   * @param firstReceived   index into {@link #received} of its first message
   */
  public record Session(long openedAtMicros, long closedAtMicros, int closeCode, boolean byClient, Resume resume,
                        long resumedAtMicros, int replayed, int firstReceived) {

    public boolean open() {
      return closedAtMicros == Long.MAX_VALUE;
    }
  }

  /** A connection with one session that was never resumed (a first connect, open until {@code closedAtMicros}). */
  public static ConnectionRecord single(int id, int token, long openedAtMicros, long closedAtMicros, int[] received) {
    if (openedAtMicros == Long.MAX_VALUE) {
      return new ConnectionRecord(id, token, List.of(), received);
    }
    return new ConnectionRecord(id, token, List.of(new Session(openedAtMicros, closedAtMicros,
      closedAtMicros == Long.MAX_VALUE ? NO_CODE : 1000, false, Resume.NONE, Long.MAX_VALUE, 0, 0)), received);
  }

  public boolean opened() {
    return !sessions.isEmpty();
  }

  /** When its first handshake completed, or {@link Long#MAX_VALUE} if it never opened. */
  public long openedAtMicros() {
    return sessions.isEmpty() ? Long.MAX_VALUE : sessions.get(0).openedAtMicros();
  }

  /** When its last session closed, or {@link Long#MAX_VALUE} if it is open (or never opened). */
  public long closedAtMicros() {
    return sessions.isEmpty() ? Long.MAX_VALUE : sessions.get(sessions.size() - 1).closedAtMicros();
  }
}
