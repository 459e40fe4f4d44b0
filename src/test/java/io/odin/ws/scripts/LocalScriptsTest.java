package io.odin.ws.scripts;

import io.odin.ws.testsupport.LauncherJar;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The local scripts as a developer runs them, twice on one machine: every port and name comes from a documented
 * variable, a taken port is refused with the variable to change (and the running copy is left alone), and two
 * copies with their own ports are two clusters that do not see each other. scripts/vertx starts the gateway on the
 * README's JVM options (scripts/gateway-jvm-options.sh). The nodes run from a launcher jar over the test class
 * path ({@link LauncherJar}): target/odin-ws.jar does not exist yet while the tests run.
 */
class LocalScriptsTest {

  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static Path jar;

  @BeforeAll
  static void launcherJar() {
    jar = LauncherJar.create();
  }

  /** One copy of scripts/cluster-local: its own ports, directory and Redis, no Kafka. */
  private record Copy(Map<String, String> env) {
    static Copy withFreePorts() throws IOException {
      Map<String, String> env = new HashMap<>(Map.of(
        "CLUSTER_WS_PORT", String.valueOf(Ports.free()), "CLUSTER_HTTP_PORT", String.valueOf(Ports.free()),
        "CLUSTER_HAZELCAST_PORT", String.valueOf(Ports.free()), "REDIS_PORT", String.valueOf(Ports.free()),
        "CLUSTER_LOCAL_DIR", Files.createTempDirectory("cluster-local").toString(),
        "CLUSTER_KAFKA", "false", "NODE_HEAP", "256m", "ODIN_JAR", jar.toString()));
      return new Copy(env);
    }

    Copy with(String name, String value) {
      Map<String, String> e = new HashMap<>(env);
      e.put(name, value);
      return new Copy(e);
    }

    int http() {
      return Integer.parseInt(env.get("CLUSTER_HTTP_PORT"));
    }

    int ws() {
      return Integer.parseInt(env.get("CLUSTER_WS_PORT"));
    }

    Result run(String... args) throws Exception {
      return script("cluster-local", env, 240, args);
    }
  }

  private record Result(int status, String output) { }

