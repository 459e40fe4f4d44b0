package io.odin.ws.cluster;

import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeBatchCodecTest {

  @Test
  void roundTripsAndWritesEachEnvelopeOnceWhateverTheNumberOfShards() {
    Envelope targeted = new Envelope("order", new String[] {"a", "b"}, "news", "{\"x\":\"é\"}".getBytes(StandardCharsets.UTF_8), false, 123L);
    Envelope broadcast = new Envelope("sys", null, null, "{}".getBytes(StandardCharsets.UTF_8), true, 456L);
    Map<String, List<Envelope>> byShard = new LinkedHashMap<>();
    byShard.put("odin.shard.b.0", List.of(targeted, broadcast));
    byShard.put("odin.shard.b.1", List.of(broadcast));
    NodeBatch batch = new NodeBatch(byShard);
    NodeBatchCodec codec = new NodeBatchCodec();
    assertSame(batch, codec.transform(batch), "within a node it travels by reference");

    Buffer wire = Buffer.buffer().appendString("prefix");
    codec.encodeToWire(wire, batch);
    NodeBatch back = codec.decodeFromWire(6, wire);
    assertEquals(List.of("odin.shard.b.0", "odin.shard.b.1"), List.copyOf(back.byShard().keySet()));
    Envelope t = back.byShard().get("odin.shard.b.0").get(0);
    assertEquals("order", t.type());
    assertEquals("news", t.channel());
    assertArrayEquals(new String[] {"a", "b"}, t.tokens());
    assertArrayEquals(targeted.frame(), t.frame());
    assertEquals(123L, t.publishedAtMillis());
    Envelope b0 = back.byShard().get("odin.shard.b.0").get(1);
    Envelope b1 = back.byShard().get("odin.shard.b.1").get(0);
    assertSame(b0, b1, "the broadcast crossed the wire once and is shared by both shards");
    assertTrue(b0.isBroadcast());
    assertNull(b0.channel());
    assertEquals(0, b0.tokens().length);

    // the broadcast's frame is written once: adding a third shard for it grows the message by the index only
    Map<String, List<Envelope>> more = new LinkedHashMap<>(byShard);
    more.put("odin.shard.b.2", List.of(broadcast));
    Buffer bigger = Buffer.buffer();
    codec.encodeToWire(bigger, new NodeBatch(more));
    assertEquals(wire.length() - 6 + 4 + "odin.shard.b.2".length() + 4 + 4, bigger.length());
  }

  @Test
  void theDispatchPathCrossesTheWireForThePerPathMetrics() {
    Envelope canary = new Envelope("order", new String[] {"a"}, null, "{}".getBytes(StandardCharsets.UTF_8), false, 1L);
    canary.routedOn(DispatchPath.TARGETED);
    Envelope control = new Envelope("order", new String[] {"b"}, null, "{}".getBytes(StandardCharsets.UTF_8), false, 2L);
    control.routedOn(DispatchPath.BROADCAST);
    Envelope news = new Envelope("sys", null, null, "{}".getBytes(StandardCharsets.UTF_8), true, 3L);
    Map<String, List<Envelope>> byShard = new LinkedHashMap<>();
    byShard.put("odin.shard.b.0", List.of(canary, control, news));
    Buffer wire = Buffer.buffer();
    NodeBatchCodec codec = new NodeBatchCodec();
    codec.encodeToWire(wire, new NodeBatch(byShard));
    List<Envelope> back = codec.decodeFromWire(0, wire).byShard().get("odin.shard.b.0");
    assertEquals(DispatchPath.TARGETED, back.get(0).path());
    assertEquals(DispatchPath.BROADCAST, back.get(1).path());
    assertNull(back.get(2).path());
    assertTrue(back.get(2).isBroadcast());
    assertTrue(!back.get(1).isBroadcast(), "the broadcast path is not a broadcast message");
  }
}
