package io.odin.ws.auth;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;

import java.util.List;

/** Who may open a WebSocket: client authentication (auth.*) and the browser origin allow-list. */
public final class AuthSettings {

  public static final String MODE_NONE = "none";
  public static final String MODE_JWT = "jwt";

  public static final ConfigKey MODE = ConfigKey.string("auth.mode", MODE_NONE,
    "Client authentication: none (the client names its token with ?token=, trusted as is) or jwt (a signed JWT"
      + " names it; ?token= is ignored)");
  public static final ConfigKey HMAC_SECRET = ConfigKey.string("auth.jwt.hmacSecret", "",
    "Shared secret for HS256/HS384/HS512 JWTs; keep it in the environment, not in a file");
  public static final ConfigKey PUBLIC_KEYS = ConfigKey.stringList("auth.jwt.publicKeys", List.of(),
    "PEM files of public keys (RSA: RS256/384/512, PS*; EC: ES256/384/512); several for rotation");
  public static final ConfigKey JWKS_URL = ConfigKey.string("auth.jwt.jwksUrl", "",
    "A JWKS endpoint; its keys are fetched off the event loop, cached, picked by kid and refreshed").env("ODIN_AUTH_JWKS_URL");
  public static final ConfigKey JWKS_REFRESH_SECONDS = ConfigKey.integer("auth.jwt.jwksRefreshSeconds", 300, 10, 86_400,
    "How often the JWKS is fetched again; a token with an unknown kid also triggers a fetch (at most every 10 s)");
  public static final ConfigKey JWKS_TIMEOUT_MS = ConfigKey.integer("auth.jwt.jwksTimeoutMs", 5_000, 100, 120_000,
    "Longest one JWKS fetch may take, connection, headers, body and redirects included; a slower one is abandoned, its"
      + " connection closed and the keys kept (odin_auth_jwks_fetch_errors_total{reason=\"timeout\"}). Start-up waits"
      + " for the first fetch at most this long");
  public static final ConfigKey JWKS_MAX_BYTES = ConfigKey.integer("auth.jwt.jwksMaxBytes", 1 << 20, 1024, 64 << 20,
    "Largest JWKS body accepted (a JWKS is kilobytes); a larger one is abandoned as soon as it is announced or goes"
      + " over, and the keys kept (odin_auth_jwks_fetch_errors_total{reason=\"too_large\"})");
  public static final ConfigKey ISSUER = ConfigKey.string("auth.jwt.issuer", "",
    "When set, a JWT's iss claim must equal it");
  public static final ConfigKey AUDIENCE = ConfigKey.stringList("auth.jwt.audience", List.of(),
    "When set, a JWT's aud claim must contain one of these");
  public static final ConfigKey TOKEN_CLAIM = ConfigKey.string("auth.jwt.tokenClaim", "sub",
    "The claim whose value is the connection's token (what producers target)");
  public static final ConfigKey CHANNELS_CLAIM = ConfigKey.string("auth.jwt.channelsClaim", "channels",
    "The claim listing the channels a token may subscribe to: names, or beginnings followed by * (prices:*); besides"
      + " them, any channel of a namespace in channels.publicNamespaces");
  public static final ConfigKey SUBSCRIBE_CLAIM = ConfigKey.string("auth.jwt.subscribeClaim", "subscribe",
    "The claim listing channels the connection is subscribed to from its handshake on (the backend's JWT allows them)");
  public static final ConfigKey PUBLIC_NAMESPACES = ConfigKey.stringList("channels.publicNamespaces", List.of(),
    "Namespaces (what precedes a channel name's first colon: prices for prices:BTC) whose channels any connection may"
      + " subscribe to; with auth.mode=jwt, other channels need the JWT's channels claim. auth.mode=none trusts every"
      + " subscription, as it trusts ?token=");
  public static final ConfigKey LEEWAY_SECONDS = ConfigKey.integer("auth.jwt.leewaySeconds", 0, 0, 300,
    "Clock skew allowed when checking exp, nbf and iat");
  public static final ConfigKey ALLOWED_ORIGINS = ConfigKey.stringList("ws.allowedOrigins", List.of(),
    "Origins (scheme://host[:port]) browsers may connect from; another Origin gets 403; empty allows any");

