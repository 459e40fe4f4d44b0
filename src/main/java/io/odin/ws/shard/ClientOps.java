package io.odin.ws.shard;

import io.odin.ws.protocol.FrameEncoder;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * What a client may send: {@code {"op":"ping"}}, answered with {@code {"type":"pong"}}. Anything else gets an
 * error frame and the connection stays open. Later features (subscriptions, acks) add their ops here.
 */
final class ClientOps {

  private ClientOps() {
  }

  /** The frame to answer {@code text} with. */
  static byte[] answer(String text) {
    JsonObject request;
    try {
      Object parsed = io.vertx.core.json.Json.decodeValue(text);
      if (!(parsed instanceof JsonObject)) {
        return FrameEncoder.error("malformed frame: expected a JSON object like {\"op\":\"ping\"}");
      }
      request = (JsonObject) parsed;
    } catch (DecodeException e) {
      return FrameEncoder.error("malformed frame: not valid JSON");
    }
    Object op = request.getValue("op");
    if (!(op instanceof String)) {
      return FrameEncoder.error("malformed frame: \"op\" must be a string");
    }
    if ("ping".equals(op)) {
      return FrameEncoder.pong();
    }
    String shown = ((String) op).length() > 32 ? ((String) op).substring(0, 32) + "..." : (String) op;
    return FrameEncoder.error("unknown op \"" + shown + "\"");
  }

  static boolean isError(byte[] frame) {
    return frame != FrameEncoder.pong();
  }
}
