package io.odin.ws.shard;

import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The last broadcasts a shard handed on ({@code history.size} of them, contiguous in one epoch). Every connection
 * receives every broadcast, so when a drained node's clients reconnect here, their broadcast replays are read from
 * this shard's memory instead of once per client from the store. Confined to the shard's event loop.
 */
final class BroadcastCache {

  private final int capacity;
  private final ArrayDeque<StoredMessage> messages = new ArrayDeque<>();
  private long epoch;

  BroadcastCache(int capacity) {
    this.capacity = capacity;
  }

  /** A broadcast handed on: kept when it follows the last one kept, else the cache starts again from it. */
  void add(StreamMessage m) {
    if (!m.stored() || m.late || m.order == null) {
      if (!m.late) {
        messages.clear();
      }
      return;
    }
    StoredMessage last = messages.peekLast();
    if (m.epoch != epoch || last == null || last.seq() + 1 != m.seq) {
      messages.clear();
      epoch = m.epoch;
    }
    messages.addLast(new StoredMessage(m.seq, m.order, m.frame));
    if (messages.size() > capacity) {
      messages.removeFirst();
    }
  }

  /**
   * The answer to {@code read} when this cache holds all it asks for up to {@code top} (where the shard's broadcast
   * stream stands), else null (read the store).
   */
  StreamPage read(StreamRead read, StreamPosition top) {
    StoredMessage last = messages.peekLast();
    if (last == null || read.epoch() != epoch || top.epoch() != epoch || top.seq() != last.seq()) {
      return null;
    }
    if (read.afterSeq() == top.seq()) {
      return new StreamPage(epoch, top.seq(), true, List.of());
    }
    if (read.afterSeq() > top.seq() || read.afterSeq() + 1 < messages.peekFirst().seq()) {
      return null;
    }
    List<StoredMessage> page = new ArrayList<>(Math.min(read.limit(), (int) (top.seq() - read.afterSeq())));
    Iterator<StoredMessage> it = messages.iterator();
    while (it.hasNext() && page.size() < read.limit()) {
      StoredMessage m = it.next();
      if (m.seq() > read.afterSeq()) {
        page.add(m);
      }
    }
    return new StreamPage(epoch, top.seq(), true, page);
  }

  int size() {
    return messages.size();
  }
}
