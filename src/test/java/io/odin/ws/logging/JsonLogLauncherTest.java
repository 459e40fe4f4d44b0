package io.odin.ws.logging;

import io.odin.ws.OdinWsApplication;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

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
import static org.junit.jupiter.api.Assertions.fail;

/** The real launcher with the production logback.xml and ODIN_LOG_FORMAT=json: every line is JSON with the node id. */
class JsonLogLauncherTest {

  @Test
  void everyLineIsJsonWithTheNodeId() throws Exception {
    int ws = Ports.free();
    int http = Ports.free();
    Path log = Files.createTempFile("odin-json-log", ".log");
    List<String> cmd = new ArrayList<>(List.of(
      Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
      "-Dlogback.configurationFile=" + Path.of("src/main/resources/logback.xml").toAbsolutePath(),
      "-cp", System.getProperty("java.class.path"), OdinWsApplication.class.getName(),
      "-conf", "{\"ws.host\":\"127.0.0.1\",\"http.host\":\"127.0.0.1\",\"ws.port\":" + ws + ",\"http.port\":" + http
        + ",\"shards.instances\":2}"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("ODIN_LOG_FORMAT", "json");
    Process p = pb.start();
    String nodeId;
    try (Publisher api = new Publisher(http)) {
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> api.get("/health/ready").status == 200);
      nodeId = api.get("/health").json().getString("node");
    } finally {
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the node stops on SIGTERM");
      p.destroyForcibly();
    }
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    int upLines = 0;
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject json;
      try {
        json = new JsonObject(line);
      } catch (DecodeException e) {
        fail("not a JSON line: " + line + "\nall output:\n" + String.join("\n", lines));
        return;
      }
      assertEquals(nodeId, json.getString("node"), line);
      assertTrue(json.containsKey("time") && json.containsKey("level") && json.containsKey("logger") && json.containsKey("message"), line);
      if (json.getString("message").startsWith("odin-ws node " + nodeId + " up: ")) {
        upLines++;
      }
    }
    assertEquals(1, upLines, "the node's start line: " + lines);
    Files.deleteIfExists(log);
  }
}
