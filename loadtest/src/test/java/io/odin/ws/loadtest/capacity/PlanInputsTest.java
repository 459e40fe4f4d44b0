package io.odin.ws.loadtest.capacity;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The planner's command line: rates and counts as people write them, clear refusals, and its exit statuses. */
class PlanInputsTest {

  @Test
  void ratesAndCountsReadAsWritten() {
    PlanInputs in = PlanInputs.parse("--connections", "10M", "--targeted-per-connection", "10/min",
      "--broadcast-rate", "1/min", "--session", "30m", "--heartbeat", "2min");
    assertEquals(10_000_000, in.connections);
    assertEquals(10 / 60.0 * 10_000_000, in.targetedPerSecond(), 1e-6);
    assertEquals(1 / 60.0, in.broadcastRate, 1e-12);
    assertEquals(1800, in.sessionSeconds, 1e-9);
    assertEquals(120, in.heartbeatSeconds, 1e-9);
    assertEquals(20_000, PlanInputs.parse("--connections", "100k", "--targeted-rate", "1.2M/min").targetedPerSecond(), 1e-9);
    assertEquals(1_000_000, PlanInputs.parse("--connections", "1_000_000").connections);
  }

  @Test
  void badOptionsAreRefusedByName() {
    assertEquals("--connections is required (concurrent connections at peak, e.g. 1M)",
      assertThrows(PlanInputs.UsageException.class, () -> PlanInputs.parse("--targeted-rate", "10")).getMessage());
    assertEquals("--targeted-rate: 'day' is not a time unit: use /s, /min or /h (e.g. 10/min)",
      assertThrows(PlanInputs.UsageException.class,
        () -> PlanInputs.parse("--connections", "1M", "--targeted-rate", "10/day")).getMessage());
    assertEquals("--targeted-rate and --targeted-per-connection say the same thing: give one",
      assertThrows(PlanInputs.UsageException.class, () -> PlanInputs.parse("--connections", "1M",
        "--targeted-rate", "10", "--targeted-per-connection", "1/min")).getMessage());
    assertEquals("--connections takes a whole number from 1 up (100000, 100k, 1M), got '1.5'",
      assertThrows(PlanInputs.UsageException.class, () -> PlanInputs.parse("--connections", "1.5")).getMessage());
    assertEquals("--cpu-target takes a share above 0 and at most 1 (0.5 = half), got '50'",
      assertThrows(PlanInputs.UsageException.class,
        () -> PlanInputs.parse("--connections", "1M", "--cpu-target", "50")).getMessage());
    assertEquals("--ingest takes kafka or http, got 'grpc'",
      assertThrows(PlanInputs.UsageException.class,
        () -> PlanInputs.parse("--connections", "1M", "--ingest", "grpc")).getMessage());
    assertEquals("unknown option --conections", assertThrows(PlanInputs.UsageException.class,
      () -> PlanInputs.parse("--conections", "1M")).getMessage());
  }

  private record Run(int status, String out, String err) {
  }

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = CapacityPlanner.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
      new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void thePlannerPrintsAPlanOrSaysWhatIsWrong(@TempDir Path dir) throws Exception {
    Path figures = dir.resolve("figures.json");
    Files.writeString(figures, TestFigures.figures().toJson().encodePrettily());
    Run ok = run("--figures", figures.toString(), "--connections", "1M", "--targeted-per-connection", "1/min");
    assertEquals(0, ok.status(), ok.err());
    assertTrue(ok.out().startsWith("odin-ws capacity plan: 1,000,000 connections, 16,667 targeted messages/s"), ok.out());
    assertTrue(ok.out().contains("\ngateway        3 x e2-standard-8 (8 vCPU, 32 GiB)"), ok.out());

    Run json = run("--figures", figures.toString(), "--connections", "1M", "--format", "json");
    assertEquals(0, json.status(), json.err());
    assertEquals(3, new io.vertx.core.json.JsonObject(json.out()).getJsonObject("gateway").getInteger("nodes"));

    Files.writeString(figures, TestFigures.figures().toJson().put("schema", 7).encode());
    Run bad = run("--figures", figures.toString(), "--connections", "1M");
    assertEquals(3, bad.status());
    assertTrue(bad.err().startsWith("capacity-plan: " + figures + " has bad figures:\n  schema: must be 1, got 7"), bad.err());

    Run missing = run("--figures", dir.resolve("none.json").toString(), "--connections", "1M");
    assertEquals(3, missing.status());
    assertTrue(missing.err().contains("none.json: no such file"), missing.err());

    Run usage = run("--figures", figures.toString());
    assertEquals(2, usage.status());
    assertTrue(usage.err().startsWith("capacity-plan: --connections is required"), usage.err());

    Run machine = run("--figures", dir.resolve("none.json").toString(), "--connections", "1M", "--machine", "x");
    assertEquals(3, machine.status(), "the figures are read first");
  }
}
