package io.odin.ws.shard;

import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A stream's order at a shard: in sequence, whatever order messages arrive in, or a gap read from the history. */
class StreamOrderTest {

  static StreamMessage m(long epoch, long seq) {
    return new StreamMessage(new byte[] {'{', '}'}, epoch, seq, String.format("%021d", seq), null);
  }

  static List<String> seqs(List<StreamMessage> ms) {
    List<String> out = new ArrayList<>();
    for (StreamMessage m : ms) {
      out.add(m.epoch + ":" + m.seq);
    }
    return out;
  }

  @Test
  void handsOnInSequenceAndHoldsWhatComesEarly() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertEquals(List.of("7:4"), seqs(o.offer(m(7, 4))));
    List<StreamMessage> early = o.offer(m(7, 6));
    assertTrue(early.isEmpty());
    assertFalse(early == StreamOrder.DUPLICATE, "a message that waits is not a duplicate");
    assertTrue(o.waiting());
    assertTrue(o.offer(m(7, 7)).isEmpty());
    assertEquals(List.of("7:5", "7:6", "7:7"), seqs(o.offer(m(7, 5))));
    assertFalse(o.waiting());
    assertSame(StreamOrder.DUPLICATE, o.offer(m(7, 6)));
    assertEquals(new StreamPosition(7, 7), o.last());
  }

  @Test
  void aGapIsFilledFromAPageOfTheHistory() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertTrue(o.offer(m(7, 7)).isEmpty());
    StreamRead read = o.gapRead("t:a");
    assertEquals(new StreamRead("t:a", 7, 3, 3), read);
    StreamPage page = new StreamPage(7, 7, true, List.of(new StoredMessage(4, "4", new byte[2]),
      new StoredMessage(5, "5", new byte[2]), new StoredMessage(6, "6", new byte[2])));
    assertEquals(List.of("7:4", "7:5", "7:6", "7:7"), seqs(o.filled(page)));
    assertFalse(o.waiting());
    assertSame(StreamOrder.DUPLICATE, o.offer(m(7, 5)), "the late copy of a filled message is not handed on twice");
  }

  @Test
  void aGapTheHistoryCannotFillIsSkipped() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    o.offer(m(7, 6));
    assertNull(o.filled(new StreamPage(7, 9, false, List.of())));
    assertEquals(List.of("7:6"), seqs(o.skip()));
    assertEquals(new StreamPosition(7, 6), o.last());
  }

  @Test
  void aNewEpochStartsAtOneAndALateMessageOfTheOldOneDoesNotMovePositionsBack() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertTrue(o.offer(m(9, 2)).isEmpty(), "9:1 first");
    assertEquals(new StreamRead("t:a", 9, 0, 1), o.gapRead("t:a"));
    assertEquals(List.of("9:1", "9:2"), seqs(o.offer(m(9, 1))));
    List<StreamMessage> late = o.offer(m(7, 4));
    assertEquals(List.of("7:4"), seqs(late));
    assertTrue(late.get(0).late);
    assertEquals(new StreamPosition(9, 2), o.last());
  }

  @Test
  void aLateCopyOfTheOldEpochIsHandedOnOnlyOnce() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertTrue(o.offer(m(7, 5)).isEmpty());
    StreamPage page = new StreamPage(7, 5, true, List.of(new StoredMessage(4, "4", new byte[2])));
    assertEquals(List.of("7:4", "7:5"), seqs(o.filled(page)), "7:4 read from the history");
    assertEquals(List.of("9:1"), seqs(o.offer(m(9, 1))));
    assertSame(StreamOrder.DUPLICATE, o.offer(m(7, 4)), "the live 7:4, late after the new epoch, was handed on already");
    assertEquals(List.of("7:6"), seqs(o.offer(m(7, 6))), "a late message nobody had is handed on");
    assertSame(StreamOrder.DUPLICATE, o.offer(m(7, 6)), "and only once");
    assertEquals(new StreamPosition(9, 1), o.last());
  }

  @Test
  void whatWaitedForAGapOfTheOldEpochIsHandedOnOnce() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertTrue(o.offer(m(7, 6)).isEmpty());
    assertEquals(List.of("7:6", "9:1"), seqs(o.offer(m(9, 1))), "7:6 goes on when the new epoch starts");
    assertSame(StreamOrder.DUPLICATE, o.offer(m(7, 6)));
    assertEquals(List.of("7:5"), seqs(o.offer(m(7, 5))));
  }

  @Test
  void unstoredMessagesGoStraightOnAndLeaveThePositionUnknown() {
    StreamOrder o = new StreamOrder();
    o.start(new StreamPosition(7, 3));
    assertEquals(List.of("0:0"), seqs(o.offer(m(0, 0))));
    assertFalse(o.last().known());
    assertEquals(List.of("8:1"), seqs(o.offer(m(8, 1))), "the next stored message sets it again");
    assertEquals(new StreamPosition(8, 1), o.last());
  }
}
