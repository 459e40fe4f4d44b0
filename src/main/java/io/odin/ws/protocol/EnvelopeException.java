package io.odin.ws.protocol;

import java.util.Locale;

/** An envelope that cannot be delivered; {@link #reason()} is a bounded label for metrics. */
public final class EnvelopeException extends Exception {

  /** Why an envelope was refused; the lower-case name is the metric label. */
  public enum Reason {
    NOT_JSON, NOT_OBJECT, NO_TYPE, BAD_TOKEN, BAD_FIELD, OVERSIZED, NOT_UTF8,
    /** Neither a token nor an explicit broadcast: nothing is broadcast unless the producer asks. */
    NO_TARGET,
    /** {@code "broadcast": true} and a {@code token}: the producer asked for two different audiences. */
    CONFLICTING_TARGET, TOO_MANY_TOKENS, TOO_MANY_ENVELOPES,
    /** A channel message whose channel is not a valid channel name. */
    BAD_CHANNEL;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;

  public EnvelopeException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  /** The same problem located inside a batch, e.g. {@code [3].token: ...}. */
  public EnvelopeException at(int index) {
    return new EnvelopeException(reason, "[" + index + "]." + getMessage());
  }
}
