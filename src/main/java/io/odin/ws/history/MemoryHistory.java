package io.odin.ws.history;

import io.odin.ws.protocol.Envelope;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The history of a node without Redis: each stream's last {@code history.size} messages in this node's memory, so a
 * client that reconnects to the same node recovers. Dispatchers append from their event loops, shards read and
 * register from theirs: each stream is guarded by its own lock. A stream is dropped {@code history.ttlMs} after its
 * last message once no shard holds its token; the broadcast stream is kept. A restarted node has new epochs, so a
 * cursor from before the restart is answered {@code recovered:false}.
 */
public final class MemoryHistory implements HistoryStore {

  private final HistorySettings settings;
  private final LongSupplier clock;
  private final Map<String, Stream> streams = new ConcurrentHashMap<>();
  /** Dispatch order across streams: a replay interleaves a token's and the broadcast stream by it. */
  private final AtomicLong order = new AtomicLong();
  private final AtomicLong appended = new AtomicLong();

  private static final class Stream {
    final long epoch = newEpoch();
    long seq;
    final ArrayDeque<StoredMessage> messages = new ArrayDeque<>();
    long touchedMillis;
    int holders;
    /** The highest Kafka offset stored per "topic/partition" (null until one is): a record at or below it is read again. */
    Map<String, Long> marks;
  }

  public MemoryHistory(HistorySettings settings, LongSupplier clock) {
    this.settings = settings;
    this.clock = clock;
  }

  /** A random epoch below 2^47: distinct for every stream ever created, as far as chance goes. */
  static long newEpoch() {
    return ThreadLocalRandom.current().nextLong(1, 1L << 47);
  }

  private Stream stream(String name) {
    return streams.computeIfAbsent(name, n -> {
      Stream s = new Stream();
      s.touchedMillis = clock.getAsLong();
      return s;
    });
  }

  /** A fixed-width decimal, so that keys sort as numbers (the width of Redis's order keys: 21 digits). */
  static String orderKey(long n) {
    String digits = Long.toString(n);
    return "0".repeat(21 - digits.length()) + digits;
  }

  /** Stores every message of a batch, in order, and sets each envelope's {@link Envelope#stored() positions}. */
  public void append(List<Envelope> batch) {
    long now = clock.getAsLong();
    for (Envelope e : batch) {
      String[] streams = Streams.of(e);
      long[] positions = new long[streams.length * 2];
      String first = null;
      for (int i = 0; i < streams.length; i++) {
        String key = append(streams[i], e, now, positions, i * 2);
        first = first == null ? key : first;
      }
      e.stored(positions, first);
    }
  }

  /**
   * Appends one message to a stream; returns its order key. A Kafka record the stream has had (read again after a
   * rebalance or a reconnect of the consumer) is not appended again: its sequence number is
   * {@link Envelope#STORED_BEFORE}.
   */
  private String append(String name, Envelope e, long now, long[] positions, int at) {
    String key = orderKey(order.incrementAndGet());
    // a stream dropped by a sweep between lookup and lock is created again: recompute until the lock holds a live one
    while (true) {
      Stream s = stream(name);
      synchronized (s) {
        if (streams.get(name) != s) {
          continue;
        }
        positions[at] = s.epoch;
        if (e.source() != null) {
          if (s.marks == null) {
            s.marks = new java.util.HashMap<>();
          }
          Long mark = s.marks.get(e.source());
          if (mark != null && e.offset() <= mark) {
            positions[at + 1] = Envelope.STORED_BEFORE;
            return key;
          }
          s.marks.put(e.source(), e.offset());
        }
        s.seq++;
        s.messages.addLast(new StoredMessage(s.seq, key, e.frame()));
        if (s.messages.size() > settings.size) {
          s.messages.removeFirst();
        }
        s.touchedMillis = now;
        positions[at + 1] = s.seq;
      }
      appended.incrementAndGet();
      return key;
    }
  }

  /**
   * A shard now holds {@code key} (a token, or a channel's interest key): its stream is kept while it does; answers
   * its stream's and the broadcast stream's positions.
   */
  public Registered register(String key) {
    return new Registered(hold(Streams.ofRegistryKey(key), 1), position(Streams.BROADCAST));
  }

  /** Where {@code key}'s stream and the broadcast stream stand (a shard that already holds the key). */
  public Registered positions(String key) {
    return new Registered(hold(Streams.ofRegistryKey(key), 0), position(Streams.BROADCAST));
  }

  /** A shard no longer holds {@code key}: its stream expires {@code history.ttlMs} after this (or its last message). */
  public void unregister(String key) {
    hold(Streams.ofRegistryKey(key), -1);
  }

  private StreamPosition hold(String name, int delta) {
    long now = clock.getAsLong();
    while (true) {
      Stream s = stream(name);
      synchronized (s) {
        if (streams.get(name) != s) {
          continue;
        }
        s.holders = Math.max(0, s.holders + delta);
        s.touchedMillis = now;
        return new StreamPosition(s.epoch, s.seq);
      }
    }
  }

  private StreamPosition position(String name) {
    Stream s = stream(name);
    synchronized (s) {
      return new StreamPosition(s.epoch, s.seq);
    }
  }

  @Override
  public Future<List<StreamPage>> read(List<StreamRead> reads) {
    List<StreamPage> pages = new ArrayList<>(reads.size());
    for (StreamRead r : reads) {
      pages.add(read(r));
    }
    return Future.succeededFuture(pages);
  }

  StreamPage read(StreamRead r) {
    while (true) {
      Stream s = stream(r.stream());
      synchronized (s) {
        if (streams.get(r.stream()) != s) {
          continue;
        }
        if (r.epoch() != s.epoch || r.afterSeq() > s.seq) {
          return new StreamPage(s.epoch, s.seq, false, List.of());
        }
        if (r.afterSeq() == s.seq) {
          return new StreamPage(s.epoch, s.seq, true, List.of());
        }
        long first = s.seq - s.messages.size() + 1;
        if (r.afterSeq() + 1 < first) {
          return new StreamPage(s.epoch, s.seq, false, List.of());
        }
        List<StoredMessage> out = new ArrayList<>((int) Math.min(r.limit(), s.seq - r.afterSeq()));
        Iterator<StoredMessage> it = s.messages.iterator();
        while (it.hasNext() && out.size() < r.limit()) {
          StoredMessage m = it.next();
          if (m.seq() > r.afterSeq()) {
            out.add(m);
          }
        }
        return new StreamPage(s.epoch, s.seq, true, out);
      }
    }
  }

  /** Drops the streams of tokens no shard holds whose last message is older than {@code history.ttlMs}. */
  public int sweep() {
    long deadline = clock.getAsLong() - settings.ttlMillis;
    int dropped = 0;
    for (Map.Entry<String, Stream> e : streams.entrySet()) {
      if (e.getKey().equals(Streams.BROADCAST)) {
        continue;
      }
      Stream s = e.getValue();
      synchronized (s) {
        if (s.holders == 0 && s.touchedMillis < deadline && streams.remove(e.getKey(), s)) {
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Streams kept now. */
  public int streams() {
    return streams.size();
  }

  @Override
  public boolean enabled() {
    return true;
  }

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public JsonObject health() {
    StreamPosition b = position(Streams.BROADCAST);
    return new JsonObject().put("store", "memory").put("status", "up")
      .put("streams", streams.size()).put("appended", appended.get())
      .put("broadcastEpoch", Long.toString(b.epoch(), 36)).put("broadcastSeq", b.seq())
      .put("size", settings.size).put("ttlMs", settings.ttlMillis).put("maxReplay", settings.maxReplay);
  }
}
