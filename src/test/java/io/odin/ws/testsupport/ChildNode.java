package io.odin.ws.testsupport;

import io.odin.ws.OdinWsApplication;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
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
 * An odin-ws node in its own JVM, started through the real launcher, so it can be stopped with SIGTERM
 * (graceful) or SIGKILL (a crash) like a production process.
 */
public final class ChildNode implements AutoCloseable {

  public final String name;
  public final int wsPort;
  public final int httpPort;
  public final Path log;
  private final Process process;
  private final Publisher api;

  private ChildNode(String name, int wsPort, int httpPort, Path log, Process process) {
    this.name = name;
    this.wsPort = wsPort;
    this.httpPort = httpPort;
    this.log = log;
    this.process = process;
    this.api = new Publisher(httpPort);
  }

  /**
   * Launches a node; {@code env} adds ODIN_* variables (the way containers configure nodes).
   * Returns once the process started; call {@link #awaitReady()}.
   */
  public static ChildNode launch(String name, int shards, Map<String, String> env, String... args) throws IOException {
    return launch(name, shards, env, List.of("-Xmx256m", "-XX:+UseSerialGC"), args);
  }

  /** With the node JVM's own options (heap, GC). */
  public static ChildNode launch(String name, int shards, Map<String, String> env, List<String> jvmOptions,
                                 String... args) throws IOException {
    int ws = Ports.free();
    int http = Ports.free();
    Path log = Files.createTempFile("odin-" + name + "-", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
      OdinWsApplication.class.getName(),
      "-conf", new JsonObject().put("node.id", name).put("ws.host", "127.0.0.1").put("http.host", "127.0.0.1").encode()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> e = new HashMap<>(env);
    e.put("ODIN_WS_PORT", String.valueOf(ws));
    e.put("ODIN_HTTP_PORT", String.valueOf(http));
    e.put("ODIN_SHARDS", String.valueOf(shards));
    pb.environment().putAll(e);
    return new ChildNode(name, ws, http, log, pb.start());
  }

  public ChildNode awaitReady() {
    await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited: " + Files.readString(log));
      }
      return api.get("/health/ready").status == 200;
    });
    return this;
  }

  public Publisher api() {
    return api;
  }

  public JsonObject health() {
    return api.get("/health").json();
  }

  public long pid() {
    return process.pid();
  }

  /** Resident memory of the node's JVM, from /proc (Linux). */
  public long residentKiB() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalStateException("no VmRSS for " + process.pid());
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: no draining, no goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGSTOP: the process freezes (a long GC pause, a starved VM) while its sockets stay open. */
  public void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  /** SIGCONT after {@link #pause()}. */
  public void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
    }
  }

  /** SIGTERM: the graceful path. Returns the exit code. */
  public int terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException(name + " did not stop within 60 s of SIGTERM");
    }
    return process.exitValue();
  }

  public String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Override
  public void close() throws Exception {
    try {
      api.close();
    } finally {
      if (process.isAlive()) {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }
}
