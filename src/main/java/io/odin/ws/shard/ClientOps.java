package io.odin.ws.shard;

import io.odin.ws.protocol.FrameEncoder;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * What a client may send: {@code {"op":"ping"}}, answered with {@code {"type":"pong"}}, and
 * {@code {"op":"refresh","token":"<jwt>"}} (auth.mode=jwt), answered by the shard's refresh. Anything else gets an
 * error frame and the connection stays open. Later features (subscriptions, acks) add their ops here.
 */
final class ClientOps {

  private ClientOps() {
  }

  /** The frame to answer {@code text} with, on a connection that cannot refresh. */
  static byte[] answer(String text) {
    return answer(text, jwt -> FrameEncoder.error("refresh needs auth.mode=jwt"));
  }

  /** The frame to answer {@code text} with; {@code refresh} answers a refresh op given its JWT. */
  static byte[] answer(String text, java.util.function.Function<String, byte[]> refresh) {
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
    if ("refresh".equals(op)) {
      Object jwt = request.getValue("token");
      return jwt instanceof String ? refresh.apply((String) jwt)
        : FrameEncoder.error("malformed frame: refresh needs \"token\": a JWT string");
    }
    String shown = ((String) op).length() > 32 ? ((String) op).substring(0, 32) + "..." : (String) op;
    return FrameEncoder.error("unknown op \"" + shown + "\"");
  }

  /** {@code {"type":"refreshed","expiresAt":MILLIS}}: the connection now stays open until then. */
  static byte[] refreshed(long expiresAtMillis) {
    JsonObject o = new JsonObject().put("type", "refreshed");
    if (expiresAtMillis != Long.MAX_VALUE) {
      o.put("expiresAt", expiresAtMillis);
    }
    return o.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * {@code {"type":"resumed","recovered":BOOL,"replayed":N}}: the first frame after a connect with {@code since=}; with
   * recovered true the N missed messages follow, then live ones.
   */
  static byte[] resumed(boolean recovered, long replayed) {
    return ("{\"type\":\"resumed\",\"recovered\":" + recovered + ",\"replayed\":" + replayed + "}")
      .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  static boolean isError(byte[] frame) {
    return frame.length > 15 && new String(frame, 0, 15, java.nio.charset.StandardCharsets.US_ASCII).equals("{\"type\":\"error\"");
  }
}
