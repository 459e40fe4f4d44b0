package io.odin.ws.loadtest.testsupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * (A copy of the gateway's testsupport.KafkaBroker: the load tool's build depends on nothing of the gateway.)
 * Real single-node Kafka 4.x (KRaft, process.roles=broker,controller) in a child JVM started from the test
 * classpath. Fixed port + log dir: stop() (SIGTERM), kill() (SIGKILL) and start() again on the SAME port,
 * data kept; clients reconnect by themselves. The child halts when its stdin closes (test JVM died).
 * Needs test-scoped org.apache.kafka:kafka_2.13 and kafka-clients pinned to the same 4.x version.
 * -Dkafka.test.heap=128m (default), -Dkafka.test.keepDir=true keeps dir + broker.log after close().
 */
public final class KafkaBroker implements AutoCloseable {
  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final String clusterId = Uuid.randomUuid().toString();
  private volatile Process process;
  private volatile boolean stopping;
  private OutputStream childStdin; // keep open: EOF makes the child halt
  private long lastStartMillis;

  private KafkaBroker(Path dir, int port, int controllerPort) {
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
  }

  public static KafkaBroker create() {
    try {
      return new KafkaBroker(Files.createTempDirectory("kafka-broker-"), Ports.free(), Ports.free());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String bootstrapServers() { return "127.0.0.1:" + port; }
  public int port() { return port; }
  public long pid() { return process == null ? -1 : process.pid(); }
  public long lastStartMillis() { return lastStartMillis; }
  public boolean isRunning() { return process != null && process.isAlive(); }
  public Path logFile() { return dir.resolve("broker.log"); }

  /** Starts (or restarts on the same port/data) and blocks until the broker answers describeCluster. */
  public synchronized KafkaBroker start() {
    if (isRunning()) return this;
    long t0 = System.nanoTime();
    try {
      String heap = System.getProperty("kafka.test.heap", "128m");
      process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xms" + heap, "-Xmx" + heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          "-Djava.awt.headless=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
          "-cp", testClasspath(), KafkaBroker.class.getName(), writeServerProperties().toString(), clusterId)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
          .start();
      childStdin = process.getOutputStream();
      Process started = process;
      started.onExit().thenAccept(p -> {
        if (process == started && !stopping) {
          System.err.printf("KafkaBroker: pid %d died unexpectedly (exit %d); its log ends:%n%s%n", p.pid(), p.exitValue(), tailLog());
        }
      });
      awaitReady();
      lastStartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Graceful: SIGTERM, Kafka's shutdown hook does a controlled shutdown. */
  public synchronized void stop() { terminate(false); }

  /** Crash: SIGKILL. The next start() runs log recovery. */
  public synchronized void kill() { terminate(true); }

  public synchronized void restart() {
    stop();
    start();
  }

  /** Creates the topic and waits until the broker serves every partition (ListOffsets succeeds). */
  public void createTopic(String name, int partitions) {
    try (Admin admin = admin()) {
      try {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(90, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw new IllegalStateException(e.getCause());
      } catch (InterruptedException | TimeoutException e) {
        throw new IllegalStateException("createTopic " + name, e);
      }
      Map<TopicPartition, OffsetSpec> all = new HashMap<>();
      for (int p = 0; p < partitions; p++) all.put(new TopicPartition(name, p), OffsetSpec.latest());
      org.awaitility.Awaitility.await("topic " + name + " served")
        .atMost(java.time.Duration.ofSeconds(90))
        .pollInterval(java.time.Duration.ofMillis(50))
        .ignoreExceptions()
        .until(() -> {
          admin.listOffsets(all).all().get(5, TimeUnit.SECONDS);
          return true;
        });
    }
  }

  /** Caller closes it. */
  public Admin admin() {
    return Admin.create(Map.of("bootstrap.servers", bootstrapServers(),
        "request.timeout.ms", 10_000, "default.api.timeout.ms", 30_000));
  }

  @Override
  public synchronized void close() {
    terminate(false);
    if (Boolean.getBoolean("kafka.test.keepDir")) return;
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException ignored) {
      // best effort
    }
  }

  private void terminate(boolean force) {
    if (process == null) return;
    stopping = true;
    // via ProcessHandle: Process.destroy() would also close stdin -> watchdog halts before a clean shutdown
    ProcessHandle handle = process.toHandle();
    try {
      if (force) {
        handle.destroyForcibly();
      } else if (handle.destroy() && !process.waitFor(30, TimeUnit.SECONDS)) {
        handle.destroyForcibly();
      }
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      handle.destroyForcibly();
    } finally {
      try {
        childStdin.close();
      } catch (IOException ignored) {
        // child already gone
      }
      process = null;
      stopping = false;
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers(),
        "request.timeout.ms", 2_000, "default.api.timeout.ms", 2_000,
        "reconnect.backoff.ms", 50, "reconnect.backoff.max.ms", 200))) {
      while (true) {
        if (!process.isAlive()) throw new IllegalStateException("broker exited, see " + logFile());
        try {
          if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) return;
        } catch (Exception notYet) {
          // retry
        }
        if (System.nanoTime() > deadline) {
          terminate(true);
          throw new IllegalStateException("broker not ready after 90 s, see " + logFile());
        }
      }
    }
  }

