package io.odin.ws.loadtest.testsupport;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * The gateway under test: its production jar ({@code -Dodin.gateway.jar}, by default ../target/odin-ws.jar, which the
 * gateway's build makes) in a child JVM, configured through ODIN_* variables on loopback ports. The load tool
 * sees it only from the outside, as in production: WebSockets, the publish API, /health.
 */
public final class GatewayProcess implements AutoCloseable {

  public final int wsPort;
  public final int httpPort;
  private final Path log;
  private final Process process;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private GatewayProcess(int wsPort, int httpPort, Path log, Process process) {
    this.wsPort = wsPort;
    this.httpPort = httpPort;
    this.log = log;
    this.process = process;
  }

  /** Starts a gateway with {@code shards} shards, a small heap, and {@code env} added to its environment. */
  public static GatewayProcess start(int shards, Map<String, String> env) throws IOException {
    return start(shards, env, List.of("-Xmx256m", "-XX:+UseSerialGC"));
  }

  public static GatewayProcess start(int shards, Map<String, String> env, List<String> jvmOptions) throws IOException {
    Path jar = jar();
    int ws = Ports.free();
    int http = Ports.free();
    Path log = Files.createTempFile("odin-lt-gateway-", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> e = new HashMap<>(env);
    e.put("ODIN_WS_HOST", "127.0.0.1");
    e.put("ODIN_WS_PORT", String.valueOf(ws));
    e.put("ODIN_HTTP_HOST", "127.0.0.1");
    e.put("ODIN_HTTP_PORT", String.valueOf(http));
    e.put("ODIN_SHARDS", String.valueOf(shards));
    pb.environment().putAll(e);
    GatewayProcess gateway = new GatewayProcess(ws, http, log, pb.start());
    try {
      gateway.awaitReady();
    } catch (RuntimeException failed) {
      gateway.close();
      throw failed;
    }
    return gateway;
  }

  /**
   * Starts the floor server ({@link io.odin.ws.loadtest.FloorServer}, from this build's classes) with two WebSocket
   * verticles and {@code args} after its ports, e.g. {@code --kafka BOOTSTRAP TOPIC}.
   */
  public static GatewayProcess startFloor(String... args) throws IOException {
    int ws = Ports.free();
    int http = Ports.free();
    Path log = Files.createTempFile("odin-lt-floor-", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
      "io.odin.ws.loadtest.FloorServer", String.valueOf(ws), String.valueOf(http), "2"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    GatewayProcess floor = new GatewayProcess(ws, http, log, pb.start());
    try {
      floor.awaitReady();
    } catch (RuntimeException failed) {
      floor.close();
      throw failed;
    }
    return floor;
  }

  private static Path jar() {
    Path jar = Path.of(System.getProperty("odin.gateway.jar", "../target/odin-ws.jar")).toAbsolutePath().normalize();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("the gateway's jar " + jar + " is missing: build it first"
        + " (mvn -q -B -ntp package -DskipTests in the gateway's directory; scripts/test does) or set -Dodin.gateway.jar");
    }
    return jar;
  }

  private void awaitReady() {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("the gateway exited: " + logText());
      }
      return get("/health/ready").statusCode() == 200;
    });
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
      .timeout(Duration.ofSeconds(10)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  public String wsUrl() {
    return "ws://127.0.0.1:" + wsPort + "/ws";
  }

  public String publishUrl() {
    return "http://127.0.0.1:" + httpPort + "/api/publish";
  }

  /** {@code GET /health}. */
  public JsonObject health() {
    try {
      return new JsonObject(get("/health").body());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Open WebSocket connections, as /health counts them. */
  public int connections() {
    return health().getInteger("connections");
  }

  /** Whether a Kafka consumer of the node has partitions assigned (/health's dependencies). */
  public boolean kafkaAssigned() {
    JsonObject kafka = health().getJsonObject("dependencies").getJsonObject("kafka-0");
    JsonArray assigned = kafka == null ? null : kafka.getJsonArray("assigned");
    return assigned != null && !assigned.isEmpty();
  }

  /** {@code POST /api/publish}; returns the status code. */
  public int publish(String body) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(publishUrl())).timeout(Duration.ofSeconds(10))
      .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  public long pid() {
    return process.pid();
  }

  public String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** SIGTERM, then SIGKILL if the gateway is not gone within 30 s. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