  private static Result script(String name, Map<String, String> env, int timeoutSeconds, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("scripts").resolve(name).toString()));
    cmd.addAll(List.of(args));
    Path log = Files.createTempFile(name, ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("ODIN_") || k.startsWith("CLUSTER_") || k.startsWith("KAFKA_")
      || k.startsWith("REDIS_") || k.equals("JAVA_OPTS"));
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/" + name + " did not finish: " + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }

  private static int members(int httpPort) {
    try (Publisher api = new Publisher(httpPort)) {
      return api.get("/health").json().getJsonObject("dependencies").getJsonObject("cluster").getInteger("members");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void twoClusterLocalCopiesOnOneMachineDoNotCollide() throws Exception {
    Copy a = Copy.withFreePorts();
    Copy b = Copy.withFreePorts();
    try {
      Result started = a.run("start", "1");
      assertEquals(0, started.status, started.output);
      assertTrue(started.output.contains("cluster odin-ws-local-" + a.env.get("CLUSTER_HAZELCAST_PORT") + " of 1 up"),
        started.output);

      // a second copy on the first one's ports is refused, naming the variable, before it starts anything
      for (String variable : List.of("CLUSTER_WS_PORT", "CLUSTER_HTTP_PORT", "CLUSTER_HAZELCAST_PORT")) {
        Result refused = b.with(variable, a.env.get(variable)).run("start", "1");
        assertEquals(1, refused.status, refused.output);
        assertTrue(refused.output.contains("is taken by another process: set " + variable + " to a free port"), refused.output);
      }
      assertFalse(Files.exists(Path.of(b.env.get("CLUSTER_LOCAL_DIR"), "node-0.pid")), "nothing was started");
      assertEquals(1, members(a.http()), "the first cluster is untouched");

      // with ports of its own: a second cluster, which the first does not see
      Result second = b.run("start", "1");
      assertEquals(0, second.status, second.output);
      assertEquals(1, members(a.http()));
      assertEquals(1, members(b.http()));
      try (WsClients onA = new WsClients(a.ws()); WsClients onB = new WsClients(b.ws()); Publisher api = new Publisher(a.http())) {
        Conn ca = onA.connect("user-1");
        Conn cb = onB.connect("user-1");
        assertEquals(202, api.post("{\"type\":\"t\",\"token\":\"user-1\",\"data\":1}").status);
        await().atMost(Duration.ofSeconds(20)).until(() -> ca.frames.size() == 1);
        // a message of cluster A reaching B's client would come as fast as A's: B's client got nothing by then
        assertEquals(List.of(), cb.frames, "the other cluster's client gets nothing");
      }

      // stopping the second copy stops its node and its Redis, not the first copy's
      Result stopped = b.run("stop");
      assertEquals(0, stopped.status, stopped.output);
      assertEquals(3, script("redis-local", b.env, 30, "status").status, "the second copy's Redis is stopped");
      assertEquals(0, script("redis-local", a.env, 30, "status").status, "the first copy's Redis still runs");
      assertEquals(1, members(a.http()), "the first cluster still serves");
    } finally {
      b.run("stop");
      a.run("stop");
    }
    assertEquals(3, script("redis-local", a.env, 30, "status").status);
  }

  @Test
  void redisLocalOnATakenPortNamesTheVariable() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Map<String, String> env = Map.of("REDIS_PORT", String.valueOf(taken.getLocalPort()));
      Result r = script("redis-local", env, 30, "start");
      assertEquals(1, r.status, r.output);
      assertTrue(r.output.contains("port 127.0.0.1:" + taken.getLocalPort() + " is taken by another process: set REDIS_PORT"),
        r.output);
      assertEquals(1, script("redis-local", env, 30, "status").status, "another process's port, not this script's Redis");
    }
  }

  /**
   * scripts/redis-local cluster: six redis-server processes, three masters holding every slot and a replica each; a
   * node configured as the script says (redis.mode cluster, redis.endpoints) delivers through it; stop ends them all.
   */
  @Test
  void redisLocalClusterStartsThreeMastersWithAReplicaEachAndStopsThem() throws Exception {
    int base = Ports.freeRange(6, 10_000);
    Map<String, String> env = Map.of("REDIS_CLUSTER_PORT", String.valueOf(base), "REDIS_PORT", String.valueOf(Ports.free()));
    try {
      Result r = script("redis-local", env, 120, "cluster");
      assertEquals(0, r.status, r.output);
      assertTrue(r.output.contains("ODIN_REDIS_MODE=cluster ODIN_REDIS_ENDPOINTS=redis://127.0.0.1:" + base), r.output);
      String nodes = String.valueOf(RedisServer.commandAt(base, "CLUSTER", "NODES"));
      assertEquals(3, nodes.lines().filter(l -> l.contains("master") && l.split(" ").length > 8).count(), nodes);
      assertEquals(3, nodes.lines().filter(l -> l.contains("slave")).count(), nodes);
      for (int p = base; p < base + 6; p++) {
        assertTrue(String.valueOf(RedisServer.commandAt(p, "CLUSTER", "INFO")).contains("cluster_state:ok"));
      }
      assertTrue(script("redis-local", env, 30, "status").output.contains("redis cluster running on 127.0.0.1:" + base));
      try (TestNode node = TestNode.start(2, new JsonObject().put("redis.mode", "cluster")
             .put("redis.endpoints", new JsonArray().add("redis://127.0.0.1:" + base)));
           WsClients clients = new WsClients(node.wsPort);
           Publisher api = new Publisher(node.httpPort)) {
        await().atMost(Duration.ofSeconds(30)).until(() -> "up".equals(api.get("/health").json()
          .getJsonObject("dependencies").getJsonObject("redis").getString("status")));
        Conn c = clients.connect("dev");
        Publisher.Response resp = api.post(new JsonObject().put("type", "t").put("token", "dev").encode());
        assertEquals(1, resp.json().getInteger("targeted"), resp.body);
        await().atMost(Duration.ofSeconds(10)).until(() -> c.frames.size() == 1);
      }
    } finally {
      assertEquals(0, script("redis-local", env, 60, "stop").status);
    }
    for (int p = base; p < base + 6; p++) {
      int port = p;
      assertFalse(portAnswers(port), "node on " + port + " stopped");
    }
  }

  private static boolean portAnswers(int port) {
    try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** scripts/vertx runs the JVM on the README's options; JAVA_OPTS come after them, so they override. */
  @Test
  void vertxScriptStartsTheGatewayOnTheReadmesJvmOptions() throws Exception {
    int http = Ports.free();
    List<String> cmd = List.of(ROOT.resolve("scripts/vertx").toString(), "run", "odin-ws", "-instances", "1");
    Path log = Files.createTempFile("vertx", ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(Map.of("ODIN_WS_JAR", jar.toString(), "JAVA_OPTS", "-Xmx300m",
      "ODIN_WS_HOST", "127.0.0.1", "ODIN_HTTP_HOST", "127.0.0.1",
      "ODIN_WS_PORT", String.valueOf(Ports.free()), "ODIN_HTTP_PORT", String.valueOf(http)));
    Process p = pb.start();
    try (Publisher api = new Publisher(http)) {
      await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
        assertTrue(p.isAlive(), () -> readQuietly(log));
        return api.get("/health/ready").status == 200;
      });
      // exec: the script's process is the JVM
      List<String> jvm = List.of(Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).split("\0"));
      List<String> readme = List.of("-Xmx1g", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20");
      assertTrue(jvm.containsAll(readme), "the README's JVM options: " + jvm);
      assertTrue(jvm.indexOf("-Xmx300m") > jvm.indexOf("-Xmx1g"), "JAVA_OPTS after them: " + jvm);
    } finally {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
