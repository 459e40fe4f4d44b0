package io.odin.ws.history;

import io.odin.ws.protocol.Envelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.odin.ws.testsupport.Envelopes.broadcast;
import static io.odin.ws.testsupport.Envelopes.targeted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The history of a node without Redis: positions, pages, trimming, expiry. */
class MemoryHistoryTest {

  final AtomicLong now = new AtomicLong(1_000_000);
  final MemoryHistory history = new MemoryHistory(new HistorySettings(true, 5, 60_000, 100, 100, 10_000, 50_000), now::get);

  @Test
  void appendsGivePositionsAndOrderKeysThatSortInDispatchOrder() {
    Registered start = history.register("alice");
    Envelope a = targeted("a1", "alice", "bob");
    Envelope b = broadcast("b1");
    Envelope c = targeted("a2", "alice");
    history.append(List.of(a, b, c));
    assertEquals(4, a.stored().length);
    assertEquals(start.token().epoch(), a.stored()[0]);
    assertEquals(1, a.stored()[1]);
    assertEquals(1, a.stored()[3], "bob's own stream");
    assertNotEquals(a.stored()[0], a.stored()[2], "every stream has its own epoch");
    assertEquals(start.broadcast().epoch(), b.stored()[0]);
    assertEquals(2, c.stored()[1]);
    assertTrue(a.storedOrder().compareTo(b.storedOrder()) < 0 && b.storedOrder().compareTo(c.storedOrder()) < 0);
  }

  /** A targeted message as the Kafka pool makes it: read from {@code source} at {@code offset}. */
  static Envelope record(String id, String source, long offset, String... tokens) {
    Envelope e = targeted(id, tokens);
    e.readFrom(source, offset);
    return e;
  }

  @Test
  void aKafkaRecordReadAgainIsStoredOncePerStream() {
    history.append(List.of(record("k5", "t/0", 5, "alice"), record("k6", "t/0", 6, "alice")));
    Envelope again = record("k6", "t/0", 6, "alice");
    Envelope next = record("k7", "t/0", 7, "alice");
    Envelope otherPartition = record("p3", "t/1", 3, "alice");
    Envelope published = targeted("h1", "alice");
    history.append(List.of(again, next, otherPartition, published));
    assertTrue(again.storedBefore(), "offset 6 of t/0 was stored");
    assertEquals(Envelope.STORED_BEFORE, again.stored()[1]);
    assertEquals(List.of(3L, 4L, 5L), List.of(next.stored()[1], otherPartition.stored()[1], published.stored()[1]),
      "a later offset, another partition's and a published message are stored");
    Envelope toBob = record("k6", "t/0", 6, "alice", "bob");
    history.append(List.of(toBob));
    assertFalse(toBob.storedBefore(), "bob's stream never had it");
    assertEquals(Envelope.STORED_BEFORE, toBob.stored()[1]);
    assertEquals(1, toBob.stored()[3]);
  }

  @Test
  void readsPagesAfterACursorAndSaysWhenTheyAreNoLongerAll() {
    StreamPosition start = history.register("alice").token();
    List<Envelope> batch = new ArrayList<>();
    for (int i = 1; i <= 8; i++) {
      batch.add(targeted("m" + i, "alice"));
    }
    history.append(batch);
    String s = Streams.token("alice");
    // size 5: 4..8 are kept
    StreamPage page = history.read(new StreamRead(s, start.epoch(), 3, 2));
    assertTrue(page.contiguous());
    assertEquals(8, page.top());
    assertEquals(List.of(4L, 5L), page.messages().stream().map(StoredMessage::seq).toList());
    assertFalse(history.read(new StreamRead(s, start.epoch(), 2, 10)).contiguous(), "3 was trimmed");
    assertTrue(history.read(new StreamRead(s, start.epoch(), 8, 10)).contiguous(), "nothing missed");
    assertTrue(history.read(new StreamRead(s, start.epoch(), 8, 10)).messages().isEmpty());
    assertFalse(history.read(new StreamRead(s, start.epoch(), 9, 10)).contiguous(), "a position from the future");
    assertFalse(history.read(new StreamRead(s, start.epoch() + 1, 3, 10)).contiguous(), "another epoch");
  }

  @Test
  void aStreamExpiresOnlyOnceNoShardHoldsItsToken() {
    StreamPosition first = history.register("alice").token();
    history.append(List.of(targeted("x", "alice"), targeted("y", "carol")));
    now.addAndGet(120_000);
    history.sweep();
    assertEquals(first.epoch(), history.read(StreamRead.top(Streams.token("alice"))).epoch(), "held: kept");
    StreamPosition carol = history.read(StreamRead.top(Streams.token("carol"))).position();
    assertEquals(0, carol.seq(), "carol's stream expired and started again");
    history.unregister("alice");
    now.addAndGet(30_000);
    history.sweep();
    assertEquals(first.epoch(), history.read(StreamRead.top(Streams.token("alice"))).epoch(), "released 30 s ago: kept");
    now.addAndGet(31_000);
    history.sweep();
    assertNotEquals(first.epoch(), history.read(StreamRead.top(Streams.token("alice"))).epoch(),
      "released more than history.ttlMs ago: a new epoch, so an old cursor is not recovered");
  }
}
