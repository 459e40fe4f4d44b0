package io.odin.ws.protocol;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EnvelopeParserTest {

  private final EnvelopeParser parser = new EnvelopeParser(Set.of("system-announcement"), 1024);

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String frame(Envelope e) {
    return new String(e.frame(), StandardCharsets.UTF_8);
  }

  @Test
  void targetedEnvelopeKeepsDataBytesUnchanged() throws Exception {
    String data = "{ \"n\" : 1.50e10, \"big\": 123456789012345678901234567890, \"s\":\"\\u00e9t\u00e9 \\\"q\\\"\", \"a\":[1, 2 ,3] }";
    Envelope e = parser.parse(bytes("{\"type\":\"order\",\"token\":\"user-1\",\"data\":" + data + ",\"extra\":7}"), null, null, 42);
    assertEquals("order", e.type());
    assertArrayEquals(new String[] {"user-1"}, e.tokens());
    assertFalse(e.isBroadcast());
    assertEquals(42, e.publishedAtMillis());
    assertEquals("{\"type\":\"order\",\"data\":" + data + "}", frame(e));
    // and the frame is valid JSON whose data equals the producer's
    assertEquals(new JsonObject(data), new JsonObject(frame(e)).getJsonObject("data"));
  }

  @Test
  void scalarAndMissingData() throws Exception {
    assertEquals("{\"type\":\"t\",\"data\":\"x y\"}", frame(parser.parse(bytes("{\"data\":\"x y\",\"type\":\"t\",\"token\":\"a\"}"), null, null, 0)));
    assertEquals("{\"type\":\"t\",\"data\":-12.5}", frame(parser.parse(bytes("{\"type\":\"t\",\"data\":-12.5,\"token\":\"a\"}"), null, null, 0)));
    assertEquals("{\"type\":\"t\",\"data\":null}", frame(parser.parse(bytes("{\"type\":\"t\",\"token\":\"a\"}"), null, null, 0)));
    assertEquals("{\"type\":\"t\",\"data\":true}", frame(parser.parse(bytes("{\"type\":\"t\",\"token\":\"a\",\"data\":true}"), null, null, 0)));
  }

  @Test
  void channelIsInTheFrameOnlyWhenSet() throws Exception {
    Envelope e = parser.parse(bytes("{\"type\":\"t\",\"channel\":\"news\\\"x\",\"token\":\"a\",\"data\":1}"), null, null, 0);
    assertEquals("news\"x", e.channel());
    assertEquals("{\"type\":\"t\",\"channel\":\"news\\\"x\",\"data\":1}", frame(e));
  }

  @Test
  void broadcastRules() throws Exception {
    assertTrue(parser.parse(bytes("{\"type\":\"t\",\"broadcast\":true}"), null, null, 0).isBroadcast(), "asked for");
    assertFalse(parser.parse(bytes("{\"type\":\"t\",\"channel\":\"news\",\"token\":\"a\"}"), null, null, 0).isBroadcast());
    assertTrue(parser.parse(bytes("{\"type\":\"system-announcement\"}"), null, null, 0).isBroadcast(), "broadcast type, no token");
    assertTrue(parser.parse(bytes("{\"type\":\"t\",\"channel\":\"global\"}"), null, null, 0).isBroadcast(), "global, no token");
    // a Kafka key does not turn an asked-for broadcast into a targeted message, and need not be a valid token
    assertTrue(parser.parse(bytes("{\"type\":\"t\",\"broadcast\":true}"), "any key!", null, 0).isBroadcast());
  }

  @Test
  void aNamedRecipientIsNeverWidenedToEveryone() throws Exception {
    // the leak: type or channel taken from application data turned a private message into a broadcast
    for (String json : List.of(
      "{\"type\":\"system-announcement\",\"token\":\"alice\",\"data\":{\"secret\":\"alice-only\"}}",
      "{\"type\":\"t\",\"channel\":\"global\",\"token\":\"alice\"}",
      "{\"type\":\"maintenance\",\"channel\":\"global\",\"token\":[\"alice\"]}")) {
      Envelope e = parser.parse(bytes(json), null, null, 0);
      assertFalse(e.isBroadcast(), json);
      assertArrayEquals(new String[] {"alice"}, e.tokens(), json);
    }
    // the Kafka key names the recipient of a broadcast-typed record, like an envelope token
    Envelope keyed = parser.parse(bytes("{\"type\":\"system-announcement\"}"), "alice", null, 0);
    assertFalse(keyed.isBroadcast());
    assertArrayEquals(new String[] {"alice"}, keyed.tokens());
    EnvelopeException badKey = assertThrows(EnvelopeException.class,
      () -> parser.parse(bytes("{\"type\":\"system-announcement\"}"), "bad key!", null, 0));
    assertEquals(EnvelopeException.Reason.BAD_TOKEN, badKey.reason(), "a key that is no token is a bad record, never a broadcast");
    // the channel stays in the frame: it is a label for the client, not an audience
    assertEquals("{\"type\":\"t\",\"channel\":\"global\",\"data\":null}",
      frame(parser.parse(bytes("{\"type\":\"t\",\"channel\":\"global\",\"token\":\"alice\"}"), null, null, 0)));
  }

  /**
   * Channels beside the fail-closed rules: a channel message's Kafka key only orders it (the envelope's own channel,
   * or its topic's from kafka.channelTopics), while a key beside a broadcast type still names the recipient.
   */
  @Test
  void aChannelMessageTakesNoTokenFromItsKeyAndAKeyStillBeatsABroadcastType() throws Exception {
    Envelope own = parser.parse(bytes("{\"type\":\"tick\",\"channel\":\"prices:BTC\"}"), "prices:BTC", null, null, 0);
    assertTrue(own.isChannelMessage());
    assertEquals("prices:BTC", own.channel());
    assertEquals(0, own.tokens().length);
    Envelope mapped = parser.parse(bytes("{\"type\":\"tick\"}"), "BTC", null, "prices:BTC", 0);
    assertTrue(mapped.isChannelMessage());
    assertEquals("prices:BTC", mapped.channel());
    // the envelope's own channel wins over its topic's
    assertEquals("prices:ETH", parser.parse(bytes("{\"type\":\"tick\",\"channel\":\"prices:ETH\"}"), "BTC", null,
      "prices:BTC", 0).channel());
    // its own token wins over both
    Envelope token = parser.parse(bytes("{\"type\":\"tick\",\"token\":\"alice\"}"), "BTC", null, "prices:BTC", 0);
    assertArrayEquals(new String[] {"alice"}, token.tokens());
    // a broadcast type with a channel and a key: the key is the recipient, never everyone and never the channel
    Envelope keyed = parser.parse(bytes("{\"type\":\"system-announcement\",\"channel\":\"news\"}"), "alice", null, null, 0);
    assertFalse(keyed.isBroadcast());
    assertFalse(keyed.isChannelMessage());
    assertArrayEquals(new String[] {"alice"}, keyed.tokens());
    // "broadcast": false on a mapped topic: the topic's channel, not everyone
    Envelope vetoed = parser.parse(bytes("{\"type\":\"system-announcement\",\"broadcast\":false}"), "BTC", null,
      "prices:BTC", 0);
    assertTrue(vetoed.isChannelMessage());
    // a channel message's name must be one clients can subscribe to
    EnvelopeException bad = assertThrows(EnvelopeException.class,
      () -> parser.parse(bytes("{\"type\":\"tick\",\"channel\":\"no spaces\"}"), "k", null, null, 0));
    assertEquals(EnvelopeException.Reason.BAD_CHANNEL, bad.reason());
  }

  @Test
  void broadcastTrueWithATokenIsRefusedAndFalseVetoesTheImplicitBroadcast() {
    assertProblem("{\"type\":\"t\",\"broadcast\":true,\"token\":\"alice\"}", EnvelopeException.Reason.CONFLICTING_TARGET,
      "broadcast: true together with \"token\"");
    assertProblem("[{\"type\":\"t\",\"token\":\"a\"},{\"type\":\"t\",\"token\":[\"a\",\"b\"],\"broadcast\":true}]",
      EnvelopeException.Reason.CONFLICTING_TARGET, "[1].broadcast: true together with \"token\"");
    // "broadcast": false is the producer saying "not to everyone": a broadcast type or channel does not override it
    assertProblem("{\"type\":\"system-announcement\",\"broadcast\":false}", EnvelopeException.Reason.NO_TARGET, "no target");
    assertProblem("{\"type\":\"t\",\"channel\":\"global\",\"broadcast\":false}", EnvelopeException.Reason.NO_TARGET, "no target");
  }

  @Test
  void noTargetIsRefusedNeverBroadcast() {
    assertProblem("{\"type\":\"t\"}", EnvelopeException.Reason.NO_TARGET, "token: no target: give \"token\", \"channel\" or \"broadcast\": true");
    assertProblem("{\"type\":\"t\",\"broadcast\":false}", EnvelopeException.Reason.NO_TARGET, "no target");
    assertProblem("{\"type\":\"t\",\"token\":null}", EnvelopeException.Reason.BAD_TOKEN, "token: must be a string");
    // the typo of the issue: "tokens" is not a field, so the envelope has no target, and the answer says why
    assertProblem("{\"type\":\"otp\",\"tokens\":[\"alice\"],\"data\":{\"code\":123456}}", EnvelopeException.Reason.NO_TARGET,
      "\"tokens\" is not a field");
    assertProblem("[{\"type\":\"t\",\"token\":\"a\"},{\"type\":\"t\",\"to\":\"b\"}]", EnvelopeException.Reason.NO_TARGET, "[1].token: no target");
    // any other misspelling is named too: the fields odin-ws does not read (the first two)
    assertProblem("{\"type\":\"otp\",\"tokn\":\"alice\",\"data\":{}}", EnvelopeException.Reason.NO_TARGET,
      "token: no target: give \"token\", \"channel\" or \"broadcast\": true (odin-ws reads no field \"tokn\": the recipients go in \"token\")");
    assertProblem("{\"id\":7,\"type\":\"otp\",\"tokn\":\"alice\",\"ts\":1}", EnvelopeException.Reason.NO_TARGET,
      "(odin-ws reads no field \"id\", \"tokn\": the recipients go in \"token\")");
    assertProblem("{\"type\":\"t\",\"broadcast\":\"yes\"}", EnvelopeException.Reason.BAD_FIELD, "broadcast: must be true or false");
    assertProblem("{\"type\":\"t\",\"broadcast\":1}", EnvelopeException.Reason.BAD_FIELD, "broadcast: must be true or false");
  }

  @Test
  void tokenAndEnvelopeCountsAreBounded() throws Exception {
    EnvelopeParser small = new EnvelopeParser(Set.of(), 1 << 20, 3);
    assertEquals(3, small.parse(bytes("{\"type\":\"t\",\"token\":[\"a\",\"b\",\"c\"]}"), null, null, 0).tokens().length);
    EnvelopeException tokens = assertThrows(EnvelopeException.class,
      () -> small.parse(bytes("{\"type\":\"t\",\"token\":[\"a\",\"b\",\"c\",\"d\"]}"), null, null, 0));
    assertEquals(EnvelopeException.Reason.TOO_MANY_TOKENS, tokens.reason());
    assertTrue(tokens.getMessage().contains("dispatch.maxTokensPerEnvelope"), tokens.getMessage());
    String two = "[{\"type\":\"t\",\"token\":\"a\"},{\"type\":\"t\",\"token\":\"b\"}]";
    assertEquals(2, small.parseBatch(bytes(two), 0, 2).size());
    EnvelopeException envelopes = assertThrows(EnvelopeException.class,
      () -> small.parseBatch(bytes(two.replace("]", ",{}]")), 0, 2));
    assertEquals(EnvelopeException.Reason.TOO_MANY_ENVELOPES, envelopes.reason());
    assertTrue(envelopes.getMessage().contains("http.maxEnvelopesPerRequest"), envelopes.getMessage());
  }

  @Test
  void tokenArraysAreDeduplicated() throws Exception {
    Envelope e = parser.parse(bytes("{\"type\":\"t\",\"token\":[\"a\",\"b\",\"a\"]}"), null, null, 0);
    assertArrayEquals(new String[] {"a", "b"}, e.tokens());
  }

  @Test
  void fallbacksFromKafkaKeyAndHeader() throws Exception {
    Envelope e = parser.parse(bytes("{\"data\":1}"), "key-token", "header-type", 0);
    assertEquals("header-type", e.type());
    assertArrayEquals(new String[] {"key-token"}, e.tokens());
    Envelope own = parser.parse(bytes("{\"type\":\"mine\",\"token\":\"mine\"}"), "key-token", "header-type", 0);
    assertEquals("mine", own.type());
    assertArrayEquals(new String[] {"mine"}, own.tokens(), "the envelope's token wins over the record key");
  }

  @Test
  void batchOfEnvelopes() throws Exception {
    List<Envelope> list = parser.parseBatch(bytes(" [ {\"type\":\"a\",\"token\":\"x\"}, {\"type\":\"b\",\"broadcast\":true,\"data\":[1,{\"c\":2}]} ] "), 5);
    assertEquals(2, list.size());
    assertEquals("{\"type\":\"b\",\"data\":[1,{\"c\":2}]}", frame(list.get(1)));
    assertEquals(1, parser.parseBatch(bytes("{\"type\":\"a\",\"token\":\"x\"}"), 0).size());
    assertEquals(0, parser.parseBatch(bytes("[]"), 0).size());
  }

  @Test
  void errorsNameTheField() {
    assertProblem("{\"token\":\"a\"}", EnvelopeException.Reason.NO_TYPE, "type: missing");
    assertProblem("{\"type\":7}", EnvelopeException.Reason.NO_TYPE, "type: must be a string");
    assertProblem("{\"type\":\"\"}", EnvelopeException.Reason.NO_TYPE, "type: must be 1 to");
    assertProblem("{\"type\":\"t\",\"token\":\"a b\"}", EnvelopeException.Reason.BAD_TOKEN, "token: may contain only");
    assertProblem("{\"type\":\"t\",\"token\":[\"ok\",5]}", EnvelopeException.Reason.BAD_TOKEN, "token[1]: must be a string");
    assertProblem("{\"type\":\"t\",\"token\":[]}", EnvelopeException.Reason.BAD_TOKEN, "token: an empty array");
    assertProblem("{\"type\":\"t\",\"token\":{}}", EnvelopeException.Reason.BAD_TOKEN, "token: must be a string or an array");
    assertProblem("{\"type\":\"t\",\"channel\":[]}", EnvelopeException.Reason.BAD_FIELD, "channel: must be a string");
    assertProblem("[1]", EnvelopeException.Reason.NOT_OBJECT, "[0]: must be a JSON object");
    assertProblem("\"text\"", EnvelopeException.Reason.NOT_OBJECT, "envelope: must be a JSON object");
    assertProblem("{\"type\":\"t\"", EnvelopeException.Reason.NOT_JSON, "not valid JSON");
    assertProblem("{\"type\":\"t\"} {}", EnvelopeException.Reason.NOT_JSON, "unexpected content");
    assertProblem("not json", EnvelopeException.Reason.NOT_JSON, "body: not valid JSON at line 1, column 5: Unrecognized token 'not'");
    // where it stops being JSON, in the producer's terms: no "Source: REDACTED (StreamReadFeature...)" of the parser
    EnvelopeException cut = assertThrows(EnvelopeException.class, () -> parser.parseBatch(bytes("{\"type\":\"t\",\n \"data\": {\"a\": }}"), 0));
    assertTrue(cut.getMessage().startsWith("body: not valid JSON at line 2, column "), cut.getMessage());
    assertFalse(cut.getMessage().contains("Source") || cut.getMessage().contains("StreamReadFeature"), cut.getMessage());
    EnvelopeException open = assertThrows(EnvelopeException.class, () -> parser.parseBatch(bytes("{\"type\":\"t\",\"data\":{"), 0));
    assertFalse(open.getMessage().contains("Source") || open.getMessage().contains("REDACTED"), open.getMessage());
    assertProblem("[{\"type\":\"ok\",\"token\":\"a\"},{\"type\":\"t\",\"token\":\"%%\"}]", EnvelopeException.Reason.BAD_TOKEN, "[1].token:");
    assertProblem("{\"type\":\"t\",\"token\":\"a\",\"data\":\"" + "x".repeat(2000) + "\"}", EnvelopeException.Reason.OVERSIZED, "exceeds the limit of 1024");
  }

  @Test
  void invalidUtf8IsRefused() {
    byte[] bad = bytes("{\"type\":\"t\",\"data\":\"xx\"}");
    bad[21] = (byte) 0xC3; // a lead byte followed by an ASCII byte
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> parser.parse(bad, null, null, 0));
    assertEquals(EnvelopeException.Reason.NOT_UTF8, e.reason());
  }

  /** In an array, the error names the envelope that holds the bad bytes, wherever they sit in it. */
  @Test
  void invalidUtf8InABatchNamesTheEnvelope() {
    for (String field : new String[] {"type", "token", "data"}) {
      String second = "{\"type\":\"t\",\"token\":\"b\",\"data\":\"xx\"}".replace("\"" + field + "\":\"", "\"" + field + "\":\"\u0001");
      byte[] body = bytes("[{\"type\":\"t\",\"token\":\"a\"}," + second + "]");
      for (int i = 0; i < body.length; i++) {
        if (body[i] == 1) {
          body[i] = (byte) 0xC3; // a lead byte followed by an ASCII byte
        }
      }
      EnvelopeException e = assertThrows(EnvelopeException.class, () -> parser.parseBatch(body, 0));
      assertEquals(EnvelopeException.Reason.NOT_UTF8, e.reason(), field);
      assertTrue(e.getMessage().startsWith("[1]"), e.getMessage());
    }
  }

  @Test
  void badFallbackTokenIsRefused() {
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> parser.parse(bytes("{\"type\":\"t\"}"), "bad key!", null, 0));
    assertEquals(EnvelopeException.Reason.BAD_TOKEN, e.reason());
    assertNull(null);
  }

  private void assertProblem(String json, EnvelopeException.Reason reason, String messagePart) {
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> parser.parseBatch(bytes(json), 0), json);
    assertEquals(reason, e.reason(), e.getMessage());
    assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' should contain '" + messagePart + "'");
  }
}
