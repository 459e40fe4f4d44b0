package io.odin.ws.api;

import io.odin.ws.config.ConfigKey;

import java.util.List;

/** The management HTTP port: publish API, health, metrics. */
public final class ApiSettings {

  public static final ConfigKey HOST = ConfigKey.string("http.host", "0.0.0.0", "Address the management HTTP port binds to");
  public static final ConfigKey PORT = ConfigKey.port("http.port", 3004, "Management HTTP port: /api/publish, /health, /metrics");
  public static final ConfigKey MAX_BODY_BYTES = ConfigKey.integer("http.maxBodyBytes", 4 << 20, 1024, 256 << 20,
    "Largest publish request body; larger ones are answered 413");

  public static final List<ConfigKey> KEYS = List.of(HOST, PORT, MAX_BODY_BYTES);

  private ApiSettings() {
  }
}
