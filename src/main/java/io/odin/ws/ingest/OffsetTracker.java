package io.odin.ws.ingest;

import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Offsets that may be committed: a part's offsets become committable once its dispatcher handed it to the
 * shards. A partition always goes through one dispatcher, which hands parts over in order, so the highest
 * offset seen per partition is safe. Revoked partitions are forgotten: their late hand-overs commit nothing.
 * Used on one event loop.
 */
public final class OffsetTracker {

  private final Map<TopicPartition, Long> pending = new HashMap<>();
  private final Map<TopicPartition, Long> committed = new HashMap<>();
  private final java.util.Set<TopicPartition> assigned = new java.util.HashSet<>();

  public void assigned(Collection<TopicPartition> partitions) {
    assigned.addAll(partitions);
  }

  /** Forgets revoked partitions; returns what was handed over for them and not yet committed. */
  public Map<TopicPartition, Long> revoked(Collection<TopicPartition> partitions) {
    Map<TopicPartition, Long> last = new HashMap<>();
    for (TopicPartition tp : partitions) {
      Long offset = pending.remove(tp);
      if (offset != null) {
        last.put(tp, offset);
      }
      committed.remove(tp);
      assigned.remove(tp);
    }
    return last;
  }

  /** A part was handed to the shards. */
  public void handedOver(Map<TopicPartition, Long> offsets) {
    for (Map.Entry<TopicPartition, Long> e : offsets.entrySet()) {
      if (assigned.contains(e.getKey())) {
        pending.merge(e.getKey(), e.getValue(), Math::max);
      }
    }
  }

  /** The offsets to commit now (and marks them committed), or an empty map. */
  public Map<TopicPartition, Long> takeCommittable() {
    if (pending.isEmpty()) {
      return Map.of();
    }
    Map<TopicPartition, Long> out = new HashMap<>();
    for (Map.Entry<TopicPartition, Long> e : pending.entrySet()) {
      Long done = committed.get(e.getKey());
      if (done == null || e.getValue() > done) {
        out.put(e.getKey(), e.getValue());
        committed.put(e.getKey(), e.getValue());
      }
    }
    pending.clear();
    return out;
  }

  /** A commit failed: offer its offsets again with the next one. */
  public void commitFailed(Map<TopicPartition, Long> offsets) {
    for (Map.Entry<TopicPartition, Long> e : offsets.entrySet()) {
      if (assigned.contains(e.getKey())) {
        committed.remove(e.getKey());
        pending.merge(e.getKey(), e.getValue(), Math::max);
      }
    }
  }

  public java.util.Set<TopicPartition> assignedPartitions() {
    return java.util.Set.copyOf(assigned);
  }
}
