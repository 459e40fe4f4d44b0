package io.odin.ws.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
}
