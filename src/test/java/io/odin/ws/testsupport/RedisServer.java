package io.odin.ws.testsupport;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
 * A real {@code redis-server} process on a free loopback port, without persistence ({@code --save ""
 * --appendonly no}), so a restart comes back empty. Tests kill it, restart it on the same port and read
 * {@code INFO commandstats} to count what the gateway really sent. The binary is {@code redis-server} from the
 * PATH (Debian's package; .ci/run installs it), or {@code $REDIS_SERVER}.
 */
public final class RedisServer implements AutoCloseable {

  public final int port;
  private final Path dir;
  private final List<String> extraArgs;
  private final String sentinelConf;
  private Process process;

  private RedisServer(int port, List<String> extraArgs, String sentinelConf) {
    this.port = port;
    this.extraArgs = extraArgs;
    this.sentinelConf = sentinelConf;
    try {
      this.dir = Files.createTempDirectory("odin-redis-" + port);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts a server on a free port. */
  public static RedisServer start(String... extraArgs) {
    RedisServer server = new RedisServer(Ports.free(), List.of(extraArgs), null);
    server.launch();
    return server;
  }

  /** Starts a Redis Cluster node on a port whose cluster bus port (+ 10000) is free too. */
  public static RedisServer clusterNode(String... extraArgs) {
    RedisServer server = new RedisServer(Ports.freeRange(1, 10_000), List.of(extraArgs), null);
    server.launch();
    return server;
  }

  /** Starts a replica of {@code master}. */
  public static RedisServer replicaOf(RedisServer master) {
    return start("--replicaof", "127.0.0.1", String.valueOf(master.port));
  }

  /**
   * Starts a Sentinel ({@code redis-server --sentinel}) watching {@code master} as {@code masterName}, quorum 1,
   * declaring it down after one second.
   */
  public static RedisServer sentinel(RedisServer master, String masterName) {
    int port = Ports.free();
    String conf = "port " + port + "\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\n"
      + "sentinel monitor " + masterName + " 127.0.0.1 " + master.port + " 1\n"
      + "sentinel down-after-milliseconds " + masterName + " 1000\n"
      + "sentinel failover-timeout " + masterName + " 5000\n"
      + "sentinel parallel-syncs " + masterName + " 1\n";
    RedisServer server = new RedisServer(port, List.of(), conf);
    server.launch();
    return server;
  }

  /** The binary to run. */
  public static String binary() {
    String env = System.getenv("REDIS_SERVER");
    if (env != null && !env.isBlank()) {
      return env;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      File f = new File(dir, "redis-server");
      if (f.canExecute()) {
        return f.getPath();
      }
    }
    if (new File("/usr/bin/redis-server").canExecute()) {
      return "/usr/bin/redis-server";
    }
    throw new IllegalStateException("redis-server not found: install it (apt-get install redis-server; .ci/run does)"
      + " or point REDIS_SERVER at the binary");
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Starts the process (again, after {@link #kill()} or {@link #stop()}: same port, empty data). */
  public synchronized void launch() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("redis-server on " + port + " is running");
    }
    List<String> cmd;
    if (sentinelConf != null) {
      Path conf = dir.resolve("sentinel.conf");
      try {
        Files.writeString(conf, sentinelConf + "dir " + dir + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      cmd = List.of(binary(), conf.toString(), "--sentinel");
    } else {
      cmd = new ArrayList<>(List.of(binary(), "--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--daemonize", "no",
        "--protected-mode", "no", "--logfile", "", "--loglevel", "warning"));
      cmd.addAll(extraArgs);
    }
    try {
      process = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
        .start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start " + cmd, e);
    }
    await("redis-server on port " + port).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
      .ignoreExceptions().until(() -> "PONG".equals(command("PING")));
  }

  /** SIGKILL: no goodbye to clients; the data is gone. */
  public synchronized void kill() {
    if (process != null) {
      process.destroyForcibly();
      waitFor();
    }
  }

  /** SIGTERM: a clean shutdown (nothing is saved). */
  public synchronized void stop() {
    if (process != null) {
      process.destroy();
      waitFor();
    }
  }

  /** Kills the server and starts an empty one on the same port. */
  public void restartEmpty() {
    kill();
    launch();
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  private void waitFor() {
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends one command over a fresh connection and returns the reply: String, Long, List, null; errors throw. */
  public Object command(String... args) {
    return commandAt(port, args);
  }

  /** {@link #command} to whatever Redis listens on {@code port} of loopback. */
  public static Object commandAt(int port, String... args) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      ByteArrayOutputStream req = new ByteArrayOutputStream();
      req.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
      for (String a : args) {
        byte[] b = a.getBytes(StandardCharsets.UTF_8);
        req.write(("$" + b.length + "\r\n").getBytes(StandardCharsets.UTF_8));
        req.write(b);
        req.write("\r\n".getBytes(StandardCharsets.UTF_8));
      }
      out.write(req.toByteArray());
      out.flush();
      return read(new BufferedInputStream(s.getInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object read(InputStream in) throws IOException {
    int type = in.read();
    String line = line(in);
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new IllegalStateException("Redis error: " + line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        byte[] b = in.readNBytes(n + 2);
        return new String(b, 0, n, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          items.add(read(in));
        }
        return items;
      }
      default:
        throw new IOException("unexpected RESP type " + (char) type);
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\r') {
        in.read();
        break;
      }
      sb.append((char) c);
    }
    return sb.toString();
  }

  /**
   * {@code MONITOR} on a connection of its own, from now until {@link Monitor#close()}: every command Redis runs,
   * including those a script calls. Commands sent before this returns are not seen.
   */
  public Monitor monitor() {
    return new Monitor();
  }

  /** Lines of {@code MONITOR}, e.g. {@code 1700000000.1 [0 127.0.0.1:5000] "EVALSHA" "ab12" "3" "key"}. */
  public final class Monitor implements AutoCloseable {
    private final Socket socket = new Socket();
    private final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Thread reader;

    Monitor() {
      try {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        OutputStream out = socket.getOutputStream();
        out.write("*1\r\n$7\r\nMONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = new BufferedInputStream(socket.getInputStream());
        if (in.read() != '+' || !line(in).equals("OK")) {
          throw new IOException("MONITOR refused");
        }
        reader = new Thread(() -> {
          try {
            int type;
            while ((type = in.read()) != -1) {
              String l = line(in);
              if (type == '+') {
                lines.add(l);
              }
            }
          } catch (IOException closed) {
            // the monitor was closed
          }
        }, "redis-monitor-" + port);
        reader.setDaemon(true);
        reader.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Commands named {@code command} (as clients sent it, not from scripts) with an argument containing {@code part}. */
    public long count(String command, String part) {
      synchronized (lines) {
        return lines.stream()
          .filter(l -> !l.contains(" lua] ") && l.toUpperCase().contains("] \"" + command.toUpperCase() + "\"")
            && l.contains(part))
          .count();
      }
    }

    public List<String> lines() {
      synchronized (lines) {
        return new ArrayList<>(lines);
      }
    }

    @Override
    public void close() {
      try {
        socket.close();
        reader.join(5000);
      } catch (IOException | InterruptedException ignored) {
        // closing
      }
    }
  }

  /** {@code INFO commandstats}: calls per command, e.g. {@code evalsha_ro -> 12}. */
  public Map<String, Long> commandCalls() {
    Map<String, Long> calls = new HashMap<>();
    for (String l : String.valueOf(command("INFO", "commandstats")).split("\r\n")) {
      if (l.startsWith("cmdstat_")) {
        String name = l.substring("cmdstat_".length(), l.indexOf(':'));
        for (String kv : l.substring(l.indexOf(':') + 1).split(",")) {
          if (kv.startsWith("calls=")) {
            calls.put(name, Long.parseLong(kv.substring("calls=".length())));
          }
        }
      }
    }
    return calls;
  }

  /** Calls of one command since start or the last {@link #resetStats()}. */
  public long calls(String command) {
    return commandCalls().getOrDefault(command.toLowerCase(), 0L);
  }

  public void resetStats() {
    command("CONFIG", "RESETSTAT");
  }

  @SuppressWarnings("unchecked")
  public List<String> keys(String pattern) {
    return (List<String>) command("KEYS", pattern);
  }

  /** Kills the server and deletes its directory. */
  @Override
  public void close() {
    kill();
    try (var files = Files.walk(dir)) {
      files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind
    }
  }
}
