package io.odin.ws.protocol;

/**
 * A client token names the recipient of targeted messages. Several connections (devices) may share one.
 * A token is 1 to 128 characters of {@code [A-Za-z0-9._:-]}, so it is safe in URLs, Redis keys and logs.
 */
public final class Token {

  public static final int MAX_LENGTH = 128;

  private Token() {
  }

  public static boolean isValid(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == ':' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** Why a token is refused, for error messages. */
  public static String problem(String token) {
    if (token == null || token.isEmpty()) {
      return "must be 1 to " + MAX_LENGTH + " characters";
    }
    if (token.length() > MAX_LENGTH) {
      return "must be 1 to " + MAX_LENGTH + " characters";
    }
    return "may contain only letters, digits and . _ : -";
  }
}
