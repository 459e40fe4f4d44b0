package io.odin.ws.bench;

import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeException;
import io.odin.ws.protocol.EnvelopeParser;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Realistic inputs for the benchmarks: envelopes as producers send them, the load tool's payload shape. */
final class Fixtures {

  static final EnvelopeParser PARSER = new EnvelopeParser(Set.of("system-announcement", "maintenance-notify"), 65536);

  private Fixtures() {
  }

  /** A targeted envelope with a small object as data (about 150 bytes). */
  static byte[] targeted(int i) {
    return ("{\"type\":\"order-update\",\"token\":\"user-" + i + "\",\"data\":{\"id\":" + i
      + ",\"state\":\"shipped\",\"eta\":\"2026-11-28T10:00:00Z\",\"items\":[1,2,3]}}").getBytes(StandardCharsets.UTF_8);
  }

  /** A broadcast envelope with about {@code dataBytes} of data. */
  static byte[] broadcast(int dataBytes) {
    return ("{\"type\":\"system-announcement\",\"channel\":\"global\",\"data\":{\"text\":\""
      + "x".repeat(Math.max(0, dataBytes - 12)) + "\"}}").getBytes(StandardCharsets.UTF_8);
  }

  /** A JSON array of {@code n} targeted envelopes, as one publish request. */
  static byte[] batch(int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(new String(targeted(i), StandardCharsets.UTF_8));
    }
    return sb.append(']').toString().getBytes(StandardCharsets.UTF_8);
  }

  static List<Envelope> parsedTargeted(int n, int tokens) {
    List<Envelope> out = new ArrayList<>(n);
    try {
      for (int i = 0; i < n; i++) {
        out.add(PARSER.parse(targeted(i % tokens), null, null, 0));
      }
    } catch (EnvelopeException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
