package io.odin.ws.shard;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClientOpsTest {

  private static JsonObject answer(String text) {
    return new JsonObject(new String(ClientOps.answer(text), StandardCharsets.UTF_8));
  }

  @Test
  void pingIsAnsweredWithPong() {
    assertEquals(new JsonObject().put("type", "pong"), answer("{\"op\":\"ping\"}"));
    assertFalse(ClientOps.isError(ClientOps.answer("{\"op\":\"ping\"}")));
  }

  @Test
  void anythingElseGetsAnErrorThatSaysWhy() {
    assertTrue(answer("nope").getString("message").contains("not valid JSON"));
    assertTrue(answer("[1]").getString("message").contains("expected a JSON object"));
    assertTrue(answer("{\"op\":5}").getString("message").contains("\"op\" must be a string"));
    assertTrue(answer("{}").getString("message").contains("\"op\" must be a string"));
    JsonObject unknown = answer("{\"op\":\"ack\"}");
    assertEquals("error", unknown.getString("type"));
    assertTrue(unknown.getString("message").contains("unknown op \"ack\""));
    assertTrue(answer("{\"op\":\"subscribe\"}").getString("message").contains("subscribe needs \"channel\""));
    assertTrue(answer("{\"op\":\"unsubscribe\",\"channel\":7}").getString("message").contains("unsubscribe needs \"channel\""));
    assertTrue(ClientOps.isError(ClientOps.answer("{\"op\":\"x\"}")));
  }
}
