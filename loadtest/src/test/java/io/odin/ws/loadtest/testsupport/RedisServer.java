package io.odin.ws.loadtest.testsupport;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real {@code redis-server} on a free loopback port, without persistence: the part of the gateway's
 * testsupport.RedisServer the load tool's benchmarks need (the load tool's build depends on nothing of the
 * gateway). The binary is {@code redis-server} from the PATH, or {@code $REDIS_SERVER}.
 */
public final class RedisServer implements AutoCloseable {

  public final int port;
  private final Path dir;
  private final Process process;

  private RedisServer(int port, Path dir, Process process) {
    this.port = port;
    this.dir = dir;
    this.process = process;
  }

  public static RedisServer start() {
    int port = Ports.free();
    try {
      Path dir = Files.createTempDirectory("odin-lt-redis-" + port);
      Process p = new ProcessBuilder(List.of(binary(), "--port", String.valueOf(port), "--bind", "127.0.0.1",
          "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--daemonize", "no",
          "--protected-mode", "no", "--logfile", "", "--loglevel", "warning"))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
        .start();
      RedisServer server = new RedisServer(port, dir, p);
      await("redis-server on port " + port).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
        .ignoreExceptions().until(server::answersPing);
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String binary() {
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
    throw new IllegalStateException("redis-server not found: install it (apt-get install redis-server) or set REDIS_SERVER");
  }

  private boolean answersPing() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      s.setSoTimeout(2000);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] reply = s.getInputStream().readNBytes(7);
      return new String(reply, StandardCharsets.US_ASCII).equals("+PONG\r\n");
    }
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Kills the server and deletes its directory. */
  @Override
  public void close() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(20, TimeUnit.SECONDS);
    try (var files = Files.walk(dir)) {
      files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind
    }
  }
}
