package io.odin.ws.loadtest;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a reconnecting client reads from the frames docs/protocol.md defines: the cursor each message frame starts
 * with, and the {@code resumed} frame that answers a {@code since=}.
 */
class PayloadCursorTest {

  final byte[] run = "r1".getBytes(StandardCharsets.US_ASCII);

  @Test
  void aMessageFrameGivesItsCursorAndStillReadsAsTheToolsMessage() {
    Buffer frame = Buffer.buffer("{\"id\":\"e640722d.12.3\",\"type\":\"loadtest\",\"data\":"
      + Payload.data("r1", 7, 1234, 't', null) + "}");
    assertEquals("e640722d.12.3", Payload.cursor(frame));
    Payload.Receipt r = new Payload.Receipt();
    Payload.read(frame, run, r);
    assertTrue(r.ours);
    assertEquals(7, r.seq);
  }

  @Test
  void framesWithoutACursorGiveNone() {
    assertNull(Payload.cursor(Buffer.buffer("{\"type\":\"pong\"}")));
    assertNull(Payload.cursor(Buffer.buffer("{\"id\":\"\",\"type\":\"x\"}")));
    assertNull(Payload.cursor(Buffer.buffer("{\"id\":\"" + "a".repeat(Payload.MAX_CURSOR + 5) + "\"}")),
      "longer than the protocol allows: not a cursor");
    assertNull(Payload.cursor(Buffer.buffer("{\"id\":\"unterminated")));
  }

  @Test
  void resumedSaysWhetherTheGapWasFilledAndHowMuchWasReplayed() {
    Payload.Resumed yes = Payload.resumed(Buffer.buffer("{\"type\":\"resumed\",\"recovered\":true,\"replayed\":42}"));
    assertTrue(yes.recovered());
    assertEquals(42, yes.replayed());
    Payload.Resumed no = Payload.resumed(Buffer.buffer("{\"type\":\"resumed\",\"recovered\":false,\"replayed\":0}"));
    assertFalse(no.recovered());
    assertEquals(0, no.replayed());
    assertNull(Payload.resumed(Buffer.buffer("{\"id\":\"x\",\"type\":\"resumed\",\"data\":null}")),
      "a producer's message of type resumed is a message, not the gateway's answer");
  }
}
