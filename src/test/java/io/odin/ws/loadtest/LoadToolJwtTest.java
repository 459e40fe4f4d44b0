package io.odin.ws.loadtest;

import io.odin.ws.testsupport.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The load tool's --jwt-secret against a real node with auth.mode=jwt: every connection authenticates, routing verifies. */
class LoadToolJwtTest {

  static final String SECRET = "load-tool-secret-of-at-least-32-characters";

  @Test
  void eachConnectionSignsItsOwnJwtAndRoutingVerifies() throws Exception {
    try (TestNode node = TestNode.start(2, new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET))) {
      String[] common = {"--url", "ws://127.0.0.1:" + node.wsPort + "/ws",
        "--publish-url", "http://127.0.0.1:" + node.httpPort + "/api/publish",
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
