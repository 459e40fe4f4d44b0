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

  @Test
  void errorFrames() {
    JsonObject json = new JsonObject(new String(FrameEncoder.error("bad \"x\""), StandardCharsets.UTF_8));
    assertEquals("error", json.getString("type"));
    assertEquals("bad \"x\"", json.getString("message"));
    assertEquals("{\"type\":\"pong\"}", new String(FrameEncoder.pong(), StandardCharsets.US_ASCII));
  }
}
