package io.odin.ws.shard;

import io.odin.ws.protocol.Envelope;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardBatchCodecTest {

  @Test
  void roundTripsOverTheWireAndPassesByReferenceLocally() {
    Envelope targeted = new Envelope("order", new String[] {"a", "b"}, "news", "{\"x\":\"é\"}".getBytes(StandardCharsets.UTF_8), false, 123L);
    Envelope broadcast = new Envelope("sys", null, null, "{}".getBytes(StandardCharsets.UTF_8), true, 456L);
    ShardBatch batch = new ShardBatch(List.of(targeted, broadcast));
    ShardBatchCodec codec = new ShardBatchCodec();
    assertSame(batch, codec.transform(batch));

    Buffer wire = Buffer.buffer().appendString("prefix");
    codec.encodeToWire(wire, batch);
    ShardBatch back = codec.decodeFromWire(6, wire);
    assertEquals(2, back.envelopes().size());
    Envelope t = back.envelopes().get(0);
    assertEquals("order", t.type());
    assertEquals("news", t.channel());
    assertArrayEquals(new String[] {"a", "b"}, t.tokens());
    assertArrayEquals(targeted.frame(), t.frame());
    assertEquals(123L, t.publishedAtMillis());
    Envelope b = back.envelopes().get(1);
    assertTrue(b.isBroadcast());
    assertNull(b.channel());
    assertEquals(0, b.tokens().length);
    assertEquals(456L, b.publishedAtMillis());
  }
}
