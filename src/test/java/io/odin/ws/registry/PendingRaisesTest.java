package io.odin.ws.registry;

import io.odin.ws.protocol.Envelope;
import org.junit.jupiter.api.Test;

import java.util.BitSet;
import java.util.List;
import java.util.Map;

import static io.odin.ws.testsupport.Envelopes.targeted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generations still to raise: only the slots of what went out unstored, settled by the raise that carried them. */
class PendingRaisesTest {

  final RegistryKeys keys = new RegistryKeys("odin:");
  final PendingRaises pending = new PendingRaises(keys);

  int slot(String token) {
    return pending.slotOf(io.odin.ws.history.Streams.token(token));
  }

  @Test
  void onlyTheSlotsOfUnstoredAppendsAreNoted() {
    List<Envelope> batch = List.of(targeted("a", "alice"), targeted("b", "bob"), targeted("c", "carol"));
    HistoryScripts.Appends appends = HistoryScripts.appends(batch);
    long[] seqs = new long[appends.count()];
    for (int a = 0; a < seqs.length; a++) {
      String stream = appends.streams().get(appends.streamOf()[a]);
      seqs[a] = stream.endsWith("bob") ? 0 : 7;
    }
    assertTrue(pending.unstored(appends, seqs));
    Map<Integer, Long> selected = pending.select(s -> true);
    assertEquals(List.of(slot("bob")), List.copyOf(selected.keySet()));
    assertEquals(List.of(keys.historyGeneration(io.odin.ws.history.Streams.token("bob"))), pending.keys(selected));
    assertEquals(String.valueOf(slot("bob")), pending.ranges());
    assertFalse(pending.unstored(appends, new long[] {1, 2, 3}), "all stored: nothing noted");
  }

  @Test
  void aRaiseSettlesOnlyWhatItCarriedAndWhatLanded() {
    BitSet slots = new BitSet();
    slots.set(5);
    slots.set(9);
    pending.unstoredElsewhere(slots);
    Map<Integer, Long> sent = pending.select(s -> true);
    // slot 9 went unstored again while the raise was on its way: the newer need stays
    BitSet again = new BitSet();
    again.set(9);
    pending.unstoredElsewhere(again);
    pending.raised(sent, new int[0]);
    assertEquals("9", pending.ranges());
    // a raise that did not land (index 0: slot 9 not on that master) keeps it
    Map<Integer, Long> next = pending.select(s -> true);
    pending.raised(next, new int[] {0});
    assertEquals("9", pending.ranges());
    pending.raised(pending.select(s -> true), new int[0]);
    assertTrue(pending.isEmpty());
    assertEquals(Map.of(), pending.select(s -> true));
  }

  @Test
  void selectKeepsToTheSlotsAsked() {
    BitSet slots = new BitSet();
    slots.set(1, 4);
    pending.unstoredElsewhere(slots);
    assertEquals(List.of(2), List.copyOf(pending.select(s -> s == 2).keySet()));
  }

  @Test
  void positionsInASlotStillToRaiseAreTakenBackExceptRecordsReadAgain() {
    List<Envelope> batch = List.of(targeted("a", "alice", "bob"));
    HistoryScripts.Appends appends = HistoryScripts.appends(batch);
    BitSet slots = new BitSet();
    slots.set(slot("alice"));
    pending.unstoredElsewhere(slots);
    long[] seqs = new long[appends.count()];
    for (int a = 0; a < seqs.length; a++) {
      seqs[a] = appends.streams().get(appends.streamOf()[a]).endsWith("alice") ? 4 : 9;
    }
    long[] readAgain = {-1, -1};
    pending.distrust(appends, seqs);
    pending.distrust(appends, readAgain);
    for (int a = 0; a < seqs.length; a++) {
      boolean alice = appends.streams().get(appends.streamOf()[a]).endsWith("alice");
      assertEquals(alice ? 0 : 9, seqs[a]);
    }
    assertEquals(-1, readAgain[0]);
    assertEquals(-1, readAgain[1]);
  }
}
