package io.odin.ws.registry;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Registry writes waiting for the next pipelined flush, coalesced per shard: for each token only its latest
 * operation is kept (a connect and disconnect in one window cost one command, not two round trips), a full
 * snapshot (heartbeat or re-registration) replaces the operations queued before it, and a shard that is gone
 * is cleaned before anything written for it later. Not thread-safe: the registry uses it from one context.
 */
final class WriteQueue {

  /** One step of a flush, in execution order. */
  enum Kind {
    /** Delete every entry of the shard (it is gone). */
    CLEANUP,
    /** Start rebuilding the shard's token index (delete its temporary copy). */
    SYNC_BEGIN,
    /** Write entries; {@code toSyncIndex} says whether their tokens go to the temporary index of a sync. */
    APPLY,
    /** Finish a sync: drop entries of tokens no longer held, swap the index in, write the shard's marker. */
    SYNC_END,
    /** Write the shard's subscriber counts of channels ({@code tokens} are channel names, {@code counts} theirs). */
    COUNTS
  }

  record Step(Kind kind, String shard, boolean toSyncIndex, List<String> tokens, List<Boolean> adds, List<Integer> counts) {
    Step(Kind kind, String shard, boolean toSyncIndex, List<String> tokens, List<Boolean> adds) {
      this(kind, shard, toSyncIndex, tokens, adds, List.of());
    }
  }

  /** What one flush writes: its steps, the shards it re-asserts completely, the shards it cleans. */
  record Flush(List<Step> steps, Set<String> synced, Set<String> cleaned, int operations) {
    boolean isEmpty() {
      return steps.isEmpty();
    }
  }

  private static final class ShardWrites {
    boolean cleanup;
    List<String> sync;
    final LinkedHashMap<String, Boolean> ops = new LinkedHashMap<>();
    /** Channel to the shard's latest subscriber count (0: none left). */
    final LinkedHashMap<String, Integer> counts = new LinkedHashMap<>();

    boolean isEmpty() {
      return !cleanup && sync == null && ops.isEmpty() && counts.isEmpty();
    }
  }

  private final LinkedHashMap<String, ShardWrites> pending = new LinkedHashMap<>();
  private int operations;

  private ShardWrites writes(String shard) {
    return pending.computeIfAbsent(shard, s -> new ShardWrites());
  }

  /** The shard now holds {@code token}. */
  void add(String shard, String token) {
    put(shard, token, Boolean.TRUE);
  }

  /** The shard no longer holds {@code token}. */
  void remove(String shard, String token) {
    put(shard, token, Boolean.FALSE);
  }

  private void put(String shard, String token, Boolean add) {
    if (writes(shard).ops.put(token, add) == null) {
      operations++;
    }
  }

  /** The shard's subscriber count of {@code channel} is now {@code count}: replaces any queued count of it. */
  void count(String shard, String channel, int count) {
    if (writes(shard).counts.put(channel, count) == null) {
      operations++;
    }
  }

  /**
   * The shard's counts of every channel it has subscribers of (a heartbeat's snapshot, newer than anything queued):
   * a queued channel the snapshot does not name has none left.
   */
  void counts(String shard, Map<String, Integer> snapshot) {
    ShardWrites w = writes(shard);
    w.counts.replaceAll((channel, n) -> 0);
    snapshot.forEach((channel, n) -> count(shard, channel, n));
  }

  /** Everything the shard holds now: replaces its queued operations, which the snapshot already reflects. */
  void sync(String shard, Collection<String> tokens) {
    ShardWrites w = writes(shard);
    operations -= w.ops.size() + (w.sync != null ? w.sync.size() : 0);
    w.ops.clear();
    w.sync = new ArrayList<>(tokens);
    operations += w.sync.size();
  }

  /** The shard is gone: forget what was queued for it and delete its entries. */
  void cleanup(String shard) {
    ShardWrites w = writes(shard);
    operations -= w.ops.size() + (w.sync != null ? w.sync.size() : 0) + w.counts.size();
    w.ops.clear();
    w.counts.clear();
    w.sync = null;
    w.cleanup = true;
  }

  /** A clean-up that failed: runs again before whatever was queued for the shard since. */
  void cleanupFirst(String shard) {
    writes(shard).cleanup = true;
  }

  /** Drops every queued write except cleanups (Redis is down: the shards re-assert everything when it is back). */
  void dropAllButCleanups() {
    pending.values().removeIf(w -> {
      w.ops.clear();
      w.counts.clear();
      w.sync = null;
      return !w.cleanup;
    });
    operations = 0;
  }

  /** A sync of {@code shard} is queued and not yet taken. */
  boolean syncQueued(String shard) {
    ShardWrites w = pending.get(shard);
    return w != null && w.sync != null;
  }

  boolean isEmpty() {
    return pending.isEmpty();
  }

  /** Queued token operations (snapshot entries count one each). */
  int size() {
    return operations;
  }

  /** Takes everything queued, as steps of at most {@code chunk} tokens each. */
  Flush take(int chunk) {
    List<Step> steps = new ArrayList<>();
    Set<String> synced = new LinkedHashSet<>();
    Set<String> cleaned = new LinkedHashSet<>();
    int ops = operations;
    for (Map.Entry<String, ShardWrites> e : pending.entrySet()) {
      String shard = e.getKey();
      ShardWrites w = e.getValue();
      if (w.cleanup) {
        steps.add(new Step(Kind.CLEANUP, shard, false, List.of(), List.of()));
        cleaned.add(shard);
      }
      if (w.sync != null) {
        steps.add(new Step(Kind.SYNC_BEGIN, shard, true, List.of(), List.of()));
        for (int i = 0; i < w.sync.size(); i += chunk) {
          List<String> tokens = List.copyOf(w.sync.subList(i, Math.min(w.sync.size(), i + chunk)));
          steps.add(new Step(Kind.APPLY, shard, true, tokens, java.util.Collections.nCopies(tokens.size(), Boolean.TRUE)));
        }
        steps.add(new Step(Kind.SYNC_END, shard, true, List.of(), List.of()));
        synced.add(shard);
      }
      List<String> tokens = new ArrayList<>(Math.min(chunk, w.ops.size()));
      List<Boolean> adds = new ArrayList<>(Math.min(chunk, w.ops.size()));
      for (Map.Entry<String, Boolean> op : w.ops.entrySet()) {
        tokens.add(op.getKey());
        adds.add(op.getValue());
        if (tokens.size() == chunk) {
          steps.add(new Step(Kind.APPLY, shard, false, List.copyOf(tokens), List.copyOf(adds)));
          tokens.clear();
          adds.clear();
        }
      }
      if (!tokens.isEmpty()) {
        steps.add(new Step(Kind.APPLY, shard, false, List.copyOf(tokens), List.copyOf(adds)));
      }
      // counts after the entries: a channel's first count goes with (after) its interest entry
      List<String> channels = new ArrayList<>(w.counts.keySet());
      List<Integer> counts = new ArrayList<>(w.counts.values());
      for (int i = 0; i < channels.size(); i += chunk) {
        int to = Math.min(channels.size(), i + chunk);
        steps.add(new Step(Kind.COUNTS, shard, false, List.copyOf(channels.subList(i, to)), List.of(),
          List.copyOf(counts.subList(i, to))));
      }
    }
    pending.clear();
    operations = 0;
    return new Flush(steps, synced, cleaned, ops);
  }
}
