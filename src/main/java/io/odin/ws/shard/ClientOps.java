package io.odin.ws.shard;

import io.odin.ws.protocol.FrameEncoder;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;

/**
 * What a client may send: {@code {"op":"ping"}}, answered with {@code {"type":"pong"}};
 * {@code {"op":"refresh","token":"<jwt>"}} (auth.mode=jwt); {@code {"op":"subscribe","channel":NAME}} and
 * {@code {"op":"unsubscribe","channel":NAME}}, answered by the shard ({@code subscribed}, {@code unsubscribed} or an
 * error naming the op and the channel). Anything else gets an error frame and the connection stays open.
 */
final class ClientOps {

  /** What the shard does with the ops that concern the connection. Each answers a frame, or null to answer later. */
  interface Handler {
    byte[] refresh(String jwt);

    byte[] subscribe(String channel);

    byte[] unsubscribe(String channel);
  }

  /** A connection that can neither refresh nor subscribe (tests, class preloading). */
  private static final Handler NONE = new Handler() {
    @Override
    public byte[] refresh(String jwt) {
      return FrameEncoder.error("refresh needs auth.mode=jwt");
    }

    @Override
    public byte[] subscribe(String channel) {
      return channelError("subscribe", channel, "subscriptions are off (ws.maxSubscriptionsPerConnection is 0)");
    }

    @Override
    public byte[] unsubscribe(String channel) {
      return channelError("unsubscribe", channel, "not subscribed");
    }
  };

  private ClientOps() {
  }

  /** The frame to answer {@code text} with, on a connection that cannot refresh nor subscribe. */
  static byte[] answer(String text) {
    return answer(text, NONE);
  }

  /** The frame to answer {@code text} with, or null when {@code ops} answers later. */
  static byte[] answer(String text, Handler ops) {
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
    switch ((String) op) {
      case "ping":
        return FrameEncoder.pong();
      case "refresh": {
        Object jwt = request.getValue("token");
        return jwt instanceof String ? ops.refresh((String) jwt)
          : FrameEncoder.error("malformed frame: refresh needs \"token\": a JWT string");
      }
      case "subscribe":
      case "unsubscribe": {
        Object channel = request.getValue("channel");
        if (!(channel instanceof String)) {
          return FrameEncoder.error("malformed frame: " + op + " needs \"channel\": a channel name");
        }
        return "subscribe".equals(op) ? ops.subscribe((String) channel) : ops.unsubscribe((String) channel);
      }
      default:
        String shown = ((String) op).length() > 32 ? ((String) op).substring(0, 32) + "..." : (String) op;
        return FrameEncoder.error("unknown op \"" + shown + "\"");
    }
  }

  /** {@code {"type":"refreshed","expiresAt":MILLIS}}: the connection now stays open until then. */
  static byte[] refreshed(long expiresAtMillis) {
    JsonObject o = new JsonObject().put("type", "refreshed");
    if (expiresAtMillis != Long.MAX_VALUE) {
      o.put("expiresAt", expiresAtMillis);
    }
    return o.encode().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * {@code {"type":"resumed","recovered":BOOL,"replayed":N}}: the first frame after a connect with {@code since=}; with
   * recovered true the N missed messages follow, then live ones.
   */
  static byte[] resumed(boolean recovered, long replayed) {
    return ("{\"type\":\"resumed\",\"recovered\":" + recovered + ",\"replayed\":" + replayed + "}")
      .getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * {@code {"type":"subscribed","channel":NAME}} or {@code unsubscribed}, without its {@code id}: the shard writes it
   * with the connection's cursor in front, as a message's ({@link WireFrames#messageHead}). A valid channel name needs
   * no escaping.
   */
  static byte[] channelAnswer(String type, String channel) {
    return ("{\"type\":\"" + type + "\",\"channel\":\"" + channel + "\"}").getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code {"type":"error","op":OP,"channel":NAME,"message":...}}: a subscribe or unsubscribe that was refused. */
  static byte[] channelError(String op, String channel, String message) {
    String shown = channel.length() > 128 ? channel.substring(0, 128) + "..." : channel;
    return new JsonObject().put("type", "error").put("op", op).put("channel", shown).put("message", message)
      .encode().getBytes(StandardCharsets.UTF_8);
  }

  static boolean isError(byte[] frame) {
    return frame.length > 15 && new String(frame, 0, 15, StandardCharsets.US_ASCII).equals("{\"type\":\"error\"");
  }
}
