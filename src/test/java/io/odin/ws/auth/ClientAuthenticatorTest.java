package io.odin.ws.auth;

import io.odin.ws.GatewaySchema;
import io.odin.ws.auth.ClientAuthenticator.Decision;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.testsupport.TestJwts;
import io.odin.ws.testsupport.TestPki;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.odin.ws.testsupport.TestJwts.claims;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handshake decision without a server: which token, or which refusal, for each kind of credential. */
class ClientAuthenticatorTest {

  static final String SECRET = "0123456789abcdef0123456789abcdef-test";

  @TempDir
  Path dir;

  private static ClientAuthenticator auth(JsonObject conf) {
    return new ClientAuthenticator(new AuthSettings(GatewaySchema.resolve(conf, Map.of())));
  }

  private static ClientAuthenticator hmac() {
    return auth(new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET));
  }

  private static void assertRefused(int status, Decision d) {
    assertFalse(d.accepted(), "accepted " + d);
    assertEquals(status, d.status(), d.toString());
  }

  @Test
  void modeNoneTakesTheQueryToken() {
    ClientAuthenticator a = auth(new JsonObject());
    Decision d = a.handshake(null, null, "token=user-1");
    assertTrue(d.accepted());
    assertEquals("user-1", d.token());
    assertFalse(d.expires());
    assertRefused(400, a.handshake(null, null, null));
    assertRefused(400, a.handshake(null, null, "token=a%20b"));
  }

  @Test
  void hmacJwtFromHeaderOrQuery() {
    ClientAuthenticator a = hmac();
    for (String alg : List.of("HS256", "HS384", "HS512")) {
      String jwt = TestJwts.hmac(alg, SECRET, claims("user-7", 60));
      assertEquals("user-7", a.handshake(null, "Bearer " + jwt, null).token(), alg);
    }
    String jwt = TestJwts.hs256(SECRET, claims("user-7", 60));
    Decision d = a.handshake(null, null, "access_token=" + jwt);
    assertEquals("user-7", d.token());
    assertTrue(d.expires());
    assertTrue(Math.abs(d.expiresAtMillis() - (TestJwts.now() + 60) * 1000) < 2000);
  }

  @Test
  void queryTokenIsIgnoredWithJwt() {
    ClientAuthenticator a = hmac();
    assertRefused(401, a.handshake(null, null, "token=victim"));
    String jwt = TestJwts.hs256(SECRET, claims("me", 60));
    assertEquals("me", a.handshake(null, null, "token=victim&access_token=" + jwt).token());
  }

  @Test
  void everyBadTokenIsRefusedWith401() {
    ClientAuthenticator a = hmac();
    String good = TestJwts.hs256(SECRET, claims("user-1", 60));
    assertRefused(401, a.handshake(null, null, null));
    assertRefused(401, a.handshake(null, "Bearer ", null));
    assertRefused(401, a.handshake(null, "Bearer not.a.jwt", null));
    assertRefused(401, a.handshake(null, "Bearer garbage", null));
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256("another-secret-of-32-characters-xx", claims("user-1", 60)), null));
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.tampered(good, claims("victim", 60)), null));
    Decision none = a.handshake(null, "Bearer " + TestJwts.unsigned(claims("victim", 60)), null);
    assertRefused(401, none);
    assertEquals("unsigned JWT", none.reason());
    Decision expired = a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, claims("user-1", -10)), null);
    assertRefused(401, expired);
    assertEquals("JWT expired or not yet valid", expired.reason());
    JsonObject future = claims("user-1", 600).put("nbf", TestJwts.now() + 300);
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, future), null));
    // RS256 signed token against an HMAC-only verifier: no key for it
    KeyPair rsa = TestPki.rsa();
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(rsa), null, claims("user-1", 60)), null));
    // a claim that is not a valid token
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, claims("a b", 60)), null));
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, new JsonObject().put("exp", TestJwts.now() + 60)), null));
    assertRefused(401, a.handshake(null, "Bearer " + "x".repeat(ClientAuthenticator.MAX_JWT_CHARS + 1), null));
  }

  @Test
  void rsaAndEcPublicKeysSeveralForRotation() throws Exception {
    KeyPair rsaOld = TestPki.rsa();
    KeyPair rsaNew = TestPki.rsa();
    KeyPair ec = TestPki.ec();
    Path p1 = Files.writeString(dir.resolve("old.pem"), TestPki.publicPem(rsaOld));
    Path p2 = Files.writeString(dir.resolve("new.pem"), TestPki.publicPem(rsaNew));
    Path p3 = Files.writeString(dir.resolve("ec.pem"), TestPki.publicPem(ec));
    ClientAuthenticator a = auth(new JsonObject().put("auth.mode", "jwt")
      .put("auth.jwt.publicKeys", new JsonArray().add(p1.toString()).add(p2.toString()).add(p3.toString())));
    assertEquals("u1", a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(rsaOld), null, claims("u1", 60)), null).token());
    assertEquals("u2", a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(rsaNew), null, claims("u2", 60)), null).token());
    assertEquals("u3", a.handshake(null, "Bearer " + TestJwts.signed("ES256", TestPki.privatePem(ec), null, claims("u3", 60)), null).token());
    KeyPair stranger = TestPki.rsa();
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(stranger), null, claims("u1", 60)), null));
    // an HS256 token "signed" with the public key text (algorithm confusion) finds no HMAC key
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(TestPki.publicPem(rsaOld), claims("u1", 60)), null));
  }

  @Test
  void issuerAudienceAndClaim() {
    ClientAuthenticator a = auth(new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET)
      .put("auth.jwt.issuer", "https://backend").put("auth.jwt.audience", new JsonArray().add("odin"))
      .put("auth.jwt.tokenClaim", "uid"));
    JsonObject ok = claims("ignored", 60).put("iss", "https://backend").put("aud", "odin").put("uid", "user-9");
    assertEquals("user-9", a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, ok), null).token());
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, ok.copy().put("iss", "https://evil")), null));
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, ok.copy().put("aud", "other")), null));
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, ok.copy().put("uid", 5)), null));
  }

  @Test
  void originAllowList() {
    ClientAuthenticator a = auth(new JsonObject().put("ws.allowedOrigins", new JsonArray().add("https://app.example")));
    assertTrue(a.handshake("https://app.example", null, "token=t").accepted());
    assertRefused(403, a.handshake("https://evil.example", null, "token=t"));
    assertTrue(a.handshake(null, null, "token=t").accepted(), "non-browser clients send no Origin");
    assertTrue(auth(new JsonObject()).handshake("https://anything", null, "token=t").accepted(), "default: any origin");
  }

  @Test
  void refreshNeedsTheSameSubject() {
    ClientAuthenticator a = hmac();
    Decision d = a.refresh("user-1", TestJwts.hs256(SECRET, claims("user-1", 120)));
    assertTrue(d.accepted());
    assertRefused(403, a.refresh("user-1", TestJwts.hs256(SECRET, claims("user-2", 120))));
    assertRefused(401, a.refresh("user-1", TestJwts.hs256(SECRET, claims("user-1", -5))));
    assertRefused(400, a.refresh("user-1", ""));
    assertRefused(400, auth(new JsonObject()).refresh("user-1", "x"));
  }

  @Test
  void jwksKeysByKidAndNeverUnsecured() {
    ClientAuthenticator a = auth(new JsonObject().put("auth.mode", "jwt").put("auth.jwt.jwksUrl", "http://127.0.0.1:1/jwks"));
    AtomicInteger unknown = new AtomicInteger();
    a.onUnknownKey(unknown::incrementAndGet);
    // before any key is loaded, vertx-auth-jwt alone would accept an unsigned token
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.unsigned(claims("victim", 60)), null));
    assertEquals(1, unknown.get());
    KeyPair k1 = TestPki.rsa();
    KeyPair k2 = TestPki.rsa();
    assertEquals(1, a.jwks(List.of(jwk(k1, "k1"), new JsonObject().put("kty", "oct").put("k", "c2VjcmV0").put("alg", "HS256"))),
      "symmetric keys in a JWKS are ignored");
    assertEquals("u", a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(k1), "k1", claims("u", 60)), null).token());
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(k2), "k2", claims("u", 60)), null));
    assertEquals(2, unknown.get(), "an unknown kid asks for a fetch");
    a.jwks(List.of(jwk(k1, "k1"), jwk(k2, "k2")));
    assertEquals("u", a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(k2), "k2", claims("u", 60)), null).token());
    // the right key under the wrong kid is not tried
    assertRefused(401, a.handshake(null, "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(k2), "k1", claims("u", 60)), null));
  }

  static JsonObject jwk(KeyPair pair, String kid) {
    RSAPublicKey pub = (RSAPublicKey) pair.getPublic();
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return new JsonObject().put("kty", "RSA").put("kid", kid).put("alg", "RS256").put("use", "sig")
      .put("n", b64.encodeToString(unsigned(pub.getModulus().toByteArray())))
      .put("e", b64.encodeToString(unsigned(pub.getPublicExponent().toByteArray())));
  }

  private static byte[] unsigned(byte[] b) {
    return b.length > 1 && b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
  }

  @Test
  void configurationErrorsNameTheKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> auth(new JsonObject().put("auth.mode", "jwt")));
    assertTrue(e.getMessage().startsWith("auth.mode: jwt needs a key"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> auth(new JsonObject().put("auth.mode", "basic")));
    assertTrue(e.getMessage().startsWith("auth.mode: must be none or jwt"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> auth(new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", "short")));
    assertTrue(e.getMessage().startsWith("auth.jwt.hmacSecret: must be at least 32"), e.getMessage());
    assertEquals("ODIN_AUTH_MODE", AuthSettings.MODE.envName());
    assertEquals("ODIN_AUTH_JWT_HMAC_SECRET", AuthSettings.HMAC_SECRET.envName());
    assertEquals("ODIN_AUTH_JWT_PUBLIC_KEYS", AuthSettings.PUBLIC_KEYS.envName());
    assertEquals("ODIN_AUTH_JWKS_URL", AuthSettings.JWKS_URL.envName());
  }


  /** Issue 33: exp, nbf or iat of another type than a number threw out of the handshake: no HTTP answer at all. */
  @Test
  void timeClaimsOfTheWrongTypeAreRefusedWith401AndAReason() {
    ClientAuthenticator a = hmac();
    for (JsonObject c : List.of(claims("u", 60).put("exp", "abc"), claims("u", 60).put("iat", new JsonObject()),
      claims("u", 60).put("nbf", "soon"), claims("u", 60).put("exp", new JsonArray()), claims("u", 60).put("exp", true))) {
      Decision d = a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, c), null);
      assertRefused(401, d);
      assertEquals(ClientAuthenticator.NOT_NUMERIC_TIME_CLAIM, d.reason(), c.encode());
      assertRefused(401, a.refresh("u", TestJwts.hs256(SECRET, c)));
    }
  }

  /** Issue 33: exp * 1000 overflowed for exp = 1e16, into a past instant: upgraded, then closed 4401 at once. */
  @Test
  void anExpBeyondAMillisecondClockNeverExpiresInsteadOfOverflowing() {
    ClientAuthenticator a = hmac();
    for (Object exp : List.<Object>of(1e16, 10_000_000_000_000_000L, 9_223_372_036_854_775L, new java.math.BigInteger("1" + "0".repeat(30)))) {
      Decision d = a.handshake(null, "Bearer " + TestJwts.hs256(SECRET, claims("u", 60).put("exp", exp)), null);
      assertTrue(d.accepted(), exp + ": " + d);
      assertEquals(Long.MAX_VALUE, d.expiresAtMillis(), String.valueOf(exp));
      assertFalse(d.expires(), String.valueOf(exp));
    }
    assertEquals(2_000_005_000L, ClientAuthenticator.expiresAtMillis(2_000_000, 5));
    assertEquals(Long.MAX_VALUE, ClientAuthenticator.expiresAtMillis(9_223_372_036_854_775L, 300));
  }
}
