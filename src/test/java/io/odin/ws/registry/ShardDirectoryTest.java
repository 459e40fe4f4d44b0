package io.odin.ws.registry;

import org.junit.jupiter.api.Test;

import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Redis Cluster slots other nodes announce incomplete: kept per node, united, forgotten with the node. */
class ShardDirectoryTest {

  @Test
  void incompleteSlotsOfOtherNodesAreUnitedAndForgottenWithTheirNode() {
    ShardDirectory d = new ShardDirectory("n1");
    assertNull(d.incompleteSlotsElsewhere());
    d.registryIncompleteSlots("n2", "0-99,500");
    d.registryIncompleteSlots("n3", "100-199");
    BitSet s = d.incompleteSlotsElsewhere();
    assertEquals(201, s.cardinality());
    assertTrue(s.get(0) && s.get(199) && s.get(500));
    assertFalse(s.get(200));
    d.registryIncompleteSlots("n2", "");
    assertEquals(100, d.incompleteSlotsElsewhere().cardinality());
    d.removeNode("n3");
    assertNull(d.incompleteSlotsElsewhere());
  }

  @Test
  void aMalformedAnnouncementChangesNothing() {
    ShardDirectory d = new ShardDirectory("n1");
    d.registryIncompleteSlots("n2", "7");
    d.registryIncompleteSlots("n2", "x-3");
    assertEquals(1, d.incompleteSlotsElsewhere().cardinality(), "the last good announcement stands");
    assertNull(SlotHash.parseRanges("5-2"));
    assertNull(SlotHash.parseRanges("1-70000"));
  }

  @Test
  void slotRangesAreWrittenAsTheyAreRead() {
    BitSet slots = new BitSet();
    slots.set(0, 5461);
    slots.set(6000);
    slots.set(16383);
    String ranges = SlotHash.ranges(slots);
    assertEquals("0-5460,6000,16383", ranges);
    assertEquals(slots, SlotHash.parseRanges(ranges));
    assertEquals("", SlotHash.ranges(new BitSet()));
  }

  @Test
  void anotherNodesUnstoredSlotsAreTakenOnceEachTimeItsCountRises() {
    ShardDirectory d = new ShardDirectory("n1");
    assertNull(d.takeUnstoredSlotsElsewhere());
    d.unstored("n2", 0, "");
    assertNull(d.takeUnstoredSlotsElsewhere(), "nothing went out unstored");
    d.unstored("n2", 1, "17,40-41");
    d.unstored("n3", 2, "100");
    BitSet taken = d.takeUnstoredSlotsElsewhere();
    assertEquals(4, taken.cardinality());
    assertTrue(taken.get(17) && taken.get(41) && taken.get(100));
    assertNull(d.takeUnstoredSlotsElsewhere(), "taken once");
    d.unstored("n2", 1, "17,40-41");
    assertNull(d.takeUnstoredSlotsElsewhere(), "the same count again: nothing new");
    d.unstored("n2", 2, "17");
    assertEquals("17", SlotHash.ranges(d.takeUnstoredSlotsElsewhere()), "a slot already raised here, unstored again");
  }

  @Test
  void anAnnouncementWithoutSlotsRaisesEverySlotAndAnEmptyOneNone() {
    ShardDirectory d = new ShardDirectory("n1");
    d.unstored("old", 1, null);
    assertEquals(SlotHash.SLOTS, d.takeUnstoredSlotsElsewhere().cardinality(), "an older node names no slots");
    d.unstored("bad", 1, "x-y");
    assertEquals(SlotHash.SLOTS, d.takeUnstoredSlotsElsewhere().cardinality(), "a malformed announcement");
    d.unstored("n2", 1, "");
    assertNull(d.takeUnstoredSlotsElsewhere(), "the other node raised them all already");
  }
}
