package io.odin.ws.protocol;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random and mutated envelopes through the parser for a bounded time: nothing but {@link EnvelopeException}
 * escapes, every accepted envelope has a target (tokens, or a valid channel name), a broadcast is always one the
 * producer asked for, and every client frame is valid JSON.
 */
class EnvelopeParserFuzzTest {

  private static final Set<String> BROADCAST_TYPES = Set.of("system-announcement");
  private final EnvelopeParser parser = new EnvelopeParser(BROADCAST_TYPES, 4096, 8);

  @Test
  void randomAndMutatedEnvelopesFailClosed() {
    long seed = System.nanoTime();
    EnvelopeFuzz fuzz = new EnvelopeFuzz(seed);
    long end = System.nanoTime() + 2_000_000_000L;
    int inputs = 0;
    int accepted = 0;
    while (System.nanoTime() < end) {
      byte[] input = fuzz.next();
      inputs++;
      List<Envelope> envelopes;
      try {
        envelopes = parser.parseBatch(input, 0, 16);
      } catch (EnvelopeException e) {
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
        continue;
      } catch (RuntimeException e) {
        fail("seed " + seed + ": " + e + " for " + new String(input, StandardCharsets.UTF_8), e);
        return;
      }
      accepted += envelopes.size();
      Object decoded = decode(input);
      for (int i = 0; i < envelopes.size(); i++) {
        Envelope e = envelopes.get(i);
        JsonObject source = decoded instanceof JsonArray ? ((JsonArray) decoded).getJsonObject(i) : (JsonObject) decoded;
        String what = "seed " + seed + ": " + new String(input, StandardCharsets.UTF_8);
        if (e.isBroadcast()) {
          assertTrue(Boolean.TRUE.equals(source.getValue("broadcast")) || "global".equals(source.getValue("channel"))
            || BROADCAST_TYPES.contains(e.type()), "a broadcast nobody asked for: " + what);
          assertFalse(source.containsKey("token"), "a message that names a recipient went to everyone: " + what);
        } else if (e.isChannelMessage()) {
          // no token: its channel's subscribers, and only a channel one may subscribe to
          assertEquals(source.getValue("channel"), e.channel(), what);
          assertTrue(ChannelName.isValid(e.channel()), "a channel message to a name nobody can subscribe to: " + what);
        } else {
          assertTrue(e.tokens().length > 0, "no target: " + what);
          assertEquals(source.getValue("token") instanceof String ? List.of(source.getString("token")) : null,
            source.getValue("token") instanceof String ? List.of(e.tokens()) : null, what);
        }
        new JsonObject(new String(e.frame(), StandardCharsets.UTF_8));
      }
    }
    assertTrue(inputs > 1000, "only " + inputs + " inputs in 2 s");
    assertTrue(accepted > 0, "the fuzzer never produced a valid envelope (seed " + seed + ")");
  }

  private static Object decode(byte[] input) {
    String s = new String(input, StandardCharsets.UTF_8).trim();
    try {
      return s.startsWith("[") ? new JsonArray(s) : new JsonObject(s);
    } catch (DecodeException e) {
      throw new AssertionError("the parser accepted what Jackson's tree decoder refuses: " + s, e);
    }
  }
}
