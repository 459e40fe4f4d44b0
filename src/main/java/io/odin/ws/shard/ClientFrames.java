package io.odin.ws.shard;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrameType;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * What one client's frames amount to: how fast it sends, its fragmented messages put back together, and its
 * text checked as UTF-8. The shard feeds every frame the client sends to {@link #onFrame} and acts on the
 * outcome: a whole text or binary message, nothing yet, or a close code (1008 too many frames per second,
 * 1009 a message over the size limit, 1007 invalid UTF-8, 1002 broken fragmentation). One per connection,
 * used only on its shard's event loop; it holds bytes only while a fragmented message is being received.
 */
final class ClientFrames {

  /** Outcomes of {@link #onFrame}. */
  static final int NOTHING = 0;
  static final int TEXT = 1;
  static final int BINARY = 2;
  static final int CLOSE = 3;

  static final short CLOSE_PROTOCOL_ERROR = 1002;
  static final short CLOSE_INVALID_DATA = 1007;
  static final short CLOSE_POLICY_VIOLATION = 1008;
  static final short CLOSE_TOO_BIG = 1009;

  private final int maxMessageBytes;
  private final int maxFramesPerSecond;
  private long windowStartMillis;
  private int framesInWindow;
  /** The fragments received so far of an unfinished message; null between messages. */
  private Buffer fragments;
  private boolean fragmentsBinary;
  private String text;
  private short closeCode;
  private String closeReason;

  ClientFrames(int maxMessageBytes, int maxFramesPerSecond) {
    this.maxMessageBytes = maxMessageBytes;
    this.maxFramesPerSecond = maxFramesPerSecond;
  }

  /** Takes one frame the client sent at {@code nowMillis}; returns {@link #NOTHING}, {@link #TEXT}, {@link #BINARY} or {@link #CLOSE}. */
  int onFrame(WebSocketFrameType type, boolean isFinal, Buffer data, long nowMillis) {
    // every frame counts, pongs included: the shard passes on only unsolicited pongs (the answer to its own ping
    // never comes here), and a stream of them costs a read and a wake-up each like any frame
    if (nowMillis - windowStartMillis >= 1000 || nowMillis < windowStartMillis) {
      windowStartMillis = nowMillis;
      framesInWindow = 0;
    }
    if (++framesInWindow > maxFramesPerSecond) {
      fragments = null;
      return close(CLOSE_POLICY_VIOLATION, "too many frames: more than " + maxFramesPerSecond + " per second");
    }
    switch (type) {
      case TEXT:
      case BINARY:
        if (fragments != null) {
          fragments = null;
          return close(CLOSE_PROTOCOL_ERROR, "new message before the fragmented one ended");
        }
        if (data.length() > maxMessageBytes) {
          return close(CLOSE_TOO_BIG, tooBig());
        }
        if (isFinal) {
          return complete(type == WebSocketFrameType.BINARY, data);
        }
        fragments = Buffer.buffer(Math.min(maxMessageBytes, data.length() * 2)).appendBuffer(data);
        fragmentsBinary = type == WebSocketFrameType.BINARY;
        return NOTHING;
      case CONTINUATION:
        if (fragments == null) {
          return close(CLOSE_PROTOCOL_ERROR, "continuation frame without a message");
        }
        if (fragments.length() + data.length() > maxMessageBytes) {
          fragments = null;
          return close(CLOSE_TOO_BIG, tooBig());
        }
        fragments.appendBuffer(data);
        if (!isFinal) {
          return NOTHING;
        }
        Buffer whole = fragments;
        fragments = null;
        return complete(fragmentsBinary, whole);
      default:
        // ping, pong, close: the shard answers pings and closes itself; they only count towards the rate
        return NOTHING;
    }
  }

  private int complete(boolean binary, Buffer message) {
    if (binary) {
      return BINARY;
    }
    try {
      text = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(message.getBytes()))
        .toString();
      return TEXT;
    } catch (CharacterCodingException e) {
      return close(CLOSE_INVALID_DATA, "invalid UTF-8 in a text message");
    }
  }

  private String tooBig() {
    return "message larger than " + maxMessageBytes + " bytes";
  }

  private int close(short code, String reason) {
    closeCode = code;
    closeReason = reason;
    return CLOSE;
  }

  /** The message of the last {@link #TEXT} outcome. */
  String text() {
    String t = text;
    text = null;
    return t;
  }

  short closeCode() {
    return closeCode;
  }

  String closeReason() {
    return closeReason;
  }

  /** Bytes held for an unfinished fragmented message. */
  int bufferedBytes() {
    return fragments == null ? 0 : fragments.length();
  }
}
