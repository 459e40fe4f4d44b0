package io.odin.ws.shard;

import io.odin.ws.protocol.Envelope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Event-bus codec of {@link ShardBatch}. Within a node the batch is passed by reference (envelopes are
 * immutable); to a shard on another node it is written once per send as
 * {@code count, then per envelope: flags, publishedAt, type, channel, tokens, frame}.
 */
public final class ShardBatchCodec implements MessageCodec<ShardBatch, ShardBatch> {

  public static final String NAME = "odin.shard-batch";

  @Override
  public void encodeToWire(Buffer buffer, ShardBatch batch) {
    List<Envelope> envelopes = batch.envelopes();
    buffer.appendInt(envelopes.size());
    for (Envelope e : envelopes) {
      buffer.appendByte((byte) (e.isBroadcast() ? 1 : 0));
      buffer.appendLong(e.publishedAtMillis());
      appendString(buffer, e.type());
      appendString(buffer, e.channel());
      String[] tokens = e.tokens();
      buffer.appendInt(tokens.length);
      for (String t : tokens) {
        appendString(buffer, t);
      }
      byte[] frame = e.frame();
      buffer.appendInt(frame.length);
      buffer.appendBytes(frame);
    }
  }

  @Override
  public ShardBatch decodeFromWire(int pos, Buffer buffer) {
    int[] p = {pos};
    int count = buffer.getInt(p[0]);
    p[0] += 4;
    List<Envelope> envelopes = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      boolean broadcast = buffer.getByte(p[0]) == 1;
      p[0] += 1;
      long publishedAt = buffer.getLong(p[0]);
      p[0] += 8;
      String type = readString(buffer, p);
      String channel = readString(buffer, p);
      int tokenCount = buffer.getInt(p[0]);
      p[0] += 4;
      String[] tokens = new String[tokenCount];
      for (int t = 0; t < tokenCount; t++) {
        tokens[t] = readString(buffer, p);
      }
      int frameLength = buffer.getInt(p[0]);
      p[0] += 4;
      byte[] frame = buffer.getBytes(p[0], p[0] + frameLength);
      p[0] += frameLength;
      envelopes.add(new Envelope(type, tokens, channel, frame, broadcast, publishedAt));
    }
    return new ShardBatch(envelopes);
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

  private static String readString(Buffer buffer, int[] p) {
    int length = buffer.getInt(p[0]);
    p[0] += 4;
    if (length < 0) {
      return null;
    }
    String s = buffer.getString(p[0], p[0] + length, "UTF-8");
    p[0] += length;
    return s;
  }

  @Override
  public ShardBatch transform(ShardBatch batch) {
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
}
