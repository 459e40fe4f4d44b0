package io.odin.ws.cluster;

import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Wire form of a {@link NodeBatch}: each distinct envelope once (a broadcast bound for 8 shards of the node is
 * written once, not 8 times), then for each shard its address and the indexes of its envelopes.
 * <pre>
 * int envelopeCount, then per envelope: byte flags (1 broadcast, 2 targeted path, 4 broadcast path), long publishedAt, str type, str channel,
 *                                       int tokenCount, str tokens..., int frameLength, bytes frame,
 *                                       int storedCount (-1: not stored), long stored... (epoch, seq pairs), str storedOrder
 * int shardCount, then per shard: str address, int count, int index...
 * </pre>
 */
public final class NodeBatchCodec implements MessageCodec<NodeBatch, NodeBatch> {

  public static final String NAME = "odin.node-batch";

  /** Envelope flags: a broadcast message; the dispatch path of a message with tokens (per-path metrics). */
  private static final int BROADCAST = 1;
  private static final int TARGETED_PATH = 2;
  private static final int BROADCAST_PATH = 4;

  @Override
  public void encodeToWire(Buffer buffer, NodeBatch batch) {
    IdentityHashMap<Envelope, Integer> index = new IdentityHashMap<>();
    List<Envelope> distinct = new ArrayList<>();
    for (List<Envelope> list : batch.byShard().values()) {
      for (Envelope e : list) {
        if (!index.containsKey(e)) {
          index.put(e, distinct.size());
          distinct.add(e);
        }
      }
    }
    buffer.appendInt(distinct.size());
    for (Envelope e : distinct) {
      buffer.appendByte(flags(e));
      buffer.appendLong(e.publishedAtMillis());
      appendString(buffer, e.type());
      appendString(buffer, e.channel());
      buffer.appendInt(e.tokens().length);
      for (String t : e.tokens()) {
        appendString(buffer, t);
      }
      buffer.appendInt(e.frame().length);
      buffer.appendBytes(e.frame());
      long[] stored = e.stored();
      buffer.appendInt(stored == null ? -1 : stored.length);
      if (stored != null) {
        for (long v : stored) {
          buffer.appendLong(v);
        }
        appendString(buffer, e.storedOrder());
      }
    }
    buffer.appendInt(batch.byShard().size());
    for (Map.Entry<String, List<Envelope>> shard : batch.byShard().entrySet()) {
      appendString(buffer, shard.getKey());
      buffer.appendInt(shard.getValue().size());
      for (Envelope e : shard.getValue()) {
        buffer.appendInt(index.get(e));
      }
    }
  }

  @Override
  public NodeBatch decodeFromWire(int pos, Buffer buffer) {
    Reader r = new Reader(buffer, pos);
    int count = r.readInt();
    Envelope[] envelopes = new Envelope[count];
    for (int i = 0; i < count; i++) {
      byte flags = r.readByte();
      boolean broadcast = (flags & BROADCAST) != 0;
      long publishedAt = r.readLong();
      String type = r.readString();
      String channel = r.readString();
      String[] tokens = new String[r.readInt()];
      for (int t = 0; t < tokens.length; t++) {
        tokens[t] = r.readString();
      }
      byte[] frame = r.readBytes(r.readInt());
      envelopes[i] = new Envelope(type, tokens, channel, frame, broadcast, publishedAt);
      int storedCount = r.readInt();
      if (storedCount >= 0) {
        long[] stored = new long[storedCount];
        for (int s = 0; s < storedCount; s++) {
          stored[s] = r.readLong();
        }
        envelopes[i].stored(stored, r.readString());
      }
      envelopes[i].routedOn((flags & TARGETED_PATH) != 0 ? DispatchPath.TARGETED
        : (flags & BROADCAST_PATH) != 0 ? DispatchPath.BROADCAST : null);
    }
    int shards = r.readInt();
    Map<String, List<Envelope>> byShard = new LinkedHashMap<>();
    for (int s = 0; s < shards; s++) {
      String address = r.readString();
      int n = r.readInt();
      List<Envelope> list = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        list.add(envelopes[r.readInt()]);
      }
      byShard.put(address, list);
    }
    return new NodeBatch(byShard);
  }

  private static byte flags(Envelope e) {
    int flags = e.isBroadcast() ? BROADCAST : 0;
    if (e.path() == DispatchPath.TARGETED) {
      flags |= TARGETED_PATH;
    } else if (e.path() == DispatchPath.BROADCAST) {
      flags |= BROADCAST_PATH;
    }
    return (byte) flags;
  }

  private static void appendString(Buffer buffer, String s) {
    if (s == null) {
      buffer.appendInt(-1);
      return;
    }
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    buffer.appendInt(bytes.length);
    buffer.appendBytes(bytes);
  }

  @Override
  public NodeBatch transform(NodeBatch batch) {
    return batch;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }

  private static final class Reader {
    private final Buffer buffer;
    private int pos;

    Reader(Buffer buffer, int pos) {
      this.buffer = buffer;
      this.pos = pos;
    }

    int readInt() {
      int v = buffer.getInt(pos);
      pos += 4;
      return v;
    }

    long readLong() {
      long v = buffer.getLong(pos);
      pos += 8;
      return v;
    }

    byte readByte() {
      return buffer.getByte(pos++);
    }

    byte[] readBytes(int n) {
      byte[] b = buffer.getBytes(pos, pos + n);
      pos += n;
      return b;
    }

    String readString() {
      int n = readInt();
      if (n < 0) {
        return null;
      }
      String s = buffer.getString(pos, pos + n, "UTF-8");
      pos += n;
      return s;
    }
  }
}
