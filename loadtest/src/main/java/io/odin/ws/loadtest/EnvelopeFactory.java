package io.odin.ws.loadtest;

import java.nio.charset.StandardCharsets;

/**
 * Builds the publish envelopes the gateway takes ({@code {"type":..,"token":..,"channel":..,"data":..}}), with the
 * load tool's {@link Payload} as data. A broadcast has no token and says {@code "broadcast": true} (the gateway
 * refuses an envelope with neither).
 */
public final class EnvelopeFactory {

  private final String type;
  private final String channel;
  private final String runId;
  private final TokenPlan plan;
  private final String pad;

  public EnvelopeFactory(String type, String channel, String runId, TokenPlan plan, int payloadBytes) {
    this.type = type;
    this.channel = channel;
    this.runId = runId;
    this.plan = plan;
    this.pad = payloadBytes > 0 ? "x".repeat(payloadBytes) : null;
  }

  /** One envelope as UTF-8 JSON; {@code tokens} null or empty makes a broadcast. */
  public byte[] envelope(int seq, int[] tokens, long tsMicros) {
    boolean broadcast = tokens == null || tokens.length == 0;
    StringBuilder sb = new StringBuilder(128 + (pad == null ? 0 : pad.length()));
    sb.append("{\"type\":\"").append(escape(type)).append('"');
    if (broadcast) {
      sb.append(",\"broadcast\":true");
    } else {
      if (tokens.length == 1) {
        sb.append(",\"token\":\"").append(plan.name(tokens[0])).append('"');
      } else {
        sb.append(",\"token\":[");
        for (int i = 0; i < tokens.length; i++) {
          sb.append(i == 0 ? "\"" : ",\"").append(plan.name(tokens[i])).append('"');
        }
        sb.append(']');
      }
    }
    if (channel != null) {
      sb.append(",\"channel\":\"").append(escape(channel)).append('"');
    }
    sb.append(",\"data\":")
      .append(Payload.data(runId, seq, tsMicros, broadcast ? Payload.BROADCAST : Payload.TARGETED, pad))
      .append('}');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A message for the subscribers of channel {@code channel} ({@code "channel"} and no token). */
  public byte[] channelEnvelope(int seq, int channel, long tsMicros) {
    StringBuilder sb = new StringBuilder(128 + (pad == null ? 0 : pad.length()));
    sb.append("{\"type\":\"").append(escape(type)).append("\",\"channel\":\"").append(plan.channelName(channel))
      .append("\",\"data\":").append(Payload.data(runId, seq, tsMicros, Payload.CHANNEL, pad)).append('}');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The Kafka record key of a channel message: its channel (records keyed by channel keep its order). */
  public String channelKey(int channel) {
    return plan.channelName(channel);
  }

  /** The Kafka record key of a message: its (first) token, or null for a broadcast. */
  public String key(int[] tokens) {
    return tokens == null || tokens.length == 0 ? null : plan.name(tokens[0]);
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
