package io.odin.ws.loadtest;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tool's envelopes read as docs/protocol.md defines them, and the client frames the gateway makes of them (the
 * envelope's type and data) read back by the tool. That the gateway takes them is what LoadToolIntegrationTest shows.
 */
class EnvelopeFactoryTest {

  final TokenPlan plan = new TokenPlan("lt-", 10, 10);
  final byte[] run = "run1".getBytes(StandardCharsets.US_ASCII);

  /** The client frame of an envelope: {@code {"type":..,"data":..}} plus the channel when set (docs/protocol.md). */
  static Buffer frame(JsonObject envelope) {
    JsonObject frame = new JsonObject().put("type", envelope.getString("type"));
    if (envelope.containsKey("channel")) {
      frame.put("channel", envelope.getString("channel"));
    }
    return frame.put("data", envelope.getJsonObject("data")).toBuffer();
  }

  static JsonObject json(byte[] envelope) {
    return new JsonObject(Buffer.buffer(envelope));
  }

  @Test
  void targetedEnvelopeParsesAsTargetedAndItsFrameReadsBack() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    JsonObject e = json(f.envelope(42, new int[] {7}, 1_700_000_000_123_456L));
    assertEquals("loadtest", e.getString("type"));
    assertEquals("lt-7", e.getString("token"));
    assertEquals("lt-7", f.key(new int[] {7}));
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(frame(e), run, r);
    assertTrue(r.ours);
    assertEquals(42, r.seq);
    assertEquals(1_700_000_000_123_456L, r.tsMicros);
    assertEquals(Payload.TARGETED, r.kind);
  }

  @Test
  void broadcastEnvelopeHasNoTokenAndNoKey() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", "news", "run1", plan, 100);
    JsonObject e = json(f.envelope(3, null, 5));
    assertFalse(e.containsKey("token"));
    assertEquals("news", e.getString("channel"));
    assertNull(f.key(null));
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(frame(e), run, r);
    assertTrue(r.ours);
    assertEquals(3, r.seq);
    assertEquals(Payload.BROADCAST, r.kind);
    assertTrue(frame(e).toString().contains("x".repeat(100)));
  }

  @Test
  void multiTokenEnvelope() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    JsonObject e = json(f.envelope(1, new int[] {2, 5}, 5));
    assertEquals(new JsonArray().add("lt-2").add("lt-5"), e.getJsonArray("token"));
  }

  @Test
  void batchOfEnvelopesParsesAsAnArray() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    String body = "[" + new String(f.envelope(0, new int[] {1}, 5), StandardCharsets.UTF_8) + ","
      + new String(f.envelope(1, null, 5), StandardCharsets.UTF_8) + "]";
    JsonArray batch = new JsonArray(body);
    assertEquals(2, batch.size());
    assertEquals("lt-1", batch.getJsonObject(0).getString("token"));
    assertFalse(batch.getJsonObject(1).containsKey("token"));
  }

  @Test
  void framesOfOtherRunsAndOtherFramesAreNotOurs() {
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(Buffer.buffer("{\"type\":\"pong\"}"), run, r);
    assertFalse(r.ours);
    assertFalse(r.foreign);
    Payload.read(Buffer.buffer("{\"type\":\"loadtest\",\"data\":" + Payload.data("run2", 1, 2, 't', null) + "}"), run, r);
    assertFalse(r.ours);
    assertTrue(r.foreign);
    Payload.read(Buffer.buffer("{\"type\":\"loadtest\",\"data\":" + Payload.data("run1x", 1, 2, 't', null) + "}"), run, r);
    assertFalse(r.ours);
    Payload.read(Buffer.buffer("{\"type\":\"loadtest\",\"data\":{\"run\":\"run1\",\"seq\":\"x\"}}"), run, r);
    assertFalse(r.ours);
  }

  @Test
  void frameMergingSeveralMessagesIsReadMessageByMessage() {
    String merged = "[{\"type\":\"loadtest\",\"data\":" + Payload.data("run1", 7, 100, 't', null) + "},"
      + "{\"type\":\"loadtest\",\"data\":" + Payload.data("run2", 8, 100, 'b', null) + "},"
      + "{\"type\":\"loadtest\",\"data\":" + Payload.data("run1", 9, 200, 'b', "xx") + "}]";
    Buffer frame = Buffer.buffer(merged);
    Payload.Receipt r = new Payload.Receipt();
    int next = Payload.read(frame, 0, run, r);
    assertTrue(r.ours);
    assertEquals(7, r.seq);
    next = Payload.read(frame, next, run, r);
    assertTrue(r.foreign);
    next = Payload.read(frame, next, run, r);
    assertTrue(r.ours);
    assertEquals(9, r.seq);
    assertEquals(200, r.tsMicros);
    assertEquals(Payload.BROADCAST, r.kind);
    assertEquals(-1, Payload.read(frame, next, run, r));
    assertFalse(r.ours);
  }
}
