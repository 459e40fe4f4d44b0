package io.odin.ws.auth;

import io.odin.ws.protocol.Token;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.impl.jose.JWK;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.auth.NoSuchKeyIdException;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides who a WebSocket handshake is for: which token (the registry key producers target) it may receive, or
 * why it is refused. With {@code auth.mode=none} the client names its token ({@code ?token=}); with {@code jwt}
 * a JWT signed by the operator's backend names it (claim {@code auth.jwt.tokenClaim}), verified by vertx-auth-jwt
 * with the configured HMAC secret, PEM public keys and JWKS keys, and {@code ?token=} is ignored.
 * <p>Plain and thread-safe (every shard of a node shares one): no Vert.x needed; the JWKS keys are swapped in by
 * {@link JwksRefresher}.
 */
public final class ClientAuthenticator {

  /** Longest JWT looked at; longer ones are refused before any parsing. */
  static final int MAX_JWT_CHARS = 8192;

  /** HMAC algorithms the shared secret is accepted for. */
  private static final List<String> HMAC_ALGORITHMS = List.of("HS256", "HS384", "HS512");
  private static final List<String> RSA_ALGORITHMS = List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512");
  private static final List<String> EC_ALGORITHMS = List.of("ES256", "ES384", "ES512");
  /** JWKS key types a signing key may have: a symmetric key published in a JWKS would let anyone sign. */
  private static final Set<String> JWKS_KEY_TYPES = Set.of("RSA", "EC");

  /**
   * What a handshake or refresh comes to: a token and when it stops being valid, the channel patterns its JWT grants
   * and the channels it subscribes it to (both empty without a JWT), or a refusal.
   */
  public record Decision(String token, long expiresAtMillis, int status, String reason, List<String> channelGrants,
                         List<String> subscribe) {

    static Decision accept(String token, long expiresAtMillis) {
      return new Decision(token, expiresAtMillis, 0, null, List.of(), List.of());
    }

    static Decision accept(String token, long expiresAtMillis, List<String> grants, List<String> subscribe) {
      return new Decision(token, expiresAtMillis, 0, null, grants, subscribe);
    }

    static Decision refuse(int status, String reason) {
      return new Decision(null, 0, status, reason, List.of(), List.of());
    }

    public boolean accepted() {
      return status == 0;
    }

    /** True when the connection must be closed at {@link #expiresAtMillis()}. */
    public boolean expires() {
      return accepted() && expiresAtMillis != Long.MAX_VALUE;
    }
  }

  private final AuthSettings settings;
  private final JWTAuthOptions staticKeys;
  /**
   * The verifier and how many keys it holds, swapped together. With no keys, vertx-auth-jwt runs "unsecured"
   * and accepts unsigned tokens: such a verifier is never asked.
   */
  private record Verifier(JWTAuth auth, int keys) { }

  private volatile Verifier verifier;
  private volatile Runnable onUnknownKey = () -> { };

  public ClientAuthenticator(AuthSettings settings) {
    this.settings = settings;
    this.staticKeys = settings.jwt ? staticKeys(settings) : null;
    if (settings.jwt) {
      install(List.of());
    }
  }

  public boolean jwt() {
    return settings.jwt;
  }

  /**
   * The decision for a handshake.
   *
   * @param origin        the Origin header, null when absent (non-browser clients send none)
   * @param authorization the Authorization header, or null
   * @param query         the raw query string, or null
   */
  public Decision handshake(String origin, String authorization, String query) {
    if (origin != null && !settings.allowedOrigins.isEmpty() && !settings.allowedOrigins.contains(origin)) {
      return Decision.refuse(403, "origin not allowed");
    }
    if (!settings.jwt) {
      String token = queryParam(query, "token");
      if (token == null || token.isEmpty()) {
        return Decision.refuse(400, "missing token");
      }
      return Token.isValid(token) ? Decision.accept(token, Long.MAX_VALUE) : Decision.refuse(400, "token " + Token.problem(token));
    }
    String jwt = bearer(authorization);
    if (jwt == null) {
      jwt = queryParam(query, "access_token");
    }
    if (jwt == null || jwt.isEmpty()) {
      return Decision.refuse(401, "missing JWT: send Authorization: Bearer <jwt> or ?access_token=<jwt>");
    }
    return verify(jwt);
  }

