package io.odin.ws.testsupport;

import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;

import java.nio.charset.StandardCharsets;

/** Envelopes as the edge parses them, for tests that hand batches to a registry or a history directly. */
public final class Envelopes {

  private Envelopes() {
  }

  /** A message of type {@code t} for {@code tokens}, its data the JSON string {@code text}. */
  public static Envelope targeted(String text, String... tokens) {
    return new Envelope("t", tokens, null, frame(text), false, System.currentTimeMillis());
  }

  /** A broadcast of type {@code t}, its data the JSON string {@code text}. */
  public static Envelope broadcast(String text) {
    return new Envelope("t", null, null, frame(text), true, System.currentTimeMillis());
  }

  private static byte[] frame(String text) {
    byte[] data = ("\"" + text + "\"").getBytes(StandardCharsets.UTF_8);
    return FrameEncoder.message("t", null, data, 0, data.length);
  }
}
