package io.odin.ws.registry;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;

/**
 * History generations still to be raised, one per slot of the streams' keys (on a standalone Redis too): a message of
 * a stream in that slot went out unstored (here, or on another node that announced it), so that stream may lack a
 * message a client missed, and every stream of the slot takes a new epoch before it stores again. Only those slots:
 * one slow or failed call costs the streams it touched their epoch, not every stream of the store (which turned a
 * whole reconnect storm into recovered:false). Each need carries a version, so a raise that was already on its way
 * when the slot went unstored again does not settle the newer need. Thread-safe.
 */
final class PendingRaises {

  /** How often a registry lands pending raises in calls of their own. */
  static final long INTERVAL_MS = 100;
  /** The most raises one such call carries. */
  static final int PER_CALL = 256;

  private final RegistryKeys names;
  /** Where other nodes' announced slots arrive ({@link ShardDirectory#unstored}). */
  private final ShardDirectory directory;
  private final Map<Integer, Long> pending = new ConcurrentHashMap<>();
  private final AtomicLong versions = new AtomicLong();

  PendingRaises(RegistryKeys names, ShardDirectory directory) {
    this.names = names;
    this.directory = directory;
  }

  /** Notes the slots of the appends that went out unstored (sequence number 0); true when there was one. */
  boolean unstored(HistoryScripts.Appends appends, long[] seqs) {
    boolean any = false;
    for (int a = 0; a < seqs.length; a++) {
      if (seqs[a] == 0) {
        any = true;
        pending.put(slotOf(appends.streams().get(appends.streamOf()[a])), versions.incrementAndGet());
      }
    }
    return any;
  }

  /**
   * Takes back the positions of appends whose slot still has a raise pending once a call's answer is in (the call
   * did not carry it, or the slot went unstored again since): sequence number 0, so the message goes out as unstored.
   * Such a call ran behind one that timed out but ran all the same (its message went out unstored and is in the
   * stream); a shard that trusted this answer's later position would read the gap it leaves and hand the stored copy
   * on a second time. The raise still to come ends that epoch anyway. Records read again (-1) stay as they are.
   */
  void distrust(HistoryScripts.Appends appends, long[] seqs) {
    if (pending.isEmpty()) {
      return;
    }
    for (int a = 0; a < seqs.length; a++) {
      if (seqs[a] > 0 && pending.containsKey(slotOf(appends.streams().get(appends.streamOf()[a])))) {
        seqs[a] = 0;
      }
    }
  }

  /**
   * Up to {@code max} pending raises of the slots {@code served} accepts: what a call of their own lands soon after
   * the slots went unstored, so that a read elsewhere, which knows of them only from an announcement, does not find a
   * stream still in the epoch that missed a message.
   */
  Map<Integer, Long> some(IntPredicate served, int max) {
    absorbElsewhere();
    if (pending.isEmpty()) {
      return Map.of();
    }
    Map<Integer, Long> out = new LinkedHashMap<>();
    for (Map.Entry<Integer, Long> e : pending.entrySet()) {
      if (out.size() >= max) {
        break;
      }
      if (served.test(e.getKey())) {
        out.put(e.getKey(), e.getValue());
      }
    }
    return out;
  }

  private void absorbElsewhere() {
    BitSet elsewhere = directory.takeUnstoredSlotsElsewhere();
    if (elsewhere != null) {
      unstoredElsewhere(elsewhere);
    }
  }

  /** Notes slots another node announced it sent messages of unstored. */
  private void unstoredElsewhere(BitSet slots) {
    for (int s = slots.nextSetBit(0); s >= 0 && s < SlotHash.SLOTS; s = slots.nextSetBit(s + 1)) {
      pending.put(s, versions.incrementAndGet());
    }
  }

  boolean isEmpty() {
    return pending.isEmpty();
  }

  /**
   * The pending raises a call on {@code streams} must carry: those of their slots, and no others. A raise lands
   * before the next call that stores or reads a stream of its slot, which is all an epoch needs; raising every
   * pending slot in every call made each call as large as the set (all 16,384 slots after an announcement), and
   * under a slow Redis larger calls made more of them time out, which added more.
   */
  Map<Integer, Long> selectFor(Iterable<String> streams) {
    absorbElsewhere();
    if (pending.isEmpty()) {
      return Map.of();
    }
    Map<Integer, Long> out = new LinkedHashMap<>();
    for (String stream : streams) {
      int slot = slotOf(stream);
      Long version = pending.get(slot);
      if (version != null) {
        out.put(slot, version);
      }
    }
    return out;
  }

  /** The generation keys of {@code selected}, in its order: what a script call raises. */
  List<String> keys(Map<Integer, Long> selected) {
    List<String> out = new ArrayList<>(selected.size());
    selected.keySet().forEach(slot -> out.add(names.generationOfSlot(slot)));
    return out;
  }

  /**
   * The raises a call carried landed, except those at the indexes {@code unraised} (their slot was not on that
   * master: still pending).
   */
  void raised(Map<Integer, Long> sent, int[] unraised) {
    if (sent.isEmpty()) {
      return;
    }
    List<Integer> slots = new ArrayList<>(sent.keySet());
    BitSet notRaised = new BitSet();
    for (int i : unraised) {
      notRaised.set(i);
    }
    for (int i = 0; i < slots.size(); i++) {
      if (!notRaised.get(i)) {
        pending.remove(slots.get(i), sent.get(slots.get(i)));
      }
    }
  }

  /** The pending slots as ranges ("17,4000-4002"): what the cluster announces to the other nodes. */
  String ranges() {
    BitSet slots = new BitSet();
    pending.keySet().forEach(slots::set);
    return SlotHash.ranges(slots);
  }

  int slotOf(String stream) {
    return SlotHash.slot(names.history(stream));
  }
}
