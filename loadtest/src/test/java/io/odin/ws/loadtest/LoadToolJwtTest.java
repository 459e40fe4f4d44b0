package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The load tool's --jwt-secret against a real node with auth.mode=jwt: every connection authenticates, routing verifies. */
class LoadToolJwtTest {

  static final String SECRET = "load-tool-secret-of-at-least-32-characters";

  @Test
  void eachConnectionSignsItsOwnJwtAndRoutingVerifies() throws Exception {
    try (GatewayProcess node = GatewayProcess.start(2, Map.of("ODIN_AUTH_MODE", "jwt", "ODIN_AUTH_JWT_HMAC_SECRET", SECRET))) {
      String[] common = {"--url", node.wsUrl(), "--publish-url", node.publishUrl(),
        "--connections", "100", "--ramp", "1000", "--duration", "2s", "--rate", "100", "--mix", "80:20",
        "--drain", "5s", "--verify-routing", "--quiet", "--ramp-timeout", "30s"};
      LoadTest.LoadReport report = new LoadTest(LoadTestOptions.parse(concat(common, "--jwt-secret", SECRET))).run();
      RoutingVerifier.Result v = report.verification();
      assertEquals(0, report.exitCode(), report.summary());
      assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
      assertEquals(100, v.connections());
      assertEquals(v.requiredDeliveries(), v.deliveries());
      // the same run without JWTs: ?token= is refused by this node, so no connection opens
      LoadTest.LoadReport refused = new LoadTest(LoadTestOptions.parse(concat(common, "--rate", "0", "--ramp-timeout", "5s",
        "--connect-timeout", "2s"))).run();
      assertEquals(3, refused.exitCode(), refused.summary());
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = new String[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
