package io.odin.ws.registry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The shard addresses that are live now. Broadcasts go to all of them, and a registry entry naming an
 * address that is not here is ignored, so a stopped shard drops out of routing at once, not when its
 * registry TTL runs out. Reads are a volatile snapshot (dispatch reads it for every batch); writes are rare.
 */
public final class ShardDirectory {

  private volatile Snapshot snapshot = new Snapshot(List.of());

  public synchronized void add(String shardAddress) {
    List<String> next = new ArrayList<>(snapshot.list);
    if (!next.contains(shardAddress)) {
      next.add(shardAddress);
      Collections.sort(next);
      snapshot = new Snapshot(next);
    }
  }

  public synchronized void remove(String shardAddress) {
    List<String> next = new ArrayList<>(snapshot.list);
    if (next.remove(shardAddress)) {
      snapshot = new Snapshot(next);
    }
  }

  /** Every live shard address, sorted. */
  public List<String> all() {
    return snapshot.list;
  }

  public boolean isLive(String shardAddress) {
    return snapshot.set.contains(shardAddress);
  }

  private static final class Snapshot {
    final List<String> list;
    final Set<String> set;

    Snapshot(List<String> list) {
      this.list = List.copyOf(list);
      this.set = Set.copyOf(new HashSet<>(list));
    }
  }
}
