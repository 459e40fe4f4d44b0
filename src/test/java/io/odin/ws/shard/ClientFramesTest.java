package io.odin.ws.shard;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrameType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.vertx.core.http.WebSocketFrameType.BINARY;
import static io.vertx.core.http.WebSocketFrameType.CONTINUATION;
import static io.vertx.core.http.WebSocketFrameType.PING;
import static io.vertx.core.http.WebSocketFrameType.PONG;
import static io.vertx.core.http.WebSocketFrameType.TEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Frame rate, reassembly and UTF-8 rules for one client's frames, without a socket. */
class ClientFramesTest {

  private static Buffer text(String s) {
    return Buffer.buffer(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void wholeTextMessage() {
    ClientFrames f = new ClientFrames(100, 50);
    assertEquals(ClientFrames.TEXT, f.onFrame(TEXT, true, text("{\"op\":\"ping\"}"), 0));
    assertEquals("{\"op\":\"ping\"}", f.text());
  }

  @Test
  void fragmentedMessageIsPutTogetherWithinTheLimit() {
    ClientFrames f = new ClientFrames(10, 50);
    assertEquals(ClientFrames.NOTHING, f.onFrame(TEXT, false, text("abc"), 0));
    // a control frame may come between fragments
    assertEquals(ClientFrames.NOTHING, f.onFrame(PING, true, Buffer.buffer(), 0));
    assertEquals(ClientFrames.NOTHING, f.onFrame(CONTINUATION, false, text("def"), 0));
    assertEquals(ClientFrames.TEXT, f.onFrame(CONTINUATION, true, text("ghij"), 0));
    assertEquals("abcdefghij", f.text());
    assertEquals(0, f.bufferedBytes());
  }

  @Test
  void fragmentedMessageOverTheLimitCloses1009AndLetsGoOfItsBytes() {
    ClientFrames f = new ClientFrames(10, 50);
    assertEquals(ClientFrames.NOTHING, f.onFrame(TEXT, false, text("123456"), 0));
    assertEquals(ClientFrames.CLOSE, f.onFrame(CONTINUATION, false, text("789012"), 0));
    assertEquals(1009, f.closeCode());
    assertEquals("message larger than 10 bytes", f.closeReason());
    assertEquals(0, f.bufferedBytes());
  }

  @Test
  void singleFrameOverTheLimitCloses1009() {
    ClientFrames f = new ClientFrames(10, 50);
    assertEquals(ClientFrames.CLOSE, f.onFrame(BINARY, true, Buffer.buffer(new byte[11]), 0));
    assertEquals(1009, f.closeCode());
  }

  @Test
  void invalidUtf8Closes1007EvenAcrossFragments() {
    ClientFrames f = new ClientFrames(100, 50);
    assertEquals(ClientFrames.CLOSE, f.onFrame(TEXT, true, Buffer.buffer(new byte[] {'{', (byte) 0xC3, '}'}), 0));
    assertEquals(1007, f.closeCode());
    // a valid two-byte character split over two fragments is fine
    ClientFrames g = new ClientFrames(100, 50);
    byte[] e = "é".getBytes(StandardCharsets.UTF_8);
    assertEquals(ClientFrames.NOTHING, g.onFrame(TEXT, false, Buffer.buffer(new byte[] {e[0]}), 0));
    assertEquals(ClientFrames.TEXT, g.onFrame(CONTINUATION, true, Buffer.buffer(new byte[] {e[1]}), 0));
    assertEquals("é", g.text());
    // overlong encodings and lone surrogates are invalid
    ClientFrames h = new ClientFrames(100, 50);
    assertEquals(ClientFrames.CLOSE, h.onFrame(TEXT, true, Buffer.buffer(new byte[] {(byte) 0xC0, (byte) 0xAF}), 0));
    assertEquals(ClientFrames.CLOSE, new ClientFrames(100, 50)
      .onFrame(TEXT, true, Buffer.buffer(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), 0));
  }

  @Test
  void binaryMessagesAreNotCheckedAsText() {
    ClientFrames f = new ClientFrames(100, 50);
    assertEquals(ClientFrames.BINARY, f.onFrame(BINARY, true, Buffer.buffer(new byte[] {(byte) 0xFF}), 0));
  }

  @Test
  void framesAboveTheRateClose1008AndTheNextSecondStartsAfresh() {
    ClientFrames f = new ClientFrames(100, 3);
    for (int i = 0; i < 3; i++) {
      assertEquals(ClientFrames.TEXT, f.onFrame(TEXT, true, text("x"), 1000 + i));
    }
    assertEquals(ClientFrames.CLOSE, f.onFrame(PING, true, Buffer.buffer(), 1500));
    assertEquals(1008, f.closeCode());
    assertEquals("too many frames: more than 3 per second", f.closeReason());

    ClientFrames g = new ClientFrames(100, 3);
    for (int second = 0; second < 5; second++) {
      for (int i = 0; i < 3; i++) {
        assertEquals(ClientFrames.TEXT, g.onFrame(TEXT, true, text("x"), second * 1000L + i * 300));
      }
    }
  }

  /** The shard hands over only unsolicited pongs (it keeps the answers to its own pings): they count like any frame. */
  @Test
  void unsolicitedPongsCountTowardsTheRate() {
    ClientFrames f = new ClientFrames(100, 2);
    assertEquals(ClientFrames.NOTHING, f.onFrame(PONG, true, Buffer.buffer(), 0));
    assertEquals(ClientFrames.NOTHING, f.onFrame(PONG, true, Buffer.buffer(), 0));
    assertEquals(ClientFrames.CLOSE, f.onFrame(PONG, true, Buffer.buffer(), 0));
    assertEquals(ClientFrames.CLOSE_POLICY_VIOLATION, f.closeCode());
  }

  @Test
  void brokenFragmentationIsAProtocolError() {
    ClientFrames f = new ClientFrames(100, 50);
    assertEquals(ClientFrames.CLOSE, f.onFrame(CONTINUATION, true, text("x"), 0));
    assertEquals(1002, f.closeCode());
    ClientFrames g = new ClientFrames(100, 50);
    g.onFrame(TEXT, false, text("a"), 0);
    assertEquals(ClientFrames.CLOSE, g.onFrame(WebSocketFrameType.TEXT, true, text("b"), 0));
    assertEquals(1002, g.closeCode());
  }
}
