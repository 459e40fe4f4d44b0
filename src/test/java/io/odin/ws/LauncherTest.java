package io.odin.ws;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
    Process p = launch(log, List.of("-conf", conf.toString(), "-instances", "3"), "ODIN_HTTP_PORT", String.valueOf(http));
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
    assertTrue(Files.readString(log).contains("3 shards"), Files.readString(log));
    new File(conf.toString()).delete();
  }
}
