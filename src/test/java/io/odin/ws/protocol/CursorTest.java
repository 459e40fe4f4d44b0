package io.odin.ws.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The wire form of a message's id: written by shards, parsed back from since=. */
class CursorTest {

  @Test
  void writesAndParsesBack() {
    long[][] cases = {{0, 0, 0, 0}, {1, 1, 1, 1}, {999_999_999_999L, 123, 5, 0}, {Cursor.MAX, Cursor.MAX, Cursor.MAX, Cursor.MAX}};
    for (long[] c : cases) {
      byte[] out = new byte[Cursor.MAX_LENGTH];
      int n = Cursor.write(out, 0, c[0], c[1], c[2], c[3]);
      String wire = new String(out, 0, n, StandardCharsets.US_ASCII);
      Cursor parsed = Cursor.parse(wire);
      assertEquals(c[0], parsed.tokenEpoch, wire);
      assertEquals(c[1], parsed.tokenSeq, wire);
      assertEquals(c[2], parsed.broadcastEpoch, wire);
      assertEquals(c[3], parsed.broadcastSeq, wire);
      assertEquals(wire, parsed.toString());
      assertEquals(true, wire.matches("[0-9a-z.]+"), "URL- and JSON-safe: " + wire);
    }
  }

  @Test
  void refusesWhatIsNotACursor() {
    for (String bad : new String[] {null, "", "1.2.3", "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.", "A.2.3.4", "1.2.3.-4",
      "1.2.3.4 ", "１.2.3.4", "zzzzzzzzzzzz.1.1.1", "1.2.3.4" + "0".repeat(60), "%31.2.3.4", "2gosa7pa2gw.1.1.1"}) {
      assertNull(Cursor.parse(bad), String.valueOf(bad));
    }
  }

  @Test
  void channelSegmentsFollowTheFourNumbersAndTheOldFormStillParses() {
    int[] hashes = {ChannelName.hash("prices:BTC"), ChannelName.hash("news")};
    long[] epochs = {123_456_789L, Cursor.MAX};
    long[] seqs = {0, 42};
    byte[] out = new byte[Cursor.maxLength(2)];
    int n = Cursor.write(out, 0, 5, 6, 7, 8, 2, hashes, epochs, seqs);
    String wire = new String(out, 0, n, StandardCharsets.US_ASCII);
    assertEquals(10, wire.split("\\.").length, wire);
    assertEquals(true, wire.matches("[0-9a-z.]+"), wire);
    Cursor c = Cursor.parse(wire);
    assertEquals(8, c.broadcastSeq);
    assertEquals(List.of(123_456_789L, 0L), List.of(c.channel(hashes[0])[0], c.channel(hashes[0])[1]));
    assertEquals(42, c.channel(hashes[1])[1]);
    assertNull(c.channel(ChannelName.hash("other")));
    assertEquals(wire, c.toString());
    // a client's old four-number id still parses, with no channel
    assertEquals(0, Cursor.parse("2vj5k1m9x.2a.9b1u4k7qz.7").channelHashes.length);
    // two segments of one hash cannot be told apart
    assertSame(Cursor.AMBIGUOUS, Cursor.parse("1.1.1.1.5.1.1.5.2.2").channel(5));
  }

  @Test
  void channelSegmentsAreBoundedAndWholeOrRefused() {
    assertNull(Cursor.parse("1.2.3.4.5"), "a segment is three numbers");
    assertNull(Cursor.parse("1.2.3.4.5.6"));
    assertNull(Cursor.parse("1.2.3.4.zzzzzz.1.1"), "a hash below 36^5");
    StringBuilder three = new StringBuilder("1.2.3.4");
    for (int i = 0; i < 3; i++) {
      three.append(".").append(i).append(".1.1");
    }
    assertEquals(3, Cursor.parse(three.toString(), 3).channelHashes.length);
    assertNull(Cursor.parse(three.toString(), 2), "more channels than the connection may have");
  }
}
