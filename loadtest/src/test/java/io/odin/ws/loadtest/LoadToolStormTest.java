package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --storm} and {@code --churn} against a real node (the gateway's jar in a child JVM) that admits handshakes at
 * ws.maxHandshakesPerSecond: the storm's clients meet 503 with Retry-After, come back when it says, and all are in at
 * the end, recovered from their cursors with nothing lost; churn cycles connections every second, losing nothing.
 */
class LoadToolStormTest {

  private static LoadTestOptions options(GatewayProcess gateway, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("--url", gateway.wsUrl(),
      "--publish-url", gateway.publishUrl(), "--connections", "600", "--ramp", "100", "--duration", "12s",
      "--rate", "200", "--mix", "90:10", "--batch", "5", "--drain", "10s", "--reconnect-with-cursor",
      "--verify-routing", "--quiet"));
    args.addAll(List.of(extra));
    return LoadTestOptions.parse(args.toArray(new String[0]));
  }

  @Test
  void aStormMeetsTheHandshakeRateAndEveryClientComesBackRecovered() throws Exception {
    try (GatewayProcess gateway = GatewayProcess.start(2, Map.of("ODIN_WS_MAX_HANDSHAKES_PER_SECOND", "100"))) {
      LoadTest.LoadReport report = new LoadTest(options(gateway, "--storm", "500:2s:500ms")).run();
      RoutingVerifier.Result v = report.verification();
      assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
      assertEquals(0, v.lostWhileAway(), v.toString());
      JsonObject storm = report.json().getJsonArray("storms").getJsonObject(0);
      assertTrue(storm.getLong("rateLimited") > 0, "the storm met the node's rate: " + storm.encode());
      assertNotNull(storm.getDouble("allBackWithinSeconds"), storm.encode());
      // about 500 at 100 a second (one second's worth at once): not back within 3 s
      assertTrue(storm.getDouble("allBackWithinSeconds") >= 3, storm.encode());
      JsonObject latency = storm.getJsonObject("liveLatencyMs");
      assertTrue(latency.getJsonObject("before").getLong("count") > 0 && latency.getJsonObject("during").getLong("count") > 0,
        "live deliveries timed before and during: " + storm.encode());
      JsonObject e = report.json().getJsonObject("reconnects").getJsonArray("events").getJsonObject(0);
      assertEquals(e.getLong("connectionsClosed"), e.getLong("back"), e.encode());
      assertEquals(e.getLong("connectionsClosed"), e.getLong("recovered"), e.encode());
      assertTrue(e.getLong("connectionsClosed") > 420 && e.getLong("connectionsClosed") < 580, e.encode());
      // the ramp, at the node's rate, may meet a few 503s of its own: they were tried again and every connection opened
      assertTrue(report.json().getJsonObject("connections").getLong("rateLimited") >= storm.getLong("rateLimited"));
      assertEquals(600, report.json().getJsonObject("connections").getLong("opened"));
      assertTrue(report.summary().contains("handshakes refused with Retry-After"), report.summary());
    }
  }

  @Test
  void churnCyclesConnectionsEverySecondAndLosesNothing() throws Exception {
    try (GatewayProcess gateway = GatewayProcess.start(2, Map.of())) {
      LoadTest.LoadReport report = new LoadTest(options(gateway, "--ramp", "2000", "--churn", "5%:1s",
        "--window", "4s", "--drain", "15s")).run();
      RoutingVerifier.Result v = report.verification();
      assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
      // every connection that came back recovered what it missed (on a starved machine one may still be on its way)
      assertEquals(0, v.lostWhileAway(RoutingVerifier.Away.NO_CURSOR) + v.lostWhileAway(RoutingVerifier.Away.NOT_RECOVERED),
        v.toString());
      JsonObject rc = report.json().getJsonObject("reconnects");
      // 5 % of 600 a second for about 12 s: some 360 reconnects, every one recovered
      assertTrue(rc.getLong("closesByTool") > 200, rc.encode());
      assertEquals(rc.getLong("reconnects"), rc.getLong("recovered"), rc.encode());
      assertEquals(0, rc.getLong("notRecovered"), rc.encode());
      JsonArray windows = report.json().getJsonArray("windows");
      assertTrue(windows.size() >= 3, windows.encode());
      assertEquals(4, windows.getJsonObject(0).getLong("toSeconds"));
      assertTrue(windows.getJsonObject(1).getJsonObject("latencyMs").getLong("count") > 0, windows.encode());
    }
  }
}
