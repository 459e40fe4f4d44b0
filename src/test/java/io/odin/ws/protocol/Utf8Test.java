package io.odin.ws.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Utf8Test {

  private static boolean valid(byte... b) {
    return Utf8.isValid(b, 0, b.length);
  }

  @Test
  void acceptsWellFormedText() {
    byte[] text = "ascii é € 𝄞 日本".getBytes(StandardCharsets.UTF_8);
    assertTrue(Utf8.isValid(text, 0, text.length));
  }

  @Test
  void refusesMalformedSequences() {
    assertFalse(valid((byte) 0xC3), "truncated");
    assertFalse(valid((byte) 0xC3, (byte) 0x41), "bad continuation");
    assertFalse(valid((byte) 0xC0, (byte) 0x80), "overlong");
    assertFalse(valid((byte) 0xE0, (byte) 0x80, (byte) 0x80), "overlong 3-byte");
    assertFalse(valid((byte) 0xED, (byte) 0xA0, (byte) 0x80), "surrogate");
    assertFalse(valid((byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80), "above U+10FFFF");
    assertFalse(valid((byte) 0xFF), "invalid byte");
  }
}
