package io.odin.ws.shard;

import io.odin.ws.auth.ChannelAccess;
import io.odin.ws.node.ConnectionLimits;
import io.odin.ws.auth.ClientAuthenticator;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;


/**
 * Decides whether a WebSocket upgrade request is accepted, without touching the network: path, the node's handshake
 * rate, who it is for (token or JWT, origin: {@link ClientAuthenticator}), the channels it subscribes to from the start
 * ({@code ?channels=} and the JWT's subscribe claim, each allowed by {@link ChannelAccess}, at most
 * {@code ws.maxSubscriptionsPerConnection}), the node's capacity and the client address's and the token's share of it.
 * A refusal carries the HTTP status, a short reason for the response body (so a client developer sees why, e.g.
 * {@code missing token}) and a metric label.
 * Checks run in order path, rate, authentication, channels, capacity: the rate bounds the work of a storm (JWT checks, registry
 * writes, replays) before any of it is done, and an unauthenticated client never takes a slot.
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
    /** When the connection's JWT expires (closed with 4401 then), or Long.MAX_VALUE. */
    public final long expiresAtMillis;
    /** A refusal's {@code Retry-After}: the seconds after which the client should try again; 0 when it says none. */
    public final long retryAfterSeconds;
    /** The channels it is subscribed to from the start, without duplicates. */
    public final List<String> channels;
    /** The channel patterns its JWT grants, for its later subscribe ops. */
    public final List<String> channelGrants;

    private Decision(int status, String reason, String label, String token, long expiresAtMillis, long retryAfterSeconds,
                     List<String> channels, List<String> channelGrants) {
      this.status = status;
      this.reason = reason;
      this.label = label;
      this.token = token;
      this.expiresAtMillis = expiresAtMillis;
      this.retryAfterSeconds = retryAfterSeconds;
      this.channels = channels;
      this.channelGrants = channelGrants;
    }

    public boolean accepted() {
      return label == null;
    }

    static Decision accept(String token, long expiresAtMillis, List<String> channels, List<String> channelGrants) {
      return new Decision(101, null, null, token, expiresAtMillis, 0, channels, channelGrants);
    }

    static Decision refuse(int status, String reason, String label) {
      return new Decision(status, reason, label, null, 0, 0, List.of(), List.of());
    }

    static Decision retryAfter(int status, String reason, String label, long seconds) {
      return new Decision(status, reason, label, null, 0, seconds, List.of(), List.of());
    }

    @Override
    public String toString() {
      return accepted() ? "accepted " + token : status + " " + reason;
    }
  }

  /** Metric labels of refusals, registered up front. */
  public static final String NOT_FOUND = "not_found";
  public static final String BAD_TOKEN = "bad_token";
  public static final String UNAUTHORIZED = "unauthorized";
  public static final String ORIGIN = "origin";
  public static final String NODE_FULL = "node_full";
  public static final String ADDRESS_FULL = "address_full";
  public static final String TOKEN_FULL = "token_full";
  public static final String SHUTTING_DOWN = "shutting_down";
  public static final String BAD_CHANNELS = "bad_channels";
  public static final String CHANNEL_REFUSED = "channel_refused";
  public static final String RATE_LIMITED = "rate_limited";
  public static final String STARTING = "starting";

  private final String path;
  private final ConnectionLimits limits;
  private final ClientAuthenticator auth;
  private final ChannelAccess channelAccess;
  private final int maxSubscriptions;
  private final BooleanSupplier started;
  private volatile boolean stopping;

  public HandshakeGate(String path, ConnectionLimits limits, ClientAuthenticator auth, ChannelAccess channelAccess,
                       int maxSubscriptions) {
    this(path, limits, auth, channelAccess, maxSubscriptions, () -> true);
  }

  /**
   * @param started false while the node is starting: its shards listen before the cluster knows them, and a client
   *                connected then would miss what other nodes dispatch (they do not send to shards they do not know)
   */
  public HandshakeGate(String path, ConnectionLimits limits, ClientAuthenticator auth, ChannelAccess channelAccess,
                       int maxSubscriptions, BooleanSupplier started) {
    this.path = path;
    this.limits = limits;
    this.auth = auth;
    this.channelAccess = channelAccess;
    this.maxSubscriptions = maxSubscriptions;
    this.started = started;
  }

  /** From now on every handshake is refused with 503: the shard is shutting down. */
  public void stop() {
    stopping = true;
  }

  /**
   * @param requestPath   the request's path
   * @param query         the raw query string (may be null)
   * @param address       the client's IP address, for the per-address limit
   * @param origin        the Origin header (null for non-browser clients), for ws.allowedOrigins
   * @param authorization the Authorization header (a JWT with auth.mode=jwt), or null
   */
  public Decision decide(String requestPath, String query, String address, String origin, String authorization) {
    if (stopping) {
      return Decision.refuse(503, "server shutting down", SHUTTING_DOWN);
    }
    if (!started.getAsBoolean()) {
      return Decision.retryAfter(503, "server starting: retry after 1 s", STARTING, 1);
    }
    if (!path.equals(requestPath)) {
      return Decision.refuse(404, "not found: connect to " + path + "?token=TOKEN", NOT_FOUND);
    }
    long retryAfter = limits.admitHandshake();
    if (retryAfter > 0) {
      return Decision.retryAfter(503, "too many handshakes: retry after " + retryAfter + " s", RATE_LIMITED, retryAfter);
    }
    // who the connection is for: ?token= (auth.mode=none) or a verified JWT's claim; and the origin allow-list
    ClientAuthenticator.Decision who = auth.handshake(origin, authorization, query);
    if (!who.accepted()) {
      String label = who.status() == 401 ? UNAUTHORIZED : who.status() == 403 ? ORIGIN : BAD_TOKEN;
      return Decision.refuse(who.status(), who.reason(), label);
    }
    // the channels it starts with: ?channels=a,b (each allowed as a subscribe op would be) and the JWT's subscribe
    // claim (the backend allowed them); a reconnect restores its subscriptions in one step
    Set<String> channels = new LinkedHashSet<>(who.subscribe());
    for (String channel : channels) {
      String problem = io.odin.ws.protocol.ChannelName.problem(channel);
      if (problem != null) {
        return Decision.refuse(401, "JWT subscribe claim: channel \"" + shown(channel) + "\" " + problem, UNAUTHORIZED);
      }
    }
    String asked = ClientAuthenticator.queryParam(query, "channels");
    if (asked != null && !asked.isEmpty()) {
      for (String channel : asked.split(",", -1)) {
        String refusal = channels.contains(channel) ? null : channelAccess.refusal(channel, who.channelGrants());
        if (refusal != null) {
          boolean malformed = !io.odin.ws.protocol.ChannelName.isValid(channel);
          return Decision.refuse(malformed ? 400 : 403, "channels: \"" + shown(channel) + "\": " + refusal,
            malformed ? BAD_CHANNELS : CHANNEL_REFUSED);
        }
        channels.add(channel);
      }
    }
    if (channels.size() > maxSubscriptions) {
      return Decision.refuse(400, "channels: " + channels.size() + " channels, more than ws.maxSubscriptionsPerConnection ("
        + maxSubscriptions + ")", BAD_CHANNELS);
    }
    ConnectionLimits.Refusal full = limits.tryAcquire(address, who.token());
    if (full == ConnectionLimits.Refusal.NODE_FULL) {
      return Decision.refuse(503, "too many connections", NODE_FULL);
    }
    if (full == ConnectionLimits.Refusal.ADDRESS_FULL) {
      return Decision.refuse(503, "too many connections from this address", ADDRESS_FULL);
    }
    if (full == ConnectionLimits.Refusal.TOKEN_FULL) {
      return Decision.refuse(503, "too many connections for this token", TOKEN_FULL);
    }
    return Decision.accept(who.token(), who.expiresAtMillis(), List.copyOf(new ArrayList<>(channels)), who.channelGrants());
  }

  /** A client's channel name in an answer: at most 40 characters, nothing but what the grammar allows. */
  static String shown(String channel) {
    String s = channel.length() <= 40 ? channel : channel.substring(0, 40) + "...";
    return s.replaceAll("[^A-Za-z0-9._:@/=*-]", "?");
  }

  /** Gives back the capacity slot of an accepted handshake from {@code address} for {@code token}. */
  public void release(String address, String token) {
    limits.release(address, token);
  }
}
