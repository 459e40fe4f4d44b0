package io.odin.ws.registry;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The shard addresses that are live now, on this node and (when clustered) on the others, and the node each
 * belongs to. Broadcasts go to all of them, and a registry entry naming an address that is not here is
 * ignored, so a stopped shard or a departed node drops out of routing at once, not when registry TTLs run
 * out. Reads are a volatile snapshot (dispatch reads it for every batch); writes are rare.
 */
public final class ShardDirectory {

  /** Shard addresses are {@code odin.shard.NODE.INDEX} ({@code NodeContext.shardAddress}). */
  public static final String SHARD_ADDRESS_PREFIX = "odin.shard.";

  private final String localNode;
  private final List<Runnable> localChangeListeners = new CopyOnWriteArrayList<>();
  private volatile Snapshot snapshot = new Snapshot(Map.of());
  /** Other nodes that announced their registry entries incomplete (Redis unreachable from there, or re-syncing). */
  private final Set<String> incompleteRegistries = ConcurrentHashMap.newKeySet();
  /** Redis Cluster slots where other nodes announced their entries incomplete ({@link ConnectionRegistry#incompleteSlots()}). */
  private final Map<String, BitSet> incompleteSlotsByNode = new ConcurrentHashMap<>();
  private volatile BitSet incompleteSlotsElsewhere;
  /** Unstored batches each other node announced ({@link ConnectionRegistry#unstored()}). */
  private final Map<String, Long> unstoredByNode = new ConcurrentHashMap<>();
  /** Slots of messages other nodes sent unstored since this node's registry last took them; null: none. */
  private BitSet unstoredSlotsElsewhere;

  public ShardDirectory(String localNode) {
    this.localNode = localNode;
  }

  public String localNode() {
    return localNode;
  }

  /** A shard of this node is live. */
  public void add(String shardAddress) {
    synchronized (this) {
      Map<String, String> next = new HashMap<>(snapshot.nodeByShard);
      next.put(shardAddress, localNode);
      snapshot = new Snapshot(next);
    }
    localChangeListeners.forEach(Runnable::run);
  }

  /** A shard of this node stopped. */
  public void remove(String shardAddress) {
    synchronized (this) {
      Map<String, String> next = new HashMap<>(snapshot.nodeByShard);
      next.remove(shardAddress);
      snapshot = new Snapshot(next);
    }
    localChangeListeners.forEach(Runnable::run);
  }

  /** Replaces what is known of another node's shards (an empty list: it has none now). */
  public synchronized void putNode(String node, Collection<String> shardAddresses) {
    Map<String, String> next = new HashMap<>(snapshot.nodeByShard);
    next.values().removeIf(node::equals);
    for (String address : shardAddresses) {
      next.put(address, node);
    }
    snapshot = new Snapshot(next);
  }

  /** What another node announced about its registry entries ({@link io.odin.ws.registry.ConnectionRegistry#complete()}). */
  public void registryComplete(String node, boolean complete) {
    if (complete) {
      incompleteRegistries.remove(node);
    } else {
      incompleteRegistries.add(node);
    }
  }

  /** What another node announced about the slots where its entries may be missing ("" for none). */
  public void registryIncompleteSlots(String node, String ranges) {
    BitSet slots = SlotHash.parseRanges(ranges);
    if (slots == null) {
      // not what a node sends: the last good announcement stands
      return;
    }
    if (slots.isEmpty()) {
      if (incompleteSlotsByNode.remove(node) == null) {
        return;
      }
    } else if (slots.equals(incompleteSlotsByNode.put(node, slots))) {
      return;
    }
    updateIncompleteSlots();
  }

  private synchronized void updateIncompleteSlots() {
    BitSet union = new BitSet();
    incompleteSlotsByNode.values().forEach(union::or);
    incompleteSlotsElsewhere = union.isEmpty() ? null : union;
  }

  /**
   * Slots where some other node's entries may be missing, or null when there are none: a token of such a slot that a
   * lookup does not find may be connected there.
   */
  public BitSet incompleteSlotsElsewhere() {
    return incompleteSlotsElsewhere;
  }

  /**
   * What another node announced about its unstored batches: their count, and the slots whose generations it has yet
   * to raise ({@link ConnectionRegistry#unstoredSlots()}). When the count rose, this node raises those slots'
   * generations too (the other node may be cut off from Redis, or die, before it does); none when the other node
   * raised them all already (""), every slot when the announcement has no slots ({@code null}: an older node) or
   * cannot be read.
   */
  public synchronized void unstored(String node, long count, String slots) {
    Long before = unstoredByNode.put(node, count);
    if (count <= (before == null ? 0 : before)) {
      return;
    }
    BitSet announced = slots == null ? null : SlotHash.parseRanges(slots);
    if (announced != null && announced.isEmpty()) {
      return;
    }
    if (announced == null) {
      announced = new BitSet();
      announced.set(0, SlotHash.SLOTS);
    }
    if (unstoredSlotsElsewhere == null) {
      unstoredSlotsElsewhere = announced;
    } else {
      unstoredSlotsElsewhere.or(announced);
    }
  }

