package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the connections' reconnects came to, from their sessions: closes by code, reconnects, {@code resumed}
 * answers, and for each disruption of the run (a node drained or killed, an offline spell) how many connections it
 * closed and how long until all of them were back and (with cursors) recovered. Plain Java, no I/O.
 */
final class ReconnectReport {

  /** A disruption the tool caused, at {@code atMicros} (MicroClock). */
  record Event(String what, long atMicros, double atSeconds) {
  }

  /** A session closed this long after an event still counts as closed by it (a node drains its sockets in slices). */
  static final long ATTRIBUTION_MICROS = 30_000_000;

  private ReconnectReport() {
  }

  static JsonObject of(List<ConnectionRecord> records, List<Event> events) {
    Map<String, Long> closesByCode = new TreeMap<>();
    long closedByTool = 0;
    long reconnects = 0;
    long recovered = 0;
    long notRecovered = 0;
    long pending = 0;
    long replayed = 0;
    long notBack = 0;
    for (ConnectionRecord c : records) {
      List<ConnectionRecord.Session> sessions = c.sessions();
      for (int i = 0; i < sessions.size(); i++) {
        ConnectionRecord.Session s = sessions.get(i);
        if (i > 0) {
          reconnects++;
          switch (s.resume()) {
            case RECOVERED -> {
              recovered++;
              replayed += s.replayed();
            }
            case NOT_RECOVERED -> notRecovered++;
            case PENDING -> pending++;
            case NONE -> { }
          }
        }
        if (!s.open()) {
          if (s.byClient()) {
            closedByTool++;
          } else {
            closesByCode.merge(Integer.toString(s.closeCode()), 1L, Long::sum);
          }
        }
      }
      if (!sessions.isEmpty() && !sessions.get(sessions.size() - 1).open()) {
        notBack++;
      }
    }
    JsonArray byEvent = new JsonArray();
    for (int i = 0; i < events.size(); i++) {
      long until = i + 1 < events.size() ? events.get(i + 1).atMicros() : Long.MAX_VALUE;
      byEvent.add(event(records, events.get(i), until));
    }
    return new JsonObject()
      .put("closesByServer", new JsonObject(new java.util.LinkedHashMap<>(closesByCode)))
      .put("closesByTool", closedByTool)
      .put("reconnects", reconnects)
      .put("recovered", recovered)
      .put("notRecovered", notRecovered)
      // connected with since= and closed again before any resumed came
      .put("undecided", pending)
      .put("replayed", replayed)
      .put("notBackAtEnd", notBack)
      .put("events", byEvent);
  }

  /**
   * One disruption: the sessions open at its time that closed within {@link #ATTRIBUTION_MICROS} after it (and before
   * the next disruption), and per connection the time from the disruption until its next session opened and until
   * that session's {@code resumed} came.
   */
  static JsonObject event(List<ConnectionRecord> records, Event e, long nextEventMicros) {
    long limit = Math.min(nextEventMicros, e.atMicros() + ATTRIBUTION_MICROS);
    Histogram back = FleetStats.newHistogram();
    Histogram resumed = FleetStats.newHistogram();
    long closed = 0;
    long notBack = 0;
    long recovered = 0;
    long notRecovered = 0;
    long withoutCursor = 0;
    long replayed = 0;
    for (ConnectionRecord c : records) {
      List<ConnectionRecord.Session> sessions = c.sessions();
      for (int i = 0; i < sessions.size(); i++) {
        ConnectionRecord.Session s = sessions.get(i);
        if (s.openedAtMicros() > e.atMicros() || s.closedAtMicros() < e.atMicros() || s.closedAtMicros() >= limit) {
          continue;
        }
        closed++;
        // the first session after it that opened, and the first that was answered
        ConnectionRecord.Session reopened = null;
        ConnectionRecord.Session decided = null;
        for (int k = i + 1; k < sessions.size(); k++) {
          ConnectionRecord.Session next = sessions.get(k);
          if (reopened == null) {
            reopened = next;
          }
          if (next.resume() != ConnectionRecord.Resume.PENDING) {
            decided = next;
            break;
          }
        }
        if (reopened == null) {
          notBack++;
          break;
        }
        back.recordValue(Math.max(0, reopened.openedAtMicros() - e.atMicros()));
        if (decided != null) {
          switch (decided.resume()) {
            case RECOVERED -> {
              recovered++;
              replayed += decided.replayed();
              resumed.recordValue(Math.max(0, decided.resumedAtMicros() - e.atMicros()));
            }
            case NOT_RECOVERED -> {
              notRecovered++;
              resumed.recordValue(Math.max(0, decided.resumedAtMicros() - e.atMicros()));
            }
            default -> withoutCursor++;
          }
        }
        break;
      }
    }
    JsonObject j = new JsonObject()
      .put("what", e.what())
      .put("atSeconds", Sample.round(e.atSeconds(), 3))
      .put("atEpochMillis", e.atMicros() / 1000)
      .put("connectionsClosed", closed)
      .put("back", back.getTotalCount())
      .put("notBack", notBack)
      .put("recovered", recovered)
      .put("notRecovered", notRecovered)
      .put("backWithoutCursor", withoutCursor)
      .put("replayed", replayed)
      .put("secondsUntilBack", seconds(back));
    if (resumed.getTotalCount() > 0) {
      // from the disruption until the connection's resumed frame: with cursors, "all recovered" is its max
      j.put("secondsUntilResumed", seconds(resumed));
    }
    return j;
  }

  private static JsonObject seconds(Histogram h) {
    JsonObject j = new JsonObject().put("count", h.getTotalCount());
    if (h.getTotalCount() > 0) {
      j.put("p50", h.getValueAtPercentile(50) / 1e6)
        .put("p99", h.getValueAtPercentile(99) / 1e6)
        .put("max", h.getMaxValue() / 1e6);
    }
    return j;
  }
}
