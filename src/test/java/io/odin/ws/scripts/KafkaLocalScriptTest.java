package io.odin.ws.scripts;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Kafka quick start through scripts/kafka-local itself (its own ports and data directory): start
 * creates the gateway's topic, a gateway on the defaults (group odin-ws, autoOffsetReset latest) is assigned it,
 * and the first record produced with the script reaches the client. Without the topic created at start, that first
 * record was lost (issue 18). The broker's cluster id starts with '-' (one random id in 64 does): the storage tool
 * read it as an option and start failed (issue 32).
 */
class KafkaLocalScriptTest {

  private static final Path SCRIPT = Path.of("scripts", "kafka-local").toAbsolutePath();
  /** A valid cluster id (base64url of 16 bytes) that starts with '-'. */
  private static final String DASH_CLUSTER_ID = "-5Xq3PXbRBe0E9lJ5eUsPw";
  private static Map<String, String> env;

  @BeforeAll
  static void start() throws Exception {
    env = Map.of("KAFKA_PORT", String.valueOf(Ports.free()), "KAFKA_CONTROLLER_PORT", String.valueOf(Ports.free()),
      "KAFKA_LOCAL_DIR", Files.createTempDirectory("kafka-local-test").toString(), "KAFKA_CLUSTER_ID", DASH_CLUSTER_ID);
    Result started = script(List.of("start", "--partitions", "3"), null, 300);
    assertEquals(0, started.status, started.output);
    assertTrue(started.output.contains("topics: odin-events partitions=3"), started.output);
    assertTrue(Files.readString(Path.of(env.get("KAFKA_LOCAL_DIR"), "data", "meta.properties"))
      .contains("cluster.id=" + DASH_CLUSTER_ID), "formatted with the id that starts with '-'");
  }

  @AfterAll
  static void stop() throws Exception {
    if (env != null) {
      script(List.of("stop"), null, 120);
    }
  }

  @Test
  void theFirstRecordProducedReachesTheClient() throws Exception {
    Result topics = script(List.of("topics"), null, 120);
    assertEquals(0, topics.status, topics.output);
    assertTrue(topics.output.contains("odin-events partitions=3"), topics.output);

    String bootstrap = "127.0.0.1:" + env.get("KAFKA_PORT");
    try (TestNode node = TestNode.start(2, new JsonObject().put("kafka.bootstrapServers", bootstrap));
         WsClients clients = new WsClients(node.wsPort)) {
      Conn keyed = clients.connect("user-42");
      Conn other = clients.connect("user-7");
      // what a user sees on /health once the gateway is up: the pool holds the topic's partitions
      await().atMost(Duration.ofSeconds(60)).until(() ->
        node.node().dependencies().get("kafka-0").get().getJsonArray("assigned").size() == 3);

      Result produced = script(List.of("produce", "--key", "user-42", "{\"type\":\"order-update\",\"data\":{\"id\":42}}"), null, 120);
      assertEquals(0, produced.status, produced.output);
      await().atMost(Duration.ofSeconds(30)).until(() -> keyed.frames.size() == 1);
      assertEquals("{\"type\":\"order-update\",\"data\":{\"id\":42}}", keyed.bodies().get(0));

      // from stdin, one record per line, the token in the envelope; --bootstrap names the broker (here the same one,
      // as for the container stack's Kafka) and needs no broker of the script's own (another KAFKA_LOCAL_DIR has none)
      Result piped = script(List.of("produce", "--bootstrap", bootstrap),
        "{\"type\":\"a\",\"token\":\"user-7\",\"data\":1}\n\n{\"type\":\"b\",\"token\":\"user-7\",\"data\":2}\n", 120,
        Map.of("KAFKA_LOCAL_DIR", Files.createTempDirectory("kafka-local-none").toString()));
      assertEquals(0, piped.status, piped.output);
      await().atMost(Duration.ofSeconds(30)).until(() -> other.frames.size() == 2);
      assertEquals(List.of("{\"type\":\"a\",\"data\":1}", "{\"type\":\"b\",\"data\":2}"), other.bodies());
      assertEquals(1, keyed.frames.size(), "nothing for user-42 but its own record");
    }
  }

  /**
   * A second copy of the script on the same machine (another data directory, as in another checkout) finds the first
   * one's ports taken: it says so and names the variable to change, and leaves the running broker alone.
   */
  @Test
  void aSecondBrokerOnTakenPortsNamesTheVariableToChange() throws Exception {
    String otherDir = Files.createTempDirectory("kafka-local-second").toString();
    Result samePort = script(List.of("start"), null, 60, Map.of("KAFKA_LOCAL_DIR", otherDir));
    assertEquals(1, samePort.status, samePort.output);
    assertTrue(samePort.output.contains("port 127.0.0.1:" + env.get("KAFKA_PORT") + " (the broker) is taken by another process: set KAFKA_PORT"),
      samePort.output);
    Result sameController = script(List.of("start"), null, 60, Map.of("KAFKA_LOCAL_DIR", otherDir,
      "KAFKA_PORT", String.valueOf(Ports.free())));
    assertEquals(1, sameController.status, sameController.output);
    assertTrue(sameController.output.contains("set KAFKA_CONTROLLER_PORT"), sameController.output);
    Result topics = script(List.of("topics"), null, 120);
    assertEquals(0, topics.status, "the first broker still serves: " + topics.output);
  }

  private record Result(int status, String output) { }

  private static Result script(List<String> args, String stdin, int timeoutSeconds) throws IOException, InterruptedException {
    return script(args, stdin, timeoutSeconds, Map.of());
  }

  private static Result script(List<String> args, String stdin, int timeoutSeconds, Map<String, String> override)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(SCRIPT.toString()));
    cmd.addAll(args);
    Path log = Files.createTempFile("kafka-local", ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    pb.environment().putAll(override);
    pb.environment().remove("ODIN_KAFKA_TOPICS");
    Process p = pb.start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/kafka-local " + args + " did not finish in " + timeoutSeconds + " s: " + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }
}
