package io.odin.ws.registry;

import io.odin.ws.registry.WriteQueue.Kind;
import io.odin.ws.registry.WriteQueue.Step;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WriteQueueTest {

  final WriteQueue queue = new WriteQueue();

  @Test
  void keepsOnlyTheLatestOperationPerToken() {
    queue.add("s0", "a");
    queue.remove("s0", "a");
    queue.add("s0", "b");
    queue.add("s0", "b");
    queue.add("s1", "a");
    assertEquals(3, queue.size());
    WriteQueue.Flush f = queue.take(100);
    assertTrue(queue.isEmpty());
    assertEquals(List.of(
      new Step(Kind.APPLY, "s0", false, List.of("a", "b"), List.of(false, true)),
      new Step(Kind.APPLY, "s1", false, List.of("a"), List.of(true))), f.steps());
    assertEquals(Set.of(), f.synced());
  }

  @Test
  void chunksLargeBatches() {
    for (int i = 0; i < 10; i++) {
      queue.add("s0", "t" + i);
    }
    List<Step> steps = queue.take(4).steps();
    assertEquals(3, steps.size());
    assertEquals(List.of("t8", "t9"), steps.get(2).tokens());
  }

  @Test
  void aSnapshotReplacesEarlierOperationsAndPrecedesLaterOnes() {
    queue.add("s0", "a");
    queue.remove("s0", "b");
    queue.sync("s0", List.of("a", "c", "d"));
    queue.remove("s0", "c");
    WriteQueue.Flush f = queue.take(2);
    List<Kind> kinds = new ArrayList<>();
    f.steps().forEach(s -> kinds.add(s.kind()));
    assertEquals(List.of(Kind.SYNC_BEGIN, Kind.APPLY, Kind.APPLY, Kind.SYNC_END, Kind.APPLY), kinds);
    assertTrue(f.steps().get(1).toSyncIndex());
    assertEquals(List.of("a", "c"), f.steps().get(1).tokens());
    assertEquals(new Step(Kind.APPLY, "s0", false, List.of("c"), List.of(false)), f.steps().get(4));
    assertEquals(Set.of("s0"), f.synced());
    assertEquals(4, f.operations());
  }

  @Test
  void anEmptySnapshotStillRewritesTheShardsIndexAndMarker() {
    queue.sync("s0", List.of());
    List<Step> steps = queue.take(10).steps();
    assertEquals(2, steps.size());
    assertEquals(Kind.SYNC_BEGIN, steps.get(0).kind());
    assertEquals(Kind.SYNC_END, steps.get(1).kind());
  }

  @Test
  void aCleanupDropsWhatWasQueuedAndRunsBeforeLaterWrites() {
    queue.add("s0", "a");
    queue.sync("s0", List.of("a"));
    queue.cleanup("s0");
    queue.add("s0", "z"); // the same address, started again
    WriteQueue.Flush f = queue.take(10);
    assertEquals(List.of(
      new Step(Kind.CLEANUP, "s0", false, List.of(), List.of()),
      new Step(Kind.APPLY, "s0", false, List.of("z"), List.of(true))), f.steps());
    assertEquals(Set.of("s0"), f.cleaned());
  }

  @Test
  void droppingKeepsCleanupsOnly() {
    queue.add("s0", "a");
    queue.sync("s1", List.of("b"));
    queue.cleanup("s2");
    queue.dropAllButCleanups();
    assertEquals(0, queue.size());
    assertFalse(queue.syncQueued("s1"));
    assertEquals(List.of(new Step(Kind.CLEANUP, "s2", false, List.of(), List.of())), queue.take(10).steps());
  }

  @Test
  void countsKeepTheLatestPerChannelComeAfterTheEntriesAndASnapshotZeroesWhatItDoesNotName() {
    queue.add("s1", "#a");
    queue.count("s1", "a", 1);
    queue.count("s1", "a", 3);
    queue.count("s1", "b", 2);
    WriteQueue.Flush f = queue.take(100);
    assertEquals(List.of(WriteQueue.Kind.APPLY, WriteQueue.Kind.COUNTS), f.steps().stream().map(WriteQueue.Step::kind).toList());
    assertEquals(List.of("a", "b"), f.steps().get(1).tokens());
    assertEquals(List.of(3, 2), f.steps().get(1).counts());

    queue.count("s1", "a", 4);
    queue.count("s1", "gone", 1);
    queue.counts("s1", Map.of("a", 5));
    WriteQueue.Step counts = queue.take(100).steps().get(0);
    assertEquals(Map.of("a", 5, "gone", 0), Map.of(counts.tokens().get(0), counts.counts().get(0),
      counts.tokens().get(1), counts.counts().get(1)));

    queue.count("s2", "a", 1);
    queue.cleanup("s2");
    assertEquals(List.of(WriteQueue.Kind.CLEANUP), queue.take(100).steps().stream().map(WriteQueue.Step::kind).toList());
  }
}
