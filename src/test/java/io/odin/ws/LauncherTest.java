package io.odin.ws;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real launcher in a child JVM: -conf, -instances, environment overrides and refusal of bad config. */
class LauncherTest {

  private static Process launch(Path log, List<String> args, String... env) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
      Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-Xmx256m", "-cp", System.getProperty("java.class.path"), OdinWsApplication.class.getName()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    for (int i = 0; i < env.length; i += 2) {
      pb.environment().put(env[i], env[i + 1]);
    }
    return pb.start();
  }

  @Test
  void badConfigStopsStartupNamingTheKey() throws Exception {
    Path log = Files.createTempFile("odin-launch", ".log");
    Process p = launch(log, List.of("-conf", "{\"ws.port\": 70000}"));
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertTrue(out.contains("invalid configuration: ws.port: must be between 1 and 65535, got 70000"), out);

    Process unknown = launch(log, List.of("-conf", "{\"shards.instanses\": 2}"));
    assertTrue(unknown.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, unknown.exitValue());
    String out2 = Files.readString(log, StandardCharsets.UTF_8);
    assertTrue(out2.contains("shards.instanses: unknown configuration key (did you mean shards.instances?)"), out2);

    Process badEnv = launch(log, List.of(), "ODIN_HTTP_PORT", "http");
    assertTrue(badEnv.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, badEnv.exitValue());
    assertTrue(Files.readString(log).contains("http.port: environment variable ODIN_HTTP_PORT must be a whole number"));
  }

  @Test
  void instancesAndConfFileAndEnvironmentAreHonoured() throws Exception {
    int ws = Ports.free();
    int http = Ports.free();
    Path conf = Files.createTempFile("odin-conf", ".json");
    Files.writeString(conf, "{\"ws.host\":\"127.0.0.1\",\"http.host\":\"127.0.0.1\",\"ws.port\":" + ws + ",\"node.id\":\"launch-test\"}");
    Path log = Files.createTempFile("odin-launch", ".log");
    // ODIN_WS_PROT: a misspelt variable is ignored, with a warning
    Process p = launch(log, List.of("-conf", conf.toString(), "-instances", "3"), "ODIN_HTTP_PORT", String.valueOf(http),
      "ODIN_WS_PROT", String.valueOf(Ports.free()));
    try (Publisher api = new Publisher(http)) {
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> api.get("/health/ready").status == 200);
      assertEquals(3, api.get("/health/ready").json().getInteger("shardsListening"));
      assertEquals("launch-test", api.get("/health").json().getString("node"));
      assertEquals("odin.shard.launch-test.0", api.get("/health").json().getJsonArray("shards").getJsonObject(0).getString("address"));
    } finally {
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the node stops on SIGTERM");
      p.destroyForcibly();
    }
    String out = Files.readString(log);
    assertTrue(out.contains("3 shards"), out);
    assertTrue(out.contains("up: WebSocket ws://127.0.0.1:" + ws + "/ws, management http://127.0.0.1:" + http), out);
    assertTrue(out.contains("WARN") && out.contains("environment variable ODIN_WS_PROT names no configuration key and is"
      + " ignored (did you mean ODIN_WS_PORT, ws.port?)"), out);
    // SIGTERM says what it does and when it is done
    assertTrue(out.lines().anyMatch(l -> l.endsWith("odin-ws node launch-test stopping: clients get 1001")),
      "only what a node without Redis or Kafka does (no Kafka offsets): " + out);
    assertTrue(Pattern.compile("odin-ws node launch-test stopped in \\d+ ms").matcher(out).find(), out);
    new File(conf.toString()).delete();
  }

  @Test
  void helpListsOdinWsOptionsAndKeys() throws Exception {
    Path log = Files.createTempFile("odin-launch", ".log");
    Process p = launch(log, List.of("--help"));
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue());
    String out = Files.readString(log);
    for (String expected : List.of("-conf FILE|JSON", "-instances N", "-cluster ", "conf/default.json",
        "ws.port                  ODIN_WS_PORT                   3001", "ODIN_KAFKA_BOOTSTRAP_SERVERS", "ODIN_REDIS_URL",
        "ODIN_SHARDS", "3 a port cannot be opened")) {
      assertTrue(out.contains(expected), expected + " in:\n" + out);
    }
    assertFalse(out.contains("Starting"), "help starts nothing: " + out);
  }

  @Test
  void aTakenPortIsNamedWithItsKeyAndNothingClaimsToListen() throws Exception {
    // the management port taken: the shards bind first, the API fails
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      Path log = Files.createTempFile("odin-launch", ".log");
      Process p = launch(log, List.of("-conf", "{\"ws.host\":\"127.0.0.1\",\"http.host\":\"127.0.0.1\",\"ws.port\":" + Ports.free() + "}"),
        "ODIN_HTTP_PORT", String.valueOf(port));
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      String out = Files.readString(log);
      assertEquals(3, p.exitValue(), out);
      assertTrue(out.contains("odin-ws: cannot listen on 127.0.0.1:" + port + " (http.port / ODIN_HTTP_PORT): address already in use"), out);
      assertFalse(out.toLowerCase(java.util.Locale.ROOT).contains("listening"), out);
      assertFalse(out.contains(" up: "), out);
      assertFalse(out.contains("NativeIoException"), "no stack trace: " + out);

      // the WebSocket port taken
      Path log2 = Files.createTempFile("odin-launch", ".log");
      Process p2 = launch(log2, List.of("-instances", "2"), "ODIN_WS_HOST", "127.0.0.1", "ODIN_WS_PORT", String.valueOf(port),
        "ODIN_HTTP_PORT", String.valueOf(Ports.free()));
      assertTrue(p2.waitFor(60, TimeUnit.SECONDS));
      String out2 = Files.readString(log2);
      assertEquals(3, p2.exitValue(), out2);
      assertTrue(out2.contains("odin-ws: cannot listen on 127.0.0.1:" + port + " (ws.port / ODIN_WS_PORT): address already in use"), out2);
    }
  }
}
