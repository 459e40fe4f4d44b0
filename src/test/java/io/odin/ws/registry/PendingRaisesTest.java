package io.odin.ws.registry;

import io.odin.ws.history.Streams;
import io.odin.ws.protocol.Envelope;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.odin.ws.testsupport.Envelopes.targeted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generations still to raise: only the slots of what went out unstored, carried only by calls on those slots'
 * streams, settled by the raise that carried them.
 */
class PendingRaisesTest {

  final RegistryKeys keys = new RegistryKeys("odin:");
  final ShardDirectory directory = new ShardDirectory("n1");
  final PendingRaises pending = new PendingRaises(keys, directory);

  int slot(String token) {
    return pending.slotOf(Streams.token(token));
  }

  List<String> streams(String... tokens) {
    return java.util.Arrays.stream(tokens).map(Streams::token).toList();
  }

  /** What the batch's streams were answered: {@code seq} for each, 0 (unstored) for those of {@code unstored}. */
  long[] seqs(HistoryScripts.Appends appends, long seq, String unstored) {
    long[] out = new long[appends.count()];
    for (int a = 0; a < out.length; a++) {
      out[a] = appends.streams().get(appends.streamOf()[a]).equals(Streams.token(unstored)) ? 0 : seq;
    }
    return out;
  }

  @Test
  void onlyTheSlotsOfUnstoredAppendsAreNotedAndOnlyCallsOnThemCarryTheRaise() {
    HistoryScripts.Appends appends = HistoryScripts.appends(List.of(targeted("a", "alice", "bob", "carol")));
    assertTrue(pending.unstored(appends, seqs(appends, 7, "bob")));
    assertEquals(String.valueOf(slot("bob")), pending.ranges());
    Map<Integer, Long> carried = pending.selectFor(streams("alice", "bob"));
    assertEquals(List.of(slot("bob")), List.copyOf(carried.keySet()));
    assertEquals(List.of(keys.historyGeneration(Streams.token("bob"))), pending.keys(carried));
    assertEquals(Map.of(), pending.selectFor(streams("alice", "carol")), "a call on other slots carries nothing");
    assertFalse(pending.unstored(appends, new long[] {1, 2, 3}), "all stored: nothing noted");
  }

  @Test
  void aRaiseSettlesOnlyWhatItCarriedAndWhatLanded() {
    HistoryScripts.Appends appends = HistoryScripts.appends(List.of(targeted("a", "alice")));
    pending.unstored(appends, new long[] {0});
    Map<Integer, Long> sent = pending.selectFor(streams("alice"));
    // alice's slot went unstored again while the raise was on its way: the newer need stays
    pending.unstored(appends, new long[] {0});
    pending.raised(sent, new int[0]);
    assertEquals(String.valueOf(slot("alice")), pending.ranges());
    // a raise that did not land (index 0: the slot was not on that master) keeps it
    pending.raised(pending.selectFor(streams("alice")), new int[] {0});
    assertFalse(pending.isEmpty());
    pending.raised(pending.selectFor(streams("alice")), new int[0]);
    assertTrue(pending.isEmpty());
    assertEquals(Map.of(), pending.selectFor(streams("alice")));
  }

  @Test
  void slotsAnotherNodeAnnouncedArePendingHereToo() {
    directory.unstored("n2", 1, slot("dave") + "," + slot("erin"));
    assertEquals(List.of(slot("dave")), List.copyOf(pending.selectFor(streams("dave")).keySet()));
    assertEquals(List.of(slot("erin")), List.copyOf(pending.selectFor(streams("erin")).keySet()));
    directory.unstored("n3", 1, "");
    assertEquals(2, pending.ranges().split(",").length, "a node that raised them all already adds none");
  }

  @Test
  void positionsInASlotStillToRaiseAreTakenBackExceptRecordsReadAgain() {
    HistoryScripts.Appends appends = HistoryScripts.appends(List.of(targeted("a", "alice", "bob")));
    pending.unstored(appends, seqs(appends, 5, "alice"));
    long[] seqs = seqs(appends, 9, "nobody");
    long[] readAgain = {-1, -1};
    pending.distrust(appends, seqs);
    pending.distrust(appends, readAgain);
    for (int a = 0; a < seqs.length; a++) {
      boolean alice = appends.streams().get(appends.streamOf()[a]).equals(Streams.token("alice"));
      assertEquals(alice ? 0 : 9, seqs[a]);
    }
    assertEquals(-1, readAgain[0]);
    assertEquals(-1, readAgain[1]);
  }

  @Test
  void aCallOfItsOwnTakesABoundedNumberOfTheSlotsItIsFor() {
    directory.unstored("n2", 1, "0-999");
    Map<Integer, Long> some = pending.some(slot -> slot % 2 == 0, 256);
    assertEquals(256, some.size());
    assertTrue(some.keySet().stream().allMatch(slot -> slot % 2 == 0 && slot < 1000));
    pending.raised(some, new int[0]);
    assertEquals(1000 - 256, pending.some(slot -> true, 10_000).size());
  }
}