  public static final List<ConfigKey> KEYS = List.of(MODE, HMAC_SECRET, PUBLIC_KEYS, JWKS_URL, JWKS_REFRESH_SECONDS,
    JWKS_TIMEOUT_MS, JWKS_MAX_BYTES, ISSUER, AUDIENCE, TOKEN_CLAIM, CHANNELS_CLAIM, SUBSCRIBE_CLAIM, LEEWAY_SECONDS,
    ALLOWED_ORIGINS, PUBLIC_NAMESPACES);

  final boolean jwt;
  final String hmacSecret;
  final List<String> publicKeys;
  final String jwksUrl;
  final int jwksRefreshSeconds;
  final String issuer;
  final List<String> audience;
  final String tokenClaim;
  final int leewaySeconds;
  final List<String> allowedOrigins;
  final String channelsClaim;
  final String subscribeClaim;
  final java.util.Set<String> publicNamespaces;

  public AuthSettings(GatewayConfig config) {
    String mode = config.getString(MODE);
    if (!mode.equals(MODE_NONE) && !mode.equals(MODE_JWT)) {
      throw new ConfigException(MODE.name() + ": must be none or jwt, got \"" + mode + "\"");
    }
    jwt = mode.equals(MODE_JWT);
    hmacSecret = config.getString(HMAC_SECRET);
    publicKeys = config.getStringList(PUBLIC_KEYS);
    jwksUrl = config.getString(JWKS_URL);
    jwksRefreshSeconds = config.getInt(JWKS_REFRESH_SECONDS);
    issuer = config.getString(ISSUER);
    audience = config.getStringList(AUDIENCE);
    tokenClaim = config.getString(TOKEN_CLAIM);
    leewaySeconds = config.getInt(LEEWAY_SECONDS);
    allowedOrigins = config.getStringList(ALLOWED_ORIGINS);
    channelsClaim = config.getString(CHANNELS_CLAIM);
    subscribeClaim = config.getString(SUBSCRIBE_CLAIM);
    publicNamespaces = java.util.Set.copyOf(config.getStringList(PUBLIC_NAMESPACES));
    for (String ns : publicNamespaces) {
      if (ns.isEmpty() || ns.contains(":") || !io.odin.ws.protocol.ChannelName.isValid(ns)) {
        throw new ConfigException(PUBLIC_NAMESPACES.name() + ": \"" + ns + "\" is not a namespace (1 to "
          + io.odin.ws.protocol.ChannelName.MAX_LENGTH + " characters of letters, digits and . _ @ / = -, no colon)");
      }
    }
    if (jwt && hmacSecret.isEmpty() && publicKeys.isEmpty() && jwksUrl.isEmpty()) {
      throw new ConfigException(MODE.name() + ": jwt needs a key: auth.jwt.hmacSecret (ODIN_AUTH_JWT_HMAC_SECRET),"
        + " auth.jwt.publicKeys (ODIN_AUTH_JWT_PUBLIC_KEYS) or auth.jwt.jwksUrl (ODIN_AUTH_JWKS_URL)");
    }
    if (jwt && !hmacSecret.isEmpty() && hmacSecret.length() < 32) {
      // RFC 7518 3.2: an HS256 key at least as long as the hash; a short secret can be brute-forced offline
      throw new ConfigException(HMAC_SECRET.name() + ": must be at least 32 characters, got " + hmacSecret.length());
    }
    if (tokenClaim.isBlank()) {
      throw new ConfigException(TOKEN_CLAIM.name() + ": must not be empty");
    }
    if (channelsClaim.isBlank()) {
      throw new ConfigException(CHANNELS_CLAIM.name() + ": must not be empty");
    }
    if (subscribeClaim.isBlank()) {
      throw new ConfigException(SUBSCRIBE_CLAIM.name() + ": must not be empty");
    }
  }

  public boolean jwt() {
    return jwt;
  }

  /** Checks what the keys' types cannot say (mode, key presence), naming the key. */
  public static void validate(GatewayConfig config) {
    new AuthSettings(config);
  }
}
