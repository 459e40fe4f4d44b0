package io.odin.ws.bench;

import io.odin.ws.GatewaySchema;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.testsupport.TestJwts;
import io.odin.ws.testsupport.TestPki;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU time of the handshake decision per connection (what auth.mode=jwt adds to a shard's event loop), measured
 * as thread CPU time so that other work on a shared machine inflates it little:
 * <pre>mvn -q -B test -Dtest=AuthHandshakeBench -Dodin.bench=true -Dexcluded.test.groups=none</pre>
 * Prints one line per mode to standard output (target/surefire-reports/...-output.txt).
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class AuthHandshakeBench {

  static final String SECRET = "bench-secret-of-at-least-32-characters-xx";
  static final int N = 10_000;

  @Test
  void cpuPerHandshakeDecision() throws Exception {
    KeyPair rsa = TestPki.rsa();
    Path pem = Files.createTempFile("bench-rsa-", ".pem");
    Files.writeString(pem, TestPki.publicPem(rsa));
    ClientAuthenticator none = auth(new JsonObject());
    ClientAuthenticator jwt = auth(new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET)
      .put("auth.jwt.publicKeys", new JsonArray().add(pem.toString())));
    String[] hs = new String[N];
    String[] rs = new String[N];
    for (int i = 0; i < N; i++) {
      hs[i] = "Bearer " + TestJwts.hs256(SECRET, TestJwts.claims("lt-" + i, 3600));
      rs[i] = "Bearer " + TestJwts.signed("RS256", TestPki.privatePem(rsa), null, TestJwts.claims("lt-" + i, 3600));
    }
    for (int round = 0; round < 2; round++) {
      // the first round warms the JIT; the second is printed
      double tNone = measure(i -> none.handshake(null, null, "token=lt-" + i));
      double tHs = measure(i -> jwt.handshake(null, hs[i], null));
      double tRs = measure(i -> jwt.handshake(null, rs[i], null));
      if (round == 1) {
        System.out.printf("auth handshake decision, CPU microseconds per connection (%d each): none %.2f, HS256 %.2f, RS256 %.2f%n",
          N, tNone, tHs, tRs);
        assertTrue(tHs > 0 && tRs > 0);
      }
    }
  }

  private interface Call {
    ClientAuthenticator.Decision run(int i);
  }

  private static double measure(Call call) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long start = mx.getCurrentThreadCpuTime();
    for (int i = 0; i < N; i++) {
      if (!call.run(i).accepted()) {
        throw new AssertionError("refused " + i);
      }
    }
    return (mx.getCurrentThreadCpuTime() - start) / 1000.0 / N;
  }

  private static ClientAuthenticator auth(JsonObject conf) {
    return new ClientAuthenticator(new AuthSettings(GatewaySchema.resolve(conf, Map.of())));
  }
}
