package io.odin.ws.shard;

import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The order of one stream (a token's, or the broadcasts) at one shard. A stream's messages can reach a shard out of
 * order (dispatchers on several nodes, or several on one node, race) and one may never come (its dispatcher died
 * between storing and handing over, or its node's batch was lost). The shard hands a stream's messages on strictly
 * in sequence, so a connection's cursor always covers exactly what it received: a message that comes early waits
 * ({@link #waiting()}) until the ones before it arrive or, after {@code history.gapWaitMs}, are read from the history
 * ({@link #gapRead}, {@link #filled}); when the history no longer has them, {@link #skip} gives up on them and the
 * shard closes the stream's connections so that they learn it (1013, then {@code recovered:false}).
 * <p>A message that was not stored goes straight on (its connections' positions become unknown). Confined to the
 * shard's event loop.
 */
final class StreamOrder {

  /** {@link #offer}'s answer for a message the stream has already handed on (its own instance: compared by identity). */
  static final List<StreamMessage> DUPLICATE = java.util.Collections.unmodifiableList(new ArrayList<>(0));
  private static final List<StreamMessage> NOTHING = List.of();

  /** The stream's name ({@link io.odin.ws.history.Streams}); null in tests of the ordering alone. */
  final String stream;
  /** Whose stream it is: a token's (its token), a channel's (its channel), or the broadcasts (both null). */
  final String token;
  final String channel;

  StreamOrder() {
    this(null, null, null);
  }

  StreamOrder(String stream, String token, String channel) {
    this.stream = stream;
    this.token = token;
    this.channel = channel;
  }

  /** The last message handed on, UNKNOWN until the stream has a known position. */
  private StreamPosition last = StreamPosition.UNKNOWN;
  /** The epoch before {@code last}'s: a late message of it is handed on without moving positions back. */
  private long previousEpoch;
  /**
   * What of {@code previousEpoch} was handed on: everything up to {@code previousSeq}, and these above it (messages
   * that waited for a gap, or came late). A late copy of one of them (a gap read raced the live one) is a duplicate.
   */
  private long previousSeq;
  private final java.util.Set<Long> previousAbove = new java.util.HashSet<>();
  /** Messages that came early, all of epoch {@code parkedEpoch}, by sequence number. */
  private final TreeMap<Long, StreamMessage> parked = new TreeMap<>();
  private long parkedEpoch;
  /** The shard's gap timer, or -1. */
  long timer = -1;
  /** A gap read is in flight. */
  boolean reading;
  /** Failed gap reads in a row: after a few the gap counts as lost. */
  int readFailures;

  /** Where the stream stands: what a connection joining now has had (everything after it will be handed on). */
  StreamPosition last() {
    return last;
  }

  /** Takes a registration's answer as the stream's position while it has none. */
  void start(StreamPosition position) {
    if (!last.known() && parked.isEmpty()) {
      last = position;
    }
  }

  /**
   * Moves the stream on to {@code position} (a registration's answer) when that is further, or when the stream has
   * no position yet; what waited up to it is dropped. Only while nobody receives the stream: a receiver would miss
   * the messages skipped.
   */
  void advanceTo(StreamPosition position) {
    if (!position.known()) {
      return;
    }
    if (!last.known() || last.epoch() != position.epoch() || position.seq() > last.seq()) {
      if (last.known() && last.epoch() != position.epoch()) {
        endEpoch();
      }
      last = position;
      parked.headMap(position.seq(), true).clear();
      drain(new ArrayList<>());
    }
  }

  boolean waiting() {
    return !parked.isEmpty();
  }

  /** Messages waiting for earlier ones. */
  int parkedCount() {
    return parked.size();
  }

  /** Offers an arriving message; returns the messages to hand on now, in order ({@link #DUPLICATE} when it had been). */
  List<StreamMessage> offer(StreamMessage m) {
    if (!m.stored()) {
      // not stored: nothing to order it by; once nothing waits, positions start again from the next stored message
      if (parked.isEmpty()) {
        last = StreamPosition.UNKNOWN;
      }
      return List.of(m);
    }
    if (!last.known()) {
      last = new StreamPosition(m.epoch, m.seq);
      List<StreamMessage> out = new ArrayList<>(1 + parked.size());
      out.add(m);
      drain(out);
      return out;
    }
    if (m.epoch == last.epoch()) {
      if (m.seq <= last.seq()) {
        return DUPLICATE;
      }
      if (m.seq == last.seq() + 1) {
        last = new StreamPosition(m.epoch, m.seq);
        List<StreamMessage> out = new ArrayList<>(1);
        out.add(m);
        drain(out);
        return out;
      }
      return park(m);
    }
    if (m.epoch == previousEpoch) {
      // a late message of the epoch before: delivered once, but positions stay in the current epoch
      if (m.seq <= previousSeq || !previousAbove.add(m.seq)) {
        return DUPLICATE;
      }
      m.late = true;
      return List.of(m);
    }
    // a new epoch (the store lost the stream, or messages went out unstored): it starts at 1
    if (m.seq == 1) {
      List<StreamMessage> out = new ArrayList<>(1 + parked.size());
      endEpoch();
      if (parkedEpoch != m.epoch) {
        // what waited for a gap of the old epoch will not be read from the new one: hand it on first
        handOnParked(out);
      }
      last = new StreamPosition(m.epoch, 1);
      out.add(m);
      drain(out);
      return out;
    }
    return park(m);
  }

  /** Parks a message that came early; returns what waited for another epoch's gap, which goes on now as it is. */
  private List<StreamMessage> park(StreamMessage m) {
    List<StreamMessage> displaced = NOTHING;
    if (!parked.isEmpty() && parkedEpoch != m.epoch) {
      displaced = new ArrayList<>(parked.size());
      handOnParked(displaced);
    }
    parkedEpoch = m.epoch;
    parked.putIfAbsent(m.seq, m);
    return displaced;
  }

  /** {@code last}'s epoch becomes the previous one: what of it was handed on is remembered, for late copies. */
  private void endEpoch() {
    previousEpoch = last.epoch();
    previousSeq = last.seq();
    previousAbove.clear();
  }

  /** Hands on every parked message as it is (their gap will not be filled), remembering those of the previous epoch. */
  private void handOnParked(List<StreamMessage> out) {
    if (parkedEpoch == previousEpoch) {
      previousAbove.addAll(parked.keySet());
    }
    out.addAll(parked.values());
    parked.clear();
  }

  /** Hands on the parked messages that now follow {@code last}. */
  private void drain(List<StreamMessage> out) {
    while (!parked.isEmpty() && parkedEpoch == last.epoch()) {
      Map.Entry<Long, StreamMessage> first = parked.firstEntry();
      if (first.getKey() <= last.seq()) {
        parked.pollFirstEntry();
      } else if (first.getKey() == last.seq() + 1) {
        parked.pollFirstEntry();
        last = new StreamPosition(last.epoch(), first.getKey());
        out.add(first.getValue());
      } else {
        break;
      }
    }
  }

  /** The read that fills the gap before the first parked message (at most a page of it). */
  StreamRead gapRead(String stream) {
    long after = parkedEpoch == last.epoch() ? last.seq() : 0;
    long missing = parked.firstKey() - after - 1;
    return new StreamRead(stream, parkedEpoch, after, (int) Math.min(HistorySettings.PAGE, Math.max(1, missing)));
  }

  /**
   * The history's answer to {@link #gapRead}: the messages to hand on now. Null when the page cannot fill the gap
   * (another epoch, trimmed): then {@link #skip}.
   */
  List<StreamMessage> filled(StreamPage page) {
    if (parked.isEmpty()) {
      return NOTHING;
    }
    if (!page.contiguous() || page.epoch() != parkedEpoch || page.messages().isEmpty()) {
      return null;
    }
    List<StreamMessage> out = new ArrayList<>();
    for (StoredMessage stored : page.messages()) {
      List<StreamMessage> now = offer(StreamMessage.of(page.epoch(), stored));
      if (now != DUPLICATE) {
        out.addAll(now);
      }
    }
    return out;
  }

  /** Gives up on the gap: the parked messages are handed on after it. */
  List<StreamMessage> skip() {
    if (parked.isEmpty()) {
      return NOTHING;
    }
    if (parkedEpoch != last.epoch()) {
      endEpoch();
    }
    last = new StreamPosition(parkedEpoch, parked.firstKey() - 1);
    List<StreamMessage> out = new ArrayList<>(parked.size());
    drain(out);
    return out;
  }
}
