package io.odin.ws.testsupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * A real single-node Kafka 4.x broker (KRaft combined mode: process.roles=broker,controller) running in a
 * child JVM launched with the test classpath. Fixed port + fixed log dir, so it can be stopped (SIGTERM),
 * killed (SIGKILL) and restarted on the SAME port with its data intact: clients reconnect by themselves.
 *
 * <p>The child exits by itself when its stdin closes, i.e. when the test JVM dies (no orphan brokers).
 *
 * <p>Needs test-scoped org.apache.kafka:kafka_2.13 (+ kafka-clients pinned to the same 4.x version).
 */
public final class KafkaBroker implements AutoCloseable {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final String clusterId;
  private final String heap;
  private volatile Process process;
  private volatile boolean stopping;
  private OutputStream childStdin; // kept open: closing it makes the child halt
  private long lastStartMillis;

  private KafkaBroker(Path dir, int port, int controllerPort, String heap) {
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
    this.clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
    this.heap = heap;
  }

  /** New broker on free ports in a fresh temp dir. Heap: -Dkafka.test.heap (default 256m). */
  public static KafkaBroker create() {
    try {
      Path dir = Files.createTempDirectory("kafka-broker-");
      return new KafkaBroker(dir, freePort(), freePort(), System.getProperty("kafka.test.heap", "256m"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dir;
  }

  public long pid() {
    return process == null ? -1 : process.pid();
  }

  /** Wall time of the last start() in ms (JVM launch + format + broker ready). */
  public long lastStartMillis() {
    return lastStartMillis;
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Starts the broker and blocks until it answers describeCluster on its client port. */
  public synchronized KafkaBroker start() {
    if (isRunning()) {
      return this;
    }
    long t0 = System.nanoTime();
    try {
      Path props = writeServerProperties();
      List<String> cmd = new ArrayList<>(List.of(
          javaBin(),
          "-Xms" + heap, "-Xmx" + heap,
          "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
          "-Djava.awt.headless=true",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
          "-cp", testClasspath(),
          KafkaBroker.class.getName(), props.toString(), clusterId));
      process = new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
          .start();
      childStdin = process.getOutputStream();
      Process started = process;
      started.onExit().thenAccept(p -> {
        if (process == started && !stopping) { // not stopped by us: make unexpected deaths visible
          System.err.printf("KafkaBroker: pid %d exited unexpectedly with %d; its log ends:%n%s%n",
              p.pid(), p.exitValue(), tailLog());
        }
      });
      awaitReady();
      lastStartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Graceful shutdown (SIGTERM -> controlled shutdown). Data and port are kept for restart. */
  public synchronized void stop() {
    terminate(false);
  }

  /** Hard crash (SIGKILL). Data and port are kept for restart (log recovery runs on next start). */
  public synchronized void kill() {
    terminate(true);
  }

  public synchronized void restart() {
    stop();
    start();
  }

  public void createTopic(String name, int partitions) {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("createTopic " + name + " failed", e.getCause());
      }
    } catch (Exception e) {
      throw new IllegalStateException("createTopic " + name + " failed", e);
    }
  }

  /** Caller closes it. */
  public Admin admin() {
    return Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
  }

  public Path logFile() {
    return dir.resolve("broker.log");
  }

  @Override
  public synchronized void close() {
    terminate(false);
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException ignored) {
      // best effort
    }
  }

  // ------------------------------------------------------------------------------------------

  private void terminate(boolean force) {
    if (process == null) {
      return;
    }
    stopping = true;
    try {
      // Use the ProcessHandle: Process.destroy() also closes the child's stdin, which would trip the
      // watchdog (halt) before Kafka's shutdown hook could do a controlled shutdown.
      ProcessHandle handle = process.toHandle();
      if (force) {
        handle.destroyForcibly();
      } else {
        handle.destroy(); // SIGTERM
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          handle.destroyForcibly();
        }
      }
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.toHandle().destroyForcibly();
    } finally {
      try {
        childStdin.close();
      } catch (IOException ignored) {
        // already gone
      }
      process = null;
      stopping = false;
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    try (Admin admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000,
        AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, 50,
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200))) {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException("Kafka broker exited with " + process.exitValue() + "\n" + tailLog());
        }
        try {
          if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (Exception notYet) {
          // retry until deadline
        }
        if (System.nanoTime() > deadline) {
          terminate(true);
          throw new IllegalStateException("Kafka broker not ready after " + START_TIMEOUT + "\n" + tailLog());
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
    // single node: every internal topic must have RF 1 / min ISR 1
    p.setProperty("offsets.topic.replication.factor", "1");
    p.setProperty("offsets.topic.num.partitions", "4");
    p.setProperty("transaction.state.log.replication.factor", "1");
    p.setProperty("transaction.state.log.min.isr", "1");
    p.setProperty("transaction.state.log.num.partitions", "4");
    p.setProperty("share.coordinator.state.topic.replication.factor", "1");
    p.setProperty("share.coordinator.state.topic.min.isr", "1");
    p.setProperty("default.replication.factor", "1");
    p.setProperty("min.insync.replicas", "1");
    p.setProperty("num.partitions", "1");
    p.setProperty("auto.create.topics.enable", "true");
    // fast tests on a small box
    p.setProperty("group.initial.rebalance.delay.ms", "0");
    // after a kill -9 the restarted controller rejects the broker's re-registration
    // (DuplicateBrokerRegistrationException) until the old session expires: default 9 s -> 3 s
    p.setProperty("broker.session.timeout.ms", "3000");
    p.setProperty("broker.heartbeat.interval.ms", "500");
    p.setProperty("log.cleaner.dedupe.buffer.size", "2097152"); // default 128 MiB of heap
    p.setProperty("num.network.threads", "2");
    p.setProperty("num.io.threads", "2");
    p.setProperty("background.threads", "2");
    p.setProperty("num.recovery.threads.per.data.dir", "1");
    p.setProperty("controlled.shutdown.enable", "true");
    Path file = dir.resolve("server.properties");
    try (var out = Files.newOutputStream(file)) {
      p.store(out, "generated by KafkaBroker");
    }
    return file;
  }

  private String tailLog() {
    try {
      List<String> lines = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Surefire may hand us a manifest-only booter jar: expand its Class-Path so the child sees real entries. */
  static String testClasspath() throws IOException {
    String cp = System.getProperty("java.class.path");
    String[] entries = cp.split(File.pathSeparator);
    if (entries.length == 1 && entries[0].endsWith(".jar")) {
      try (JarFile jar = new JarFile(entries[0])) {
        Manifest mf = jar.getManifest();
        String manifestCp = mf == null ? null : mf.getMainAttributes().getValue("Class-Path");
        if (manifestCp != null && !manifestCp.isBlank()) {
          List<String> out = new ArrayList<>();
          for (String url : manifestCp.trim().split("\\s+")) {
            out.add(new File(java.net.URI.create(url).isAbsolute()
                ? java.net.URI.create(url)
                : new File(entries[0]).getParentFile().toURI().resolve(url)).getPath());
          }
          return String.join(File.pathSeparator, out);
        }
      }
    }
    return cp;
  }

  // ------------------------------------------------------------------------------------------
  // Child JVM entry point: args = <server.properties> <clusterId>

  public static void main(String[] args) throws Exception {
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // parent never writes; EOF means the parent is gone
        }
      } catch (IOException ignored) {
        // treat as EOF
      }
      Runtime.getRuntime().halt(3);
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    // idempotent: --ignore-formatted keeps existing meta.properties on restart
    int rc = kafka.tools.StorageTool.execute(
        new String[] {"format", "--config", args[0], "--cluster-id", args[1], "--ignore-formatted"},
        System.out);
    if (rc != 0) {
      System.err.println("storage format failed: " + rc);
      Runtime.getRuntime().halt(rc);
    }
    kafka.Kafka.main(new String[] {args[0]});
  }
}