  /** A client's {@code {"op":"refresh","token":"<jwt>"}}: a valid JWT for the same token extends the connection. */
  public Decision refresh(String currentToken, String jwt) {
    if (!settings.jwt) {
      return Decision.refuse(400, "refresh needs auth.mode=jwt");
    }
    if (jwt == null || jwt.isEmpty()) {
      return Decision.refuse(400, "refresh: \"token\" must be a JWT");
    }
    Decision d = verify(jwt);
    if (d.accepted() && !d.token().equals(currentToken)) {
      return Decision.refuse(403, "refresh: the JWT is for another subject");
    }
    return d;
  }

  /** Replaces the JWKS keys (RSA and EC signing keys only); called off the event loop by the refresher. */
  public int jwks(List<JsonObject> keys) {
    List<JsonObject> usable = new ArrayList<>();
    for (JsonObject k : keys) {
      if (JWKS_KEY_TYPES.contains(k.getString("kty")) && !"enc".equals(k.getString("use"))) {
        try {
          new JWK(k);
          usable.add(k);
        } catch (RuntimeException e) {
          // an unsupported key is skipped, the others still serve
        }
      }
    }
    install(usable);
    return usable.size();
  }

  /** Signing keys held now, from every source (HMAC secret, PEM files, JWKS); 0: every JWT is refused. */
  public int keyCount() {
    return verifier.keys();
  }

  /** Called (on the handshake's thread) when a JWT names a key no source has: the refresher fetches the JWKS. */
  public void onUnknownKey(Runnable action) {
    this.onUnknownKey = action;
  }

  private Decision verify(String jwt) {
    if (jwt.length() > MAX_JWT_CHARS) {
      return Decision.refuse(401, "JWT too long");
    }
    Verifier v = verifier;
    if (v.keys() == 0) {
      onUnknownKey.run();
      return Decision.refuse(401, "no signing keys loaded yet");
    }
    Future<User> result;
    try {
      result = v.auth().authenticate(new TokenCredentials(jwt));
    } catch (RuntimeException e) {
      // vertx-auth-jwt casts exp, nbf and iat to numbers and throws for another type, instead of failing the
      // future: answered like any bad JWT, never left to drop the connection without an answer
      return Decision.refuse(401, NOT_NUMERIC_TIME_CLAIM);
    }
    // vertx-auth-jwt verifies synchronously: the future is complete on return
    if (!result.succeeded()) {
      return Decision.refuse(401, reason(result.cause()));
    }
    JsonObject claims = result.result().attributes().getJsonObject("accessToken");
    Object token = claims == null ? null : claims.getValue(settings.tokenClaim);
    if (!(token instanceof String) || !Token.isValid((String) token)) {
      return Decision.refuse(401, "claim " + settings.tokenClaim + " missing or not a valid token");
    }
    Object exp = claims.getValue("exp");
    if (exp != null && !(exp instanceof Number)) {
      return Decision.refuse(401, NOT_NUMERIC_TIME_CLAIM);
    }
    long expiresAt = expiresAtMillis((Number) exp, settings.leewaySeconds);
    List<String> subscribe = strings(claims.getValue(settings.subscribeClaim));
    if (subscribe == null) {
      return Decision.refuse(401, "claim " + settings.subscribeClaim + " must be an array of channel names");
    }
    List<String> grants = strings(claims.getValue(settings.channelsClaim));
    if (grants == null) {
      return Decision.refuse(401, "claim " + settings.channelsClaim + " must be an array of channel names or patterns");
    }
    for (String pattern : grants) {
      String problem = io.odin.ws.protocol.ChannelName.patternProblem(pattern);
      if (problem != null) {
        return Decision.refuse(401, "claim " + settings.channelsClaim + ": an entry " + problem);
      }
    }
    return Decision.accept((String) token, expiresAt, grants, subscribe);
  }

  static final String NOT_NUMERIC_TIME_CLAIM = "JWT claims exp, nbf and iat must be numbers (seconds since the epoch)";

