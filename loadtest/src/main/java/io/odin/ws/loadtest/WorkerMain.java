package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A child process of the load tool: holds connections {@code [--from, --to)} bound to {@code --source-address},
 * reports stats every half second on stdout and answers the parent's commands on stdin:
 * {@code stats} (report now), {@code offline PERMILLE MILLIS SALT} (an offline spell), {@code churn PERMILLE
 * MAX_AWAY_MILLIS SALT} (connections coming and going, a storm), {@code receipts FILE} (write
 * what every connection received), {@code exit}.
 * It also exits when stdin closes, so it never outlives its parent.
 */
final class WorkerMain {

  private WorkerMain() {
  }

  static void run(String[] args) throws Exception {
    int from = -1;
    int to = -1;
    String source = null;
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--worker" -> { }
        case "--from" -> from = Integer.parseInt(args[++i]);
        case "--to" -> to = Integer.parseInt(args[++i]);
        case "--source-address" -> source = args[++i];
        default -> rest.add(args[i]);
      }
    }
    LoadTestOptions o = LoadTestOptions.parse(rest.toArray(new String[0]));
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    ClientFleet fleet = new ClientFleet(o.fleetSpec(from, to, source));
    Object lock = new Object();
    Runnable report = () -> {
      JsonObject j = Wire.stats(fleet.poll());
      synchronized (lock) {
        out.println(Wire.PREFIX + j.encode());
      }
    };
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "odin-lt-report");
      t.setDaemon(true);
      return t;
    });
    fleet.start();
    ticker.scheduleAtFixedRate(report, 500, 500, TimeUnit.MILLISECONDS);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.equals("stats")) {
        ticker.submit(report).get();
        reply(out, lock, new JsonObject().put("ev", "ack").put("cmd", "stats"));
      } else if (line.startsWith("offline ")) {
        String[] a = line.split(" ");
        fleet.offline(Integer.parseInt(a[1]), Long.parseLong(a[2]), Integer.parseInt(a[3]));
        reply(out, lock, new JsonObject().put("ev", "ack").put("cmd", "offline"));
      } else if (line.startsWith("churn ")) {
        String[] a = line.split(" ");
        fleet.churn(Integer.parseInt(a[1]), Long.parseLong(a[2]), Integer.parseInt(a[3]));
        reply(out, lock, new JsonObject().put("ev", "ack").put("cmd", "churn"));
      } else if (line.startsWith("receipts ")) {
        Path file = Path.of(line.substring("receipts ".length()));
        Wire.writeReceipts(fleet.receipts(), file);
        reply(out, lock, new JsonObject().put("ev", "ack").put("cmd", "receipts").put("path", file.toString()));
      } else if (line.equals("exit")) {
        break;
      }
    }
    ticker.shutdownNow();
    fleet.close();
    reply(out, lock, new JsonObject().put("ev", "bye"));
  }

  private static void reply(PrintStream out, Object lock, JsonObject j) {
    synchronized (lock) {
      out.println(Wire.PREFIX + j.encode());
    }
  }
}
