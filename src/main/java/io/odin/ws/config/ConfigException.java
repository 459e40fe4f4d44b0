package io.odin.ws.config;

/** A configuration that cannot be used; the message names the key and what is wrong with it. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
