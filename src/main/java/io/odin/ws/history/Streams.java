package io.odin.ws.history;

/**
 * Names of the streams a history keeps: one per token (its targeted messages, {@code t:TOKEN}) and one for
 * broadcasts ({@code b}).
 */
public final class Streams {

  /** The stream of every broadcast message. */
  public static final String BROADCAST = "b";

  private Streams() {
  }

  /** The stream of {@code token}'s targeted messages. */
  public static String token(String token) {
    return "t:" + token;
  }
}