  /**
   * When a connection whose JWT has {@code exp} (seconds, null when absent) must close, in epoch milliseconds;
   * Long.MAX_VALUE for never. An {@code exp} too far ahead for a millisecond clock (a JWT can say 1e16 seconds)
   * saturates to never instead of overflowing to a past instant, which closed the connection with 4401 at once.
   */
  static long expiresAtMillis(Number exp, int leewaySeconds) {
    if (exp == null) {
      return Long.MAX_VALUE;
    }
    // through a double first: longValue() of a huge integer claim (a BigInteger) keeps only its low bits
    if (!(exp.doubleValue() < Long.MAX_VALUE / 1000.0)) {
      return Long.MAX_VALUE;
    }
    try {
      return Math.addExact(Math.multiplyExact(exp.longValue(), 1000L), leewaySeconds * 1000L);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A claim that lists strings (absent: none; one string: a list of one); null when it is something else. */
  private static List<String> strings(Object claim) {
    if (claim == null) {
      return List.of();
    }
    if (claim instanceof String) {
      return List.of((String) claim);
    }
    if (!(claim instanceof io.vertx.core.json.JsonArray)) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (Object o : (io.vertx.core.json.JsonArray) claim) {
      if (!(o instanceof String)) {
        return null;
      }
      out.add((String) o);
    }
    return List.copyOf(out);
  }

  private String reason(Throwable t) {
    if (t instanceof NoSuchKeyIdException) {
      onUnknownKey.run();
      return "JWT signed with an unknown key or algorithm";
    }
    if (t instanceof java.security.SignatureException) {
      return "JWT signature invalid";
    }
    String m = t == null || t.getMessage() == null ? "" : t.getMessage();
    if (m.contains("expired")) {
      return "JWT expired or not yet valid";
    }
    if (m.contains("audience")) {
      return "JWT audience not accepted";
    }
    if (m.contains("issuer")) {
      return "JWT issuer not accepted";
    }
    if (m.contains("\"none\"") || m.contains("not signed")) {
      return "unsigned JWT";
    }
    return "malformed JWT";
  }

  private void install(List<JsonObject> jwks) {
    JWTAuthOptions options = new JWTAuthOptions(staticKeys);
    options.setJwks(new ArrayList<>(jwks));
    // null Vert.x: nothing here reads files through it (no key store), keys are given as PEM text and JSON
    verifier = new Verifier(JWTAuth.create(null, options), (staticKeys.getPubSecKeys() == null ? 0 : staticKeys.getPubSecKeys().size()) + jwks.size());
  }

  private static JWTAuthOptions staticKeys(AuthSettings s) {
    JWTOptions jwt = new JWTOptions().setLeeway(s.leewaySeconds);
    if (!s.issuer.isEmpty()) {
      jwt.setIssuer(s.issuer);
    }
    if (!s.audience.isEmpty()) {
      jwt.setAudience(s.audience);
    }
    JWTAuthOptions options = new JWTAuthOptions().setJWTOptions(jwt);
    if (!s.hmacSecret.isEmpty()) {
      for (String alg : HMAC_ALGORITHMS) {
        options.addPubSecKey(new PubSecKeyOptions().setAlgorithm(alg).setBuffer(s.hmacSecret));
      }
    }
    for (String path : s.publicKeys) {
      String pem;
      try {
        pem = java.nio.file.Files.readString(java.nio.file.Path.of(path), StandardCharsets.US_ASCII);
      } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
        throw new io.odin.ws.config.ConfigException(AuthSettings.PUBLIC_KEYS.name() + ": cannot read " + path + ": " + e);
      }
      for (String alg : algorithmsOf(pem, path)) {
        options.addPubSecKey(new PubSecKeyOptions().setAlgorithm(alg).setBuffer(pem));
      }
    }
    return options;
  }

  /** The JWS algorithms a PEM public key serves, from its key type. */
  static List<String> algorithmsOf(String pem, String path) {
    String body = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
    if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
      throw new io.odin.ws.config.ConfigException(AuthSettings.PUBLIC_KEYS.name() + ": " + path
        + " is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    }
    X509EncodedKeySpec spec;
    try {
      spec = new X509EncodedKeySpec(Base64.getDecoder().decode(body));
    } catch (IllegalArgumentException e) {
      throw new io.odin.ws.config.ConfigException(AuthSettings.PUBLIC_KEYS.name() + ": " + path + ": bad base64");
    }
    for (String type : List.of("RSA", "EC")) {
      try {
        KeyFactory.getInstance(type).generatePublic(spec);
        return type.equals("RSA") ? RSA_ALGORITHMS : EC_ALGORITHMS;
      } catch (java.security.GeneralSecurityException e) {
        // try the next type
      }
    }
    throw new io.odin.ws.config.ConfigException(AuthSettings.PUBLIC_KEYS.name() + ": " + path + ": neither an RSA nor an EC key");
  }

  private static String bearer(String authorization) {
    if (authorization == null || authorization.length() < 7
      || !authorization.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      return null;
    }
    return authorization.substring(7).trim();
  }

  /** One query parameter, URL-decoded; null when absent or badly encoded. */
  public static String queryParam(String query, String name) {
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
          // present but undecodable: a value no check accepts, never "absent"
          return "\u0000";
        }
      }
    }
    return null;
  }
}
