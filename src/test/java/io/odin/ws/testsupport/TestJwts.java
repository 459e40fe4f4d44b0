package io.odin.ws.testsupport;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** JWTs for tests, signed the way an operator's backend would (vertx-auth-jwt), plus hand-made bad ones. */
public final class TestJwts {

  private TestJwts() {
  }

  public static long now() {
    return System.currentTimeMillis() / 1000;
  }

  /** Claims for {@code sub}, valid from now for {@code seconds}. */
  public static JsonObject claims(String sub, long seconds) {
    return new JsonObject().put("sub", sub).put("iat", now()).put("exp", now() + seconds);
  }

  public static String hmac(String alg, String secret, JsonObject claims) {
    JWTAuth signer = JWTAuth.create(null, new JWTAuthOptions()
      .addPubSecKey(new PubSecKeyOptions().setAlgorithm(alg).setBuffer(secret)));
    return signer.generateToken(claims, new JWTOptions().setAlgorithm(alg).setNoTimestamp(true));
  }

  public static String hs256(String secret, JsonObject claims) {
    return hmac("HS256", secret, claims);
  }

  /** Signed with a private key (PEM, PKCS#8) with {@code alg} (RS256, ES256, ...), with {@code kid} unless null. */
  public static String signed(String alg, String privatePem, String kid, JsonObject claims) {
    JWTAuth signer = JWTAuth.create(null, new JWTAuthOptions()
      .addPubSecKey(new PubSecKeyOptions().setAlgorithm(alg).setBuffer(privatePem).setId(kid)));
    return signer.generateToken(claims, new JWTOptions().setAlgorithm(alg).setNoTimestamp(true));
  }

  /** An unsigned token ({@code alg: none}), the classic forgery. */
  public static String unsigned(JsonObject claims) {
    return b64(new JsonObject().put("alg", "none").put("typ", "JWT").encode()) + "." + b64(claims.encode()) + ".";
  }

  /** {@code jwt} with its payload replaced by {@code claims}, the signature kept: a tampered token. */
  public static String tampered(String jwt, JsonObject claims) {
    String[] parts = jwt.split("\\.");
    return parts[0] + "." + b64(claims.encode()) + "." + parts[2];
  }

  private static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
