package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The load tool against a real odin-ws node: the gateway's jar in a child JVM with 2 shards, real sockets on
 * loopback, real publish API. Correct routing verifies clean; a message injected behind the tool's back is reported.
 */
class LoadToolIntegrationTest {

  static GatewayProcess gateway;

  @BeforeAll
  static void startGateway() throws Exception {
    gateway = GatewayProcess.start(2, Map.of());
  }

  @AfterAll
  static void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private LoadTestOptions options(String... extra) {
    String[] base = {"--url", gateway.wsUrl(), "--publish-url", gateway.publishUrl(),
      "--connections", "200", "--ramp", "2000", "--duration", "3s", "--rate", "200", "--mix", "80:20",
      "--connections-per-token", "2", "--drain", "5s", "--verify-routing", "--quiet"};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return LoadTestOptions.parse(all);
  }

  @Test
  void correctRoutingVerifiesWithZeroViolations(@TempDir Path dir) throws Exception {
    LoadTestOptions o = options("--batch", "5", "--report", dir.resolve("run.json").toString());
    LoadTest.LoadReport report = new LoadTest(o).run();
    RoutingVerifier.Result v = report.verification();
    assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
    assertEquals(0, report.exitCode(), report.summary());
    assertEquals(200, v.connections());
    assertEquals(600, v.messages());
    assertTrue(v.requiredDeliveries() > 600 * 0.2 * 200, v.toString());
    assertEquals(v.requiredDeliveries(), v.deliveries());
    JsonObject json = new JsonObject(Files.readString(dir.resolve("run.json")));
    assertEquals(200, json.getJsonObject("connections").getInteger("opened"));
    assertTrue(json.getJsonObject("latencyMs").getJsonObject("all").getDouble("p99") > 0);
    assertTrue(Files.readString(dir.resolve("run.html")).contains("<svg"));
  }

  /**
   * A load the tool cannot offer: 200,000 messages/s with one publish request in flight at a time. Every message it
   * did send is delivered and routed right, yet the run is short (exit 4): it used to exit 0 with the latency of a
   * load nobody asked for.
   */
  @Test
  void aLoadThatWasNotOfferedExitsFour() throws Exception {
    LoadTestOptions o = options("--rate", "200000", "--mix", "100:0", "--batch", "1", "--max-in-flight", "1",
      "--duration", "2s");
    LoadTest.LoadReport report = new LoadTest(o).run();
    assertEquals(0, report.verification().violations(), String.join("\n", report.verification().allExamples()));
    assertEquals(4, report.exitCode(), report.summary());
    assertTrue(report.summary().contains("problem: the publisher fell behind: "), report.summary());
    assertTrue(report.summary().endsWith("exit status 4"), report.summary());
  }

  @Test
  void messageInjectedBehindTheToolsBackIsReported() throws Exception {
    LoadTestOptions o = options("--run-id", "inject", "--duration", "2s");
    CompletableFuture<LoadTest.LoadReport> run = CompletableFuture.supplyAsync(() -> new LoadTest(o).run());
    await().atMost(Duration.ofSeconds(30)).until(() -> gateway.connections() >= 200);
    // a broadcast copy of message 0, which the tool published as a targeted message (its mix starts targeted):
    // every other token's connections get a misrouted message, the token's own connections a duplicate
    String forged = "{\"type\":\"loadtest\",\"broadcast\":true,\"data\":" + Payload.data("inject", 0, MicroClock.nowMicros(), 't', null) + "}";
    assertEquals(202, gateway.publish(forged));
    LoadTest.LoadReport report = run.get(60, TimeUnit.SECONDS);
    RoutingVerifier.Result v = report.verification();
    assertEquals(1, report.exitCode(), report.summary());
    assertEquals(198, v.count(RoutingVerifier.Kind.MISROUTED) + v.count(RoutingVerifier.Kind.UNKNOWN),
      String.join("\n", v.allExamples()));
    assertEquals(2, v.count(RoutingVerifier.Kind.DUPLICATE) + v.count(RoutingVerifier.Kind.UNKNOWN),
      String.join("\n", v.allExamples()));
    assertTrue(report.summary().contains("ROUTING VIOLATIONS"), report.summary());
  }

  @Test
  void connectionsSpreadOverChildProcessesOnTheirOwnSourceAddresses() throws Exception {
    LoadTestOptions o = options("--processes", "2", "--source-addresses", "auto", "--duration", "2s",
      "--worker-jvm-opts", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
    CompletableFuture<LoadTest.LoadReport> run = CompletableFuture.supplyAsync(() -> new LoadTest(o).run());
    await().atMost(Duration.ofSeconds(60)).until(() -> gateway.connections() >= 200);
    LoadTest.LoadReport report = run.get(90, TimeUnit.SECONDS);
    RoutingVerifier.Result v = report.verification();
    assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
    assertEquals(0, report.exitCode(), report.summary());
    assertEquals(200, v.connections());
    assertEquals(v.requiredDeliveries(), v.deliveries());
  }

  /**
   * The channel workload: every connection subscribes at its handshake to one of 40 channels of 1 to 5 subscribers
   * (spread over two processes, as a big run is), messages go to random channels and a share to tokens and to
   * everyone: every channel message reaches exactly its channel's subscribers.
   */
  @Test
  void theChannelWorkloadVerifiesWithZeroViolations() throws Exception {
    LoadTestOptions o = options("--channels", "40", "--channel-sizes", "1-5", "--mix", "10:10:80", "--processes", "2",
      "--worker-jvm-opts", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
    LoadTest.LoadReport report = new LoadTest(o).run();
    RoutingVerifier.Result v = report.verification();
    assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
    assertEquals(0, report.exitCode(), report.summary());
    assertEquals(v.requiredDeliveries(), v.deliveries());
    assertTrue(report.summary().contains("latency channel"), report.summary());
  }
}