  /** The slots other nodes announced unstored messages of since the last call, or null when there are none. */
  public synchronized BitSet takeUnstoredSlotsElsewhere() {
    BitSet out = unstoredSlotsElsewhere;
    unstoredSlotsElsewhere = null;
    return out;
  }

  /**
   * False while some other node says its connections may be missing from the registry: a token a lookup does not
   * find may then be connected there, so it is not taken as offline.
   */
  public boolean registriesComplete() {
    return incompleteRegistries.isEmpty();
  }

  /** The live shards of the nodes that announced their registry entries incomplete. */
  public List<String> shardsOfIncompleteRegistries() {
    List<String> out = new ArrayList<>();
    Map<String, List<String>> byNode = snapshot.byNode;
    for (String node : incompleteRegistries) {
      out.addAll(byNode.getOrDefault(node, List.of()));
    }
    return out;
  }

  /** Forgets every shard of a node that left; returns their addresses. */
  public synchronized List<String> removeNode(String node) {
    incompleteRegistries.remove(node);
    if (incompleteSlotsByNode.remove(node) != null) {
      updateIncompleteSlots();
    }
    // a node that comes back under the same id counts its unstored batches from 0 again
    unstoredByNode.remove(node);
    Map<String, String> next = new HashMap<>(snapshot.nodeByShard);
    List<String> removed = new ArrayList<>();
    next.entrySet().removeIf(e -> {
      if (e.getValue().equals(node)) {
        removed.add(e.getKey());
        return true;
      }
      return false;
    });
    snapshot = new Snapshot(next);
    Collections.sort(removed);
    return removed;
  }

  /** Called after each change of this node's shards (to announce them to the cluster). */
  public void onLocalChange(Runnable listener) {
    localChangeListeners.add(listener);
  }

  /** Every live shard address of the cluster, sorted. */
  public List<String> all() {
    return snapshot.all;
  }

  /** This node's live shard addresses, sorted. */
  public List<String> local() {
    return snapshot.shardsOf(localNode);
  }

  /** Every node with at least one live shard, mapped to its shard addresses. */
  public Map<String, List<String>> byNode() {
    return snapshot.byNode;
  }

  public boolean isLive(String shardAddress) {
    return snapshot.nodeByShard.containsKey(shardAddress);
  }

  /** The node a live shard belongs to, or null. */
  public String nodeOf(String shardAddress) {
    return snapshot.nodeByShard.get(shardAddress);
  }

  /**
   * True when a shard address names a node this directory has no live shard of (and that is not this node):
   * a node that joined and has not announced its shards yet, or one that left. False for addresses of another form.
   */
  public boolean isOnUnknownNode(String shardAddress) {
    String node = nodeNamedIn(shardAddress);
    return node != null && !node.equals(localNode) && !snapshot.byNode.containsKey(node);
  }

  /** The node id inside a shard address {@code odin.shard.NODE.INDEX}, or null for another form. */
  static String nodeNamedIn(String shardAddress) {
    if (shardAddress == null || !shardAddress.startsWith(SHARD_ADDRESS_PREFIX)) {
      return null;
    }
    int dot = shardAddress.lastIndexOf('.');
    return dot <= SHARD_ADDRESS_PREFIX.length() ? null : shardAddress.substring(SHARD_ADDRESS_PREFIX.length(), dot);
  }

  public boolean isLocal(String shardAddress) {
    return localNode.equals(snapshot.nodeByShard.get(shardAddress));
  }

  private static final class Snapshot {
    final Map<String, String> nodeByShard;
    final List<String> all;
    final Map<String, List<String>> byNode;

    Snapshot(Map<String, String> nodeByShard) {
      this.nodeByShard = Map.copyOf(nodeByShard);
      List<String> sorted = new ArrayList<>(nodeByShard.keySet());
      Collections.sort(sorted);
      this.all = List.copyOf(sorted);
      Map<String, List<String>> grouped = new HashMap<>();
      for (String address : sorted) {
        grouped.computeIfAbsent(nodeByShard.get(address), n -> new ArrayList<>()).add(address);
      }
      grouped.replaceAll((n, l) -> List.copyOf(l));
      this.byNode = Map.copyOf(grouped);
    }

    List<String> shardsOf(String node) {
      return byNode.getOrDefault(node, List.of());
    }
  }
}
