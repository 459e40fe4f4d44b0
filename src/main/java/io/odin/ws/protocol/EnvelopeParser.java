package io.odin.ws.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses publish envelopes {@code {"type": string, "token": string | [string, ...], "broadcast": boolean,
 * "channel": string, "data": any}} with a streaming parser. {@code data} is never turned into objects: its bytes
 * are copied unchanged into the client frame, which is built here once per message. Other fields are ignored, so
 * producers may add their own.
 * <p>
 * Routing fails closed, both ways. A message that names a recipient ({@code token}, or the Kafka record key when
 * the envelope has neither a token nor a channel) goes only to that recipient, whatever its {@code type}: a producer
 * that takes the type or channel {@code global} from application data cannot widen a private message to everyone.
 * {@code "broadcast": true} beside a {@code token} asks for two different things and is refused
 * ({@link EnvelopeException.Reason#CONFLICTING_TARGET}). A message with no token and a {@code channel} (its own, or
 * its Kafka topic's, {@code kafka.channelTopics}) goes to that channel's subscribers (the name must then follow the
 * {@link ChannelName} grammar). A message without recipient goes to every connection only when the producer says so
 * ({@code "broadcast": true}, a type in {@code dispatch.broadcastTypes} or the channel {@code global}, unless
 * {@code "broadcast": false}); one that names no token, no channel and asks for no broadcast either is refused
 * ({@link EnvelopeException.Reason#NO_TARGET}), so a missing or misspelt {@code token} can never turn a private
 * message into a broadcast. Thread-safe.
 */
public final class EnvelopeParser {

  /** The channel whose messages go to every connection. */
  public static final String GLOBAL_CHANNEL = ChannelName.GLOBAL;
  public static final int MAX_TYPE_LENGTH = 128;
  public static final int MAX_CHANNEL_LENGTH = 256;
  /** The default of {@code dispatch.maxTokensPerEnvelope}. */
  public static final int DEFAULT_MAX_TOKENS = 1_000;

  /** How Jackson names its input inside a message ("[Source: REDACTED (...); line: 1, ..."): nothing for a producer. */
  private static final Pattern JACKSON_SOURCE = Pattern.compile("\\[Source: [^;\\]]*; ");

  private static final JsonFactory JSON = JsonFactory.builder()
    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
    .build();

  private final Set<String> broadcastTypes;
  private final int maxEnvelopeBytes;
  private final int maxTokens;

  public EnvelopeParser(Set<String> broadcastTypes, int maxEnvelopeBytes) {
    this(broadcastTypes, maxEnvelopeBytes, DEFAULT_MAX_TOKENS);
  }

  /** @param maxTokens the most tokens one envelope may name ({@code dispatch.maxTokensPerEnvelope}) */
  public EnvelopeParser(Set<String> broadcastTypes, int maxEnvelopeBytes, int maxTokens) {
    this.broadcastTypes = Set.copyOf(broadcastTypes);
    this.maxEnvelopeBytes = maxEnvelopeBytes;
    this.maxTokens = maxTokens;
  }

  /** One envelope or a JSON array of them, as the publish API takes them. Fails on the first bad one. */
  public List<Envelope> parseBatch(byte[] json, long publishedAtMillis) throws EnvelopeException {
    return parseBatch(json, publishedAtMillis, Integer.MAX_VALUE);
  }

  /**
   * Like {@link #parseBatch(byte[], long)}, refusing an array of more than {@code maxEnvelopes} envelopes
   * ({@code http.maxEnvelopesPerRequest}) as soon as the one too many starts.
   */
  public List<Envelope> parseBatch(byte[] json, long publishedAtMillis, int maxEnvelopes) throws EnvelopeException {
    int start = skipWhitespace(json, 0);
    if (start < json.length && json[start] == '[') {
      if (!Utf8.isValid(json, 0, json.length)) {
        throw notUtf8(json);
      }
      List<Envelope> out = new ArrayList<>();
      try (JsonParser p = JSON.createParser(json)) {
        p.nextToken();
        JsonToken t;
        int index = 0;
        while ((t = nextToken(p)) != JsonToken.END_ARRAY) {
          if (t == null) {
            throw new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "body: unexpected end of JSON");
          }
          if (index >= maxEnvelopes) {
            throw new EnvelopeException(EnvelopeException.Reason.TOO_MANY_ENVELOPES,
              "body: more than " + maxEnvelopes + " envelopes in one request (http.maxEnvelopesPerRequest)");
          }
          if (t != JsonToken.START_OBJECT) {
            throw new EnvelopeException(EnvelopeException.Reason.NOT_OBJECT, "[" + index + "]: must be a JSON object");
          }
          try {
            // one pass over the body: the envelope is read from the batch's own parser, no parser per envelope
            out.add(parseObject(p, json, false, null, null, null, publishedAtMillis));
          } catch (EnvelopeException e) {
            throw e.at(index);
          }
          index++;
        }
        if (nextToken(p) != null) {
          throw new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "body: unexpected content after the array");
        }
      } catch (IOException e) {
        throw notJson(e);
      }
      return out;
    }
    return List.of(parse(json, null, null, null, publishedAtMillis));
  }

  /**
   * One envelope, as a Kafka record's value is.
   *
   * @param fallbackToken the token when the envelope has none (the Kafka record key), or null
   * @param fallbackType  the type when the envelope has none (a Kafka record header), or null
   */
  public Envelope parse(byte[] json, String fallbackToken, String fallbackType, long publishedAtMillis) throws EnvelopeException {
    return parse(json, fallbackToken, fallbackType, null, publishedAtMillis);
  }

  /**
   * One envelope, as a Kafka record's value is.
   *
   * @param fallbackToken   the token when the envelope has none and is no channel message (the Kafka record key), or null
   * @param fallbackType    the type when the envelope has none (a Kafka record header), or null
   * @param fallbackChannel the channel when the envelope has neither a token nor a channel (its topic is mapped to a
   *                        channel, {@code kafka.channelTopics}); it wins over {@code fallbackToken}. Null for none
   */
  public Envelope parse(byte[] json, String fallbackToken, String fallbackType, String fallbackChannel,
                        long publishedAtMillis) throws EnvelopeException {
    if (json == null) {
      throw new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "value: missing");
    }
    // before any parsing: an oversized record costs no more than its length check
    checkSize(json.length);
    if (!Utf8.isValid(json, 0, json.length)) {
      throw new EnvelopeException(EnvelopeException.Reason.NOT_UTF8, "envelope: not valid UTF-8");
    }
    try (JsonParser p = JSON.createParser(json)) {
      if (nextToken(p) != JsonToken.START_OBJECT) {
        throw new EnvelopeException(EnvelopeException.Reason.NOT_OBJECT, "envelope: must be a JSON object");
      }
      return parseObject(p, json, true, fallbackToken, fallbackType, fallbackChannel, publishedAtMillis);
    } catch (IOException e) {
      throw notJson(e);
    }
  }

  /**
   * The object {@code p} (a parser over all of {@code json}) stands at, from its START_OBJECT to its END_OBJECT;
   * {@code data} is copied into the frame from {@code json} as sent. {@code whole}: the object must be all of
   * {@code json} (nothing may follow it).
   */
  private Envelope parseObject(JsonParser p, byte[] json, boolean whole, String fallbackToken, String fallbackType,
                               String fallbackChannel, long publishedAtMillis) throws IOException, EnvelopeException {
    int from = (int) p.currentTokenLocation().getByteOffset();
    String type = null;
    String channel = null;
    String[] tokens = null;
    /** {@code "broadcast"} as sent: null when absent. */
    Boolean broadcastField = null;
    boolean misspeltTokens = false;
    // the first two fields odin-ws does not read (Jackson's field names are canonical: no copy is made)
    String unread1 = null;
    String unread2 = null;
    int dataFrom = -1;
    int dataTo = -1;
    JsonToken t;
    while ((t = nextToken(p)) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = nextToken(p);
      switch (field) {
        case "type":
          type = requireString(p, value, "type", MAX_TYPE_LENGTH, EnvelopeException.Reason.NO_TYPE);
          break;
        case "channel":
          channel = value == JsonToken.VALUE_NULL ? null
            : requireString(p, value, "channel", MAX_CHANNEL_LENGTH, EnvelopeException.Reason.BAD_FIELD);
          break;
        case "token":
          tokens = readTokens(p, value, maxTokens);
          break;
        case "broadcast":
          if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE) {
            p.skipChildren();
            throw new EnvelopeException(EnvelopeException.Reason.BAD_FIELD, "broadcast: must be true or false");
          }
          broadcastField = value == JsonToken.VALUE_TRUE;
          break;
        case "tokens":
          // not a field: remembered only to name the likely typo if the envelope turns out to have no target
          misspeltTokens = true;
          p.skipChildren();
          break;
        case "data":
          dataFrom = (int) p.currentTokenLocation().getByteOffset();
          if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
            p.skipChildren();
          } else {
            p.finishToken();
          }
          dataTo = (int) p.currentLocation().getByteOffset();
          break;
        default:
          // other fields are the producer's own: ignored, but named if the envelope turns out to have no target
          // (a misspelt "token" is one of them)
          if (unread1 == null) {
            unread1 = field;
          } else if (unread2 == null) {
            unread2 = field;
          }
          p.skipChildren();
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "envelope: unexpected end of JSON");
    }
    checkSize((int) p.currentLocation().getByteOffset() - from);
    if (whole && nextToken(p) != null) {
      throw new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "envelope: unexpected content after the object");
    }
    if (type == null) {
      type = fallbackType;
    }
    if (type == null || type.isEmpty()) {
      throw new EnvelopeException(EnvelopeException.Reason.NO_TYPE, "type: missing (a non-empty string is required)");
    }
    boolean broadcastAsked = Boolean.TRUE.equals(broadcastField);
    if (broadcastAsked && tokens != null) {
      throw new EnvelopeException(EnvelopeException.Reason.CONFLICTING_TARGET, "broadcast: true together with \"token\":"
        + " a message goes to its tokens or to every connection, not both; drop one of them");
    }
    // a broadcast the type or channel global asks for, which "broadcast": false vetoes
    boolean implicitBroadcast = broadcastField == null && (GLOBAL_CHANNEL.equals(channel) || broadcastTypes.contains(type));
    // the Kafka key names the recipient of an envelope without token, unless the envelope asks for a broadcast, is a
    // channel message (its own channel: the key only orders it) or its topic maps to a channel (kafka.channelTopics);
    // a key beside a broadcast type or channel global makes the message targeted, never a broadcast
    if (!broadcastAsked && tokens == null && fallbackToken != null && fallbackChannel == null
      && (channel == null || implicitBroadcast)) {
      if (!Token.isValid(fallbackToken)) {
        throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN, "token: " + Token.problem(fallbackToken));
      }
      tokens = new String[] {fallbackToken};
    }
    // a named recipient is never widened: the broadcast type and channel global apply only to messages without one
    boolean broadcast = tokens == null && (broadcastAsked || implicitBroadcast);
    if (!broadcast && tokens == null && channel == null) {
      channel = fallbackChannel;
    }
    boolean toChannel = !broadcast && tokens == null && channel != null && !GLOBAL_CHANNEL.equals(channel);
    if (toChannel) {
      // a channel message: the name must be one clients can subscribe to
      String problem = ChannelName.problem(channel);
      if (problem != null) {
        throw new EnvelopeException(EnvelopeException.Reason.BAD_CHANNEL, "channel: " + problem);
      }
    }
    if (!broadcast && tokens == null && !toChannel) {
      throw new EnvelopeException(EnvelopeException.Reason.NO_TARGET, "token: no target: give \"token\", \"channel\" or \"broadcast\": true"
        + (misspeltTokens ? " (\"tokens\" is not a field: the recipients go in \"token\", a string or an array)"
          : unread1 != null ? " (odin-ws reads no field " + quoted(unread1) + (unread2 != null ? ", " + quoted(unread2) : "")
            + ": the recipients go in \"token\")" : ""));
    }
    byte[] frame = FrameEncoder.message(type, channel, json, dataFrom, dataTo);
    return new Envelope(type, broadcast ? null : tokens, channel, frame, broadcast, publishedAtMillis);
  }

  private void checkSize(int bytes) throws EnvelopeException {
    if (bytes > maxEnvelopeBytes) {
      throw new EnvelopeException(EnvelopeException.Reason.OVERSIZED,
        "envelope: " + bytes + " bytes exceeds the limit of " + maxEnvelopeBytes);
    }
  }

  /**
   * The error for an array body that is not valid UTF-8 (the JSON parser must not see it): which envelope holds
   * the first bad byte, found by following the array's structure (brackets, braces and strings are ASCII).
   */
  private static EnvelopeException notUtf8(byte[] json) {
    int bad = Utf8.firstInvalid(json, 0, json.length);
    int depth = 0;
    int index = -1;
    boolean inString = false;
    for (int i = 0; i < bad; i++) {
      byte c = json[i];
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
      } else if (c == '"') {
        inString = true;
      } else if (c == '{' || c == '[') {
        if (depth == 1 && c == '{') {
          index++;
        }
        depth++;
      } else if (c == '}' || c == ']') {
        depth--;
      }
    }
    EnvelopeException e = new EnvelopeException(EnvelopeException.Reason.NOT_UTF8, (depth >= 2 ? "envelope" : "body") + ": not valid UTF-8");
    return depth >= 2 ? e.at(index) : e;
  }

  private static String[] readTokens(JsonParser p, JsonToken value, int maxTokens) throws IOException, EnvelopeException {
    if (value == JsonToken.VALUE_STRING) {
      String token = p.getText();
      if (!Token.isValid(token)) {
        throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN, "token: " + Token.problem(token));
      }
      return new String[] {token};
    }
    if (value != JsonToken.START_ARRAY) {
      throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN, "token: must be a string or an array of strings");
    }
    Set<String> tokens = new LinkedHashSet<>();
    JsonToken t;
    int i = 0;
    while ((t = nextToken(p)) != JsonToken.END_ARRAY) {
      if (i >= maxTokens) {
        throw new EnvelopeException(EnvelopeException.Reason.TOO_MANY_TOKENS,
          "token: more than " + maxTokens + " tokens in one envelope (dispatch.maxTokensPerEnvelope)");
      }
      if (t != JsonToken.VALUE_STRING) {
        throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN, "token[" + i + "]: must be a string");
      }
      String token = p.getText();
      if (!Token.isValid(token)) {
        throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN, "token[" + i + "]: " + Token.problem(token));
      }
      tokens.add(token);
      i++;
    }
    if (tokens.isEmpty()) {
      throw new EnvelopeException(EnvelopeException.Reason.BAD_TOKEN,
        "token: an empty array names no recipient (send \"broadcast\": true to reach every connection)");
    }
    return tokens.toArray(new String[0]);
  }

  private static String requireString(JsonParser p, JsonToken value, String field, int maxLength,
                                      EnvelopeException.Reason reason) throws IOException, EnvelopeException {
    if (value != JsonToken.VALUE_STRING) {
      p.skipChildren();
      throw new EnvelopeException(reason, field + ": must be a string");
    }
    String s = p.getText();
    if (s.isEmpty() || s.length() > maxLength) {
      throw new EnvelopeException(reason, field + ": must be 1 to " + maxLength + " characters");
    }
    return s;
  }

  private static JsonToken nextToken(JsonParser p) throws IOException {
    return p.nextToken();
  }

  /** Where the body stops being JSON (line and column) and why, in the parser's words less its internals. */
  private static EnvelopeException notJson(IOException e) {
    String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    why = why == null ? e.getClass().getSimpleName() : JACKSON_SOURCE.matcher(why).replaceAll("[");
    int cut = why.indexOf('\n');
    if (cut > 0) {
      why = why.substring(0, cut);
    }
    JsonLocation at = e instanceof JsonProcessingException j ? j.getLocation() : null;
    String where = at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    return new EnvelopeException(EnvelopeException.Reason.NOT_JSON, "body: not valid JSON" + where + ": " + why);
  }

  /** A producer's field name in an answer: quoted, at most 40 characters, control characters left out. */
  private static String quoted(String field) {
    String shown = field.length() <= 40 ? field : field.substring(0, 40) + "...";
    return "\"" + shown.replaceAll("[\\p{Cntrl}\"\\\\]", "?") + "\"";
  }

  private static int skipWhitespace(byte[] b, int i) {
    while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
      i++;
    }
    return i;
  }
}
