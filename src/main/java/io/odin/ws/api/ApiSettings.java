package io.odin.ws.api;

import io.odin.ws.config.ConfigKey;

import java.util.List;

/** The management HTTP port: publish API, health, metrics. */
public final class ApiSettings {

  public static final ConfigKey HOST = ConfigKey.string("http.host", "0.0.0.0", "Address the management HTTP port binds to");
  public static final ConfigKey PORT = ConfigKey.port("http.port", 3004, "Management HTTP port: /api/publish, /health, /metrics");
  public static final ConfigKey MAX_BODY_BYTES = ConfigKey.integer("http.maxBodyBytes", 4 << 20, 1024, 256 << 20,
    "Largest publish request body; larger ones are answered 413");

  public static final ConfigKey MAX_ENVELOPES_PER_REQUEST = ConfigKey.integer("http.maxEnvelopesPerRequest", 10_000, 1, 1_000_000,
    "Most envelopes in one publish request; more are answered 400");
  public static final ConfigKey MAX_IN_FLIGHT_BODY_BYTES = ConfigKey.integer("http.maxInFlightBodyBytes", 64 << 20, 1024, 1 << 30,
    "Bytes of all publish bodies being received at once; a request that would go over is answered 503 before its body"
      + " is read. Keep it well under the heap (-Xmx): each byte is held until the request is parsed");
  public static final ConfigKey REQUEST_TIMEOUT_MS = ConfigKey.integer("http.requestTimeoutMs", 10_000, 100, 600_000,
    "Longest a management request may take from its first byte to its answer (headers and body included); a slower"
      + " or stalled one is answered 408 when possible and its connection closed. Also the idle timeout of management connections");

  public static final ConfigKey COALESCE_MAX_ENVELOPES = ConfigKey.integer("http.coalesceMaxEnvelopes", 1_000, 1, 100_000,
    "Publish requests that complete in the same turn of the event loop are handed to a dispatcher as one batch of up"
      + " to this many envelopes (one registry lookup, one message per shard); each request is still answered with its"
      + " own counts. 1 hands over every request alone");

  public static final List<ConfigKey> KEYS = List.of(HOST, PORT, MAX_BODY_BYTES, MAX_ENVELOPES_PER_REQUEST,
    MAX_IN_FLIGHT_BODY_BYTES, REQUEST_TIMEOUT_MS, COALESCE_MAX_ENVELOPES);

  private ApiSettings() {
  }
}
