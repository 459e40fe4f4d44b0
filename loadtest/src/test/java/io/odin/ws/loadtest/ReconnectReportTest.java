package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A disruption's figures from the sessions it closed: how many, and how long until they were back and recovered. */
class ReconnectReportTest {

  static final long SEC = 1_000_000;

  private static ConnectionRecord.Session s(long open, long close, ConnectionRecord.Resume resume, long resumedAt,
                                            int replayed) {
    return new ConnectionRecord.Session(open, close, close == Long.MAX_VALUE ? ConnectionRecord.NO_CODE : 1001, false,
      resume, resumedAt, replayed, 0);
  }

  @Test
  void aDrainsConnectionsAreFollowedUntilTheyAreBackAndRecovered() {
    List<ConnectionRecord> records = List.of(
      // closed by the drain at 10 s, back at 11 s, recovered at 11.2 s with 5 replayed
      new ConnectionRecord(0, 0, List.of(s(SEC, 10 * SEC, ConnectionRecord.Resume.NONE, Long.MAX_VALUE, 0),
        s(11 * SEC, Long.MAX_VALUE, ConnectionRecord.Resume.RECOVERED, 11 * SEC + SEC / 5, 5)), new int[0]),
      // closed, a first attempt closed before its resumed, then not recovered at 13 s
      new ConnectionRecord(1, 1, List.of(s(SEC, 10 * SEC, ConnectionRecord.Resume.NONE, Long.MAX_VALUE, 0),
        s(11 * SEC, 11 * SEC + 1, ConnectionRecord.Resume.PENDING, Long.MAX_VALUE, 0),
        s(12 * SEC, Long.MAX_VALUE, ConnectionRecord.Resume.NOT_RECOVERED, 13 * SEC, 0)), new int[0]),
      // closed and never back
      new ConnectionRecord(2, 2, List.of(s(SEC, 10 * SEC + SEC / 2, ConnectionRecord.Resume.NONE, Long.MAX_VALUE, 0)),
        new int[0]),
      // opened after the drain: not its connection
      new ConnectionRecord(3, 0, List.of(s(10 * SEC + 1, Long.MAX_VALUE, ConnectionRecord.Resume.NONE, Long.MAX_VALUE,
        0)), new int[0]));
    JsonObject r = ReconnectReport.of(records, List.of(new ReconnectReport.Event("drain node 7", 10 * SEC - 1, 9.0)));
    assertEquals(3, r.getLong("reconnects"));
    assertEquals(1, r.getLong("recovered"));
    assertEquals(1, r.getLong("notRecovered"));
    assertEquals(1, r.getLong("undecided"));
    assertEquals(5, r.getLong("replayed"));
    assertEquals(1, r.getLong("notBackAtEnd"));
    assertEquals(4, r.getJsonObject("closesByServer").getLong("1001"));
    JsonObject e = r.getJsonArray("events").getJsonObject(0);
    assertEquals(3, e.getLong("connectionsClosed"));
    assertEquals(2, e.getLong("back"));
    assertEquals(1, e.getLong("notBack"));
    assertEquals(1, e.getLong("recovered"));
    assertEquals(1, e.getLong("notRecovered"));
    assertEquals(5, e.getLong("replayed"));
    assertEquals(1.0, e.getJsonObject("secondsUntilBack").getDouble("max"), 0.01);
    assertEquals(3.0, e.getJsonObject("secondsUntilResumed").getDouble("max"), 0.01);
  }

  @Test
  void withoutCursorsThereIsNoResumedTime() {
    List<ConnectionRecord> records = List.of(
      new ConnectionRecord(0, 0, List.of(s(SEC, 10 * SEC, ConnectionRecord.Resume.NONE, Long.MAX_VALUE, 0),
        s(12 * SEC, Long.MAX_VALUE, ConnectionRecord.Resume.NONE, Long.MAX_VALUE, 0)), new int[0]));
    JsonObject e = ReconnectReport.of(records, List.of(new ReconnectReport.Event("kill node 7", 10 * SEC, 9.0)))
      .getJsonArray("events").getJsonObject(0);
    assertEquals(1, e.getLong("backWithoutCursor"));
    assertEquals(2.0, e.getJsonObject("secondsUntilBack").getDouble("max"), 0.01);
    assertNull(e.getJsonObject("secondsUntilResumed"));
  }
}
