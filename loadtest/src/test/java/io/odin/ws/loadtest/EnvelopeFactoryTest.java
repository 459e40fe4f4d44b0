package io.odin.ws.loadtest;

import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeParser;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tool's envelopes, read by the gateway's own parser, and the frames it builds, read back by the tool. */
class EnvelopeFactoryTest {

  final TokenPlan plan = new TokenPlan("lt-", 10, 10);
  final EnvelopeParser parser = new EnvelopeParser(Set.of("system-announcement"), 65536);
  final byte[] run = "run1".getBytes(StandardCharsets.US_ASCII);

  @Test
  void targetedEnvelopeParsesAsTargetedAndItsFrameReadsBack() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    Envelope e = parser.parse(f.envelope(42, new int[] {7}, 1_700_000_000_123_456L), null, null, 0);
    assertFalse(e.isBroadcast());
    assertArrayEquals(new String[] {"lt-7"}, e.tokens());
    assertEquals("lt-7", f.key(new int[] {7}));
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(Buffer.buffer(e.frame()), run, r);
    assertTrue(r.ours);
    assertEquals(42, r.seq);
    assertEquals(1_700_000_000_123_456L, r.tsMicros);
    assertEquals(Payload.TARGETED, r.kind);
  }

  @Test
  void broadcastEnvelopeHasNoTokenAndNoKey() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", "news", "run1", plan, 100);
    byte[] json = f.envelope(3, null, 5);
    Envelope e = parser.parse(json, null, null, 0);
    assertTrue(e.isBroadcast());
    assertEquals("news", e.channel());
    assertNull(f.key(null));
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(Buffer.buffer(e.frame()), run, r);
    assertTrue(r.ours);
    assertEquals(3, r.seq);
    assertEquals(Payload.BROADCAST, r.kind);
    assertTrue(new String(e.frame(), StandardCharsets.UTF_8).contains("x".repeat(100)));
  }

  @Test
  void multiTokenEnvelope() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    Envelope e = parser.parse(f.envelope(1, new int[] {2, 5}, 5), null, null, 0);
    assertArrayEquals(new String[] {"lt-2", "lt-5"}, e.tokens());
  }

  @Test
  void batchOfEnvelopesParsesAsAnArray() throws Exception {
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "run1", plan, 0);
    String body = "[" + new String(f.envelope(0, new int[] {1}, 5), StandardCharsets.UTF_8) + ","
      + new String(f.envelope(1, null, 5), StandardCharsets.UTF_8) + "]";
    assertEquals(2, parser.parseBatch(body.getBytes(StandardCharsets.UTF_8), 0).size());
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
