package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Connections held by a child JVM ({@link WorkerMain}), started with this process's class path, so the parent
 * stays small and each child keeps under the per-process open-file limit and binds its own source address.
 */
final class ChildFleet implements Fleet {

  private final Process process;
  private final Writer stdin;
  private final Thread reader;
  private final String name;
  private final FleetStats latest = new FleetStats();
  private FleetStats pendingHistograms = new FleetStats();
  private CompletableFuture<JsonObject> ack;
  private volatile boolean gone;

  ChildFleet(String name, List<String> jvmOptions, List<String> workerArgs) throws IOException {
    this.name = name;
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(LoadTest.class.getName());
    cmd.add("--worker");
    cmd.addAll(workerArgs);
    process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    reader = new Thread(this::read, "odin-lt-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  static List<String> split(String jvmOpts) {
    return jvmOpts == null || jvmOpts.isBlank() ? List.of() : Arrays.asList(jvmOpts.trim().split("\\s+"));
  }

  private void read() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.startsWith(Wire.PREFIX)) {
          continue;
        }
        JsonObject j = new JsonObject(line.substring(Wire.PREFIX.length()));
        String ev = j.getString("ev");
        if ("stats".equals(ev)) {
          synchronized (this) {
            FleetStats s = new FleetStats();
            Wire.readStats(j, s);
            copyCounters(s, latest);
            pendingHistograms.targeted.add(s.targeted);
            pendingHistograms.broadcast.add(s.broadcast);
            pendingHistograms.channel.add(s.channel);
            pendingHistograms.replayedLatency.add(s.replayedLatency);
          }
        } else if ("ack".equals(ev) || "bye".equals(ev)) {
          CompletableFuture<JsonObject> f;
          synchronized (this) {
            f = ack;
            ack = null;
          }
          if (f != null) {
            f.complete(j);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // the child is gone; close() reports it
    } finally {
      gone = true;
      CompletableFuture<JsonObject> f;
      synchronized (this) {
        f = ack;
        ack = null;
      }
      if (f != null) {
        f.completeExceptionally(new IllegalStateException("load-tool process " + name + " exited"));
      }
    }
  }

  private static void copyCounters(FleetStats from, FleetStats to) {
    to.planned = from.planned;
    to.opened = from.opened;
    to.failed = from.failed;
    to.connectErrors = from.connectErrors;
    to.closed = from.closed;
    to.reopened = from.reopened;
    to.reconnectErrors = from.reconnectErrors;
    to.rateLimited = from.rateLimited;
    to.recovered = from.recovered;
    to.notRecovered = from.notRecovered;
    to.replayed = from.replayed;
    to.received = from.received;
    to.foreign = from.foreign;
    to.otherFrames = from.otherFrames;
    to.rssKiB = from.rssKiB;
    to.cpuMillis = from.cpuMillis;
    to.rampDone = from.rampDone;
  }

  @Override
  public void start() {
    // the child starts ramping as soon as it is up
  }

  @Override
  public synchronized FleetStats poll() {
    FleetStats s = new FleetStats();
    copyCounters(latest, s);
    if (gone && !s.rampDone) {
      s.rampDone = true;
      s.failed = s.planned - s.opened;
    }
    s.targeted.add(pendingHistograms.targeted);
    s.broadcast.add(pendingHistograms.broadcast);
    s.channel.add(pendingHistograms.channel);
    s.replayedLatency.add(pendingHistograms.replayedLatency);
    pendingHistograms = new FleetStats();
    return s;
  }

  private JsonObject command(String cmd, long timeoutSeconds) {
    CompletableFuture<JsonObject> f = new CompletableFuture<>();
    synchronized (this) {
      if (gone) {
        throw new IllegalStateException("load-tool process " + name + " exited");
      }
      ack = f;
    }
    try {
      stdin.write(cmd + "\n");
      stdin.flush();
      return f.get(timeoutSeconds, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("load-tool process " + name + " did not answer '" + cmd + "': " + e, e);
    }
  }

  @Override
  public void flush() {
    if (!gone) {
      command("stats", 30);
    }
  }

  @Override
  public void offline(int permille, long millis, int salt) {
    if (!gone) {
      command("offline " + permille + " " + millis + " " + salt, 30);
    }
  }

  @Override
  public void churn(int permille, long maxAwayMillis, int salt) {
    if (!gone) {
      command("churn " + permille + " " + maxAwayMillis + " " + salt, 30);
    }
  }

  @Override
  public List<ConnectionRecord> receipts() {
    try {
      Path file = Files.createTempFile("odin-lt-" + name + "-", ".bin");
      try {
        command("receipts " + file, 120);
        return Wire.readReceipts(file);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new IllegalStateException("receipts of " + name + ": " + e, e);
    }
  }

  @Override
  public void close() {
    try {
      if (!gone) {
        command("exit", 60);
      }
    } catch (RuntimeException e) {
      // below
    }
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  long pid() {
    return process.pid();
  }
}
