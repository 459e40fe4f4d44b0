package io.odin.ws.protocol;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FrameEncoderTest {

  @Test
  void escapesTypeAndChannel() {
    String type = "a\"b\\c\n\u0001é𝄞";
    byte[] frame = FrameEncoder.message(type, "ch", "[1]".getBytes(StandardCharsets.UTF_8), 0, 3);
    JsonObject json = new JsonObject(new String(frame, StandardCharsets.UTF_8));
    assertEquals(type, json.getString("type"));
    assertEquals("ch", json.getString("channel"));
    assertEquals(1, json.getJsonArray("data").getInteger(0));
  }

  /** The frame is sized up front from these lengths: each must be exactly what the encoder writes. */
  @Test
  void stringLengthsAreExact() {
    for (String s : new String[] {"", "otp", "a\"b", "back\\slash", "\n\u0001\u001f", "é", "日本", "𝄞", "x\uD834y",
      "\uDD1Ez", "mixed é 日 𝄞 \" \t end"}) {
      byte[] frame = FrameEncoder.message(s, s, null, -1, -1);
      // {"type":S,"channel":S,"data":null}
      assertEquals(8 + FrameEncoder.jsonStringLength(s) + 11 + FrameEncoder.jsonStringLength(s) + 8 + 4 + 1, frame.length, s);
      assertEquals(frame.length, new String(frame, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8).length, s);
    }
  }

  @Test
  void errorFrames() {
    JsonObject json = new JsonObject(new String(FrameEncoder.error("bad \"x\""), StandardCharsets.UTF_8));
    assertEquals("error", json.getString("type"));
    assertEquals("bad \"x\"", json.getString("message"));
    assertEquals("{\"type\":\"pong\"}", new String(FrameEncoder.pong(), StandardCharsets.US_ASCII));
  }
}
