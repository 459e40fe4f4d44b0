package io.odin.ws.shard;

import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * What one reconnecting connection missed, replayed in the order it was dispatched: for each of its streams the
 * messages after its cursor up to where the stream stood when the recovery read it, read a page at a time and
 * merged by the store's dispatch order. Plain state, driven by the shard: {@link #next} gives the next message, or
 * null when a stream needs its next page ({@link #reads}) or when all is replayed ({@link #done}).
 */
final class Replay {

  /** One stream of the replay: messages {@code next..last} of epoch {@code epoch}. */
  static final class Lane {
    final String stream;
    final long epoch;
    final long last;
    long next;
    final ArrayDeque<StoredMessage> page = new ArrayDeque<>();
    boolean reading;

    Lane(String stream, long epoch, long after, long last) {
      this.stream = stream;
      this.epoch = epoch;
      this.next = after + 1;
      this.last = last;
    }

    boolean done() {
      return next > last;
    }

    boolean needsPage() {
      return !done() && page.isEmpty();
    }
  }

  /** A replayed message and the stream it belongs to. */
  record Item(String stream, StreamMessage message) {
  }

  private final List<Lane> lanes = new ArrayList<>(2);
  private int remaining;
  private boolean broken;

  /**
   * Adds a stream to replay: the messages after {@code after} up to {@code first}'s top, with {@code first} (a
   * contiguous page read from {@code after}) as the first page.
   */
  void add(String stream, long after, StreamPage first) {
    Lane lane = new Lane(stream, first.epoch(), after, first.top());
    remaining += (int) Math.max(0, first.top() - after);
    lanes.add(lane);
    accept(lane, first.messages());
  }

  /** Messages still to replay. */
  int remaining() {
    return remaining;
  }

  boolean done() {
    return remaining == 0;
  }

  /** The store returned a page with a hole: the replay cannot go on. */
  boolean broken() {
    return broken;
  }

  /** The reads the replay needs before it can go on: the next page of each stream that has run out. */
  List<StreamRead> reads() {
    List<StreamRead> reads = new ArrayList<>(lanes.size());
    for (Lane lane : lanes) {
      if (lane.needsPage() && !lane.reading && !broken) {
        lane.reading = true;
        reads.add(new StreamRead(lane.stream, lane.epoch, lane.next - 1,
          (int) Math.min(HistorySettings.PAGE, lane.last - lane.next + 1)));
      }
    }
    return reads;
  }

  /**
   * The next page of {@code stream}; false when it is not (the store lost messages the replay was promised: it
   * cannot be finished).
   */
  boolean page(String stream, StreamPage page) {
    for (Lane lane : lanes) {
      if (lane.stream.equals(stream)) {
        lane.reading = false;
        if (!page.contiguous() || page.epoch() != lane.epoch || page.messages().isEmpty()
          || page.messages().get(0).seq() != lane.next) {
          return false;
        }
        accept(lane, page.messages());
        return true;
      }
    }
    return false;
  }

  private static void accept(Lane lane, List<StoredMessage> messages) {
    for (StoredMessage m : messages) {
      if (m.seq() >= lane.next && m.seq() <= lane.last) {
        lane.page.addLast(m);
      }
    }
  }

  /** The next message in dispatch order; null when a stream needs its next page first, or when all is replayed. */
  Item next() {
    Lane pick = null;
    for (Lane lane : lanes) {
      if (lane.done()) {
        continue;
      }
      if (lane.page.isEmpty()) {
        // its next message may come before any other stream's: wait for its page
        return null;
      }
      if (pick == null || lane.page.peekFirst().order().compareTo(pick.page.peekFirst().order()) < 0) {
        pick = lane;
      }
    }
    if (pick == null) {
      return null;
    }
    StoredMessage m = pick.page.pollFirst();
    if (m.seq() != pick.next) {
      // a hole inside what the store returned: the replay cannot be exact
      broken = true;
      return null;
    }
    pick.next = m.seq() + 1;
    remaining--;
    return new Item(pick.stream, StreamMessage.of(pick.epoch, m));
  }
}
