package io.odin.ws.shard;

import io.odin.ws.node.ConnectionLimits;
import io.odin.ws.protocol.Token;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Decides whether a WebSocket upgrade request is accepted, without touching the network: path, token, the
 * node's capacity and the client address's share of it. A refusal carries the HTTP status, a short reason for
 * the response body (so a client developer sees why, e.g. {@code missing token}) and a metric label.
 * Checks run in order path, token, capacity; an authentication check belongs between token and capacity, so
 * that an unauthenticated client never takes a slot.
 * <p>An accepted decision holds a capacity slot: the caller gives it back with {@link #release} when the
 * connection ends or its upgrade fails.
 */
public final class HandshakeGate {

  /** The outcome of one handshake: accepted with its token, or refused with status, reason and metric label. */
  public static final class Decision {
    public final int status;
    public final String reason;
    /** The {@code reason} label of {@code odin_ws_handshakes_refused_total}; null when accepted. */
    public final String label;
    public final String token;

    private Decision(int status, String reason, String label, String token) {
      this.status = status;
      this.reason = reason;
      this.label = label;
      this.token = token;
    }

    public boolean accepted() {
      return label == null;
    }

    static Decision accept(String token) {
      return new Decision(101, null, null, token);
    }

    static Decision refuse(int status, String reason, String label) {
      return new Decision(status, reason, label, null);
    }

    @Override
    public String toString() {
      return accepted() ? "accepted " + token : status + " " + reason;
    }
  }

  /** Metric labels of refusals, registered up front. */
  public static final String NOT_FOUND = "not_found";
  public static final String BAD_TOKEN = "bad_token";
  public static final String NODE_FULL = "node_full";
  public static final String ADDRESS_FULL = "address_full";
  public static final String SHUTTING_DOWN = "shutting_down";

  private final String path;
  private final ConnectionLimits limits;
  private volatile boolean stopping;

  public HandshakeGate(String path, ConnectionLimits limits) {
    this.path = path;
    this.limits = limits;
  }

  /** From now on every handshake is refused with 503: the shard is shutting down. */
  public void stop() {
    stopping = true;
  }

  /**
   * @param requestPath the request's path
   * @param query       the raw query string (may be null)
   * @param address     the client's IP address, for the per-address limit
   */
  public Decision decide(String requestPath, String query, String address) {
    if (stopping) {
      return Decision.refuse(503, "server shutting down", SHUTTING_DOWN);
    }
    if (!path.equals(requestPath)) {
      return Decision.refuse(404, "not found: connect to " + path + "?token=TOKEN", NOT_FOUND);
    }
    String token = queryParam(query, "token");
    if (token == null || token.isEmpty()) {
      return Decision.refuse(400, "missing token", BAD_TOKEN);
    }
    if (!Token.isValid(token)) {
      return Decision.refuse(400, "token " + Token.problem(token), BAD_TOKEN);
    }
    ConnectionLimits.Refusal full = limits.tryAcquire(address);
    if (full == ConnectionLimits.Refusal.NODE_FULL) {
      return Decision.refuse(503, "too many connections", NODE_FULL);
    }
    if (full == ConnectionLimits.Refusal.ADDRESS_FULL) {
      return Decision.refuse(503, "too many connections from this address", ADDRESS_FULL);
    }
    return Decision.accept(token);
  }

  /** Gives back the capacity slot of an accepted handshake from {@code address}. */
  public void release(String address) {
    limits.release(address);
  }

  /** The value of query parameter {@code name}, URL-decoded; "" when present without a value; null when absent or undecodable. */
  static String queryParam(String query, String name) {
    if (query == null) {
      return null;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (key.equals(name)) {
        try {
          return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          return "\u0000";
        }
      }
    }
    return null;
  }
}
