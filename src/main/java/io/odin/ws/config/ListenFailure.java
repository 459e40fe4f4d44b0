package io.odin.ws.config;

import java.net.BindException;
import java.util.Locale;

/**
 * A server socket that could not be opened at start-up, said in the configuration's terms:
 * {@code cannot listen on 0.0.0.0:3001 (ws.port / ODIN_WS_PORT): address already in use}. The launcher prints it
 * as is and exits with {@link #EXIT_CODE}; Netty's own exception names neither the port nor the key.
 */
public final class ListenFailure extends RuntimeException {

  /** The launcher's exit status when a listener cannot bind (README, "Running and configuring"). */
  public static final int EXIT_CODE = 3;

  private ListenFailure(String message, Throwable cause) {
    super(message, cause, false, false);
  }

  /** Describes why {@code host:port}, configured by {@code portKey}, could not be bound. */
  public static ListenFailure of(String host, int port, ConfigKey portKey, Throwable cause) {
    return new ListenFailure("cannot listen on " + host + ":" + port + " (" + portKey.name() + " / "
      + portKey.envName() + "): " + reason(cause), cause);
  }

  /** The operating system's reason in a few words, whichever transport (NIO or epoll) reported it. */
  static String reason(Throwable cause) {
    String text = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
    if (text.contains("address already in use")) {
      return "address already in use";
    }
    if (text.contains("cannot assign requested address")) {
      return "no such local address";
    }
    if (text.contains("permission denied")) {
      return "permission denied (ports below 1024 need privileges)";
    }
    return cause instanceof BindException || cause.getMessage() == null ? cause.toString() : cause.getMessage();
  }
}