  private Path writeServerProperties() throws IOException {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.setProperty("controller.listener.names", "CONTROLLER");
    p.setProperty("inter.broker.listener.name", "PLAINTEXT");
    p.setProperty("log.dirs", dir.resolve("data").toString());
    p.setProperty("offsets.topic.replication.factor", "1");
    p.setProperty("offsets.topic.num.partitions", "4");
    p.setProperty("transaction.state.log.replication.factor", "1");
    p.setProperty("transaction.state.log.min.isr", "1");
    p.setProperty("transaction.state.log.num.partitions", "4");
    p.setProperty("share.coordinator.state.topic.replication.factor", "1");
    p.setProperty("share.coordinator.state.topic.min.isr", "1");
    p.setProperty("default.replication.factor", "1");
    p.setProperty("min.insync.replicas", "1");
    p.setProperty("group.initial.rebalance.delay.ms", "0");
    p.setProperty("log.cleaner.dedupe.buffer.size", "2097152"); // default 128 MiB of heap: OOM at -Xmx128m
    p.setProperty("broker.session.timeout.ms", "3000"); // re-registration after kill -9 waits for it (def 9 s)
    p.setProperty("broker.heartbeat.interval.ms", "500");
    p.setProperty("num.network.threads", "2");
    p.setProperty("num.io.threads", "2");
    p.setProperty("background.threads", "2");
    Path file = dir.resolve("server.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      p.store(out, null);
    }
    return file;
  }

  /** The last lines of the broker's log, for failure messages. */
  private String tailLog() {
    try {
      java.util.List<String> lines = java.nio.file.Files.readAllLines(logFile(), java.nio.charset.StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (java.io.IOException e) {
      return "(no log: " + e + ")";
    }
  }


  /** Surefire runs tests from a manifest-only booter jar: expand its Class-Path for the child. */
  static String testClasspath() throws IOException {
    String cp = System.getProperty("java.class.path");
    if (cp.contains(File.pathSeparator) || !cp.endsWith(".jar")) return cp;
    try (JarFile jar = new JarFile(cp)) {
      String mcp = jar.getManifest() == null ? null : jar.getManifest().getMainAttributes().getValue("Class-Path");
      if (mcp == null || mcp.isBlank()) return cp;
      URI base = new File(cp).getParentFile().toURI();
      List<String> out = new ArrayList<>();
      for (String entry : mcp.trim().split("\\s+")) out.add(new File(base.resolve(entry)).getPath());
      return String.join(File.pathSeparator, out);
    }
  }

  /** Child JVM entry point: args = server.properties, clusterId. */
  public static void main(String[] args) throws Exception {
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // parent never writes
        }
      } catch (IOException ignored) {
        // same as EOF
      }
      Runtime.getRuntime().halt(3); // parent (test JVM) is gone
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    int rc = kafka.tools.StorageTool.execute(new String[] {"format", "--config", args[0], "--cluster-id", args[1],
        "--ignore-formatted"}, System.out); // idempotent: restarts keep meta.properties
    if (rc != 0) Runtime.getRuntime().halt(rc);
    kafka.Kafka.main(new String[] {args[0]});
  }
}
