package io.odin.ws.loadtest.churn;

import io.odin.ws.loadtest.LoadTestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Membership changes on a local cluster ({@code scripts/cluster-local}), one every {@code --interval}, in the order of
 * {@link ChurnSchedule}, and how long each takes to reach the other nodes: polling every node's {@code /health} every
 * 100 ms, the time from the change (the signal sent, the start command run) until every live node's Hazelcast counts
 * the new membership ("membership"), until every live node's shard directory routes to exactly the live nodes
 * ("routing"), and until the Kafka group's partitions are all held again ("kafka"). A join also has the time until the
 * new node answers {@code /health/ready}. Nodes leave by their PID (target/cluster-local/node-I.pid); they come back
 * through the start command, which starts the nodes that are not running.
 * <pre>
 * java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.churn.ClusterChurn --nodes 8 --http-port 3004 \
 *   --dir target/cluster-local --start "scripts/cluster-local start 8" --interval 30s --duration 10m \
 *   --partitions 12 --report target/churn/churn.json
 * </pre>
 * Exit status 0, or 1 when a change did not reach every node within {@code --settle-timeout}.
 */
public final class ClusterChurn {

  static final long POLL_MILLIS = 100;

  private final int nodes;
  private final int httpPort;
  private final int httpStep;
  private final Path dir;
  private final List<String> startCommand;
  private final long intervalMillis;
  private final int count;
  private final long settleMillis;
  private final int partitions;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private final Set<Integer> up = new LinkedHashSet<>();

  ClusterChurn(int nodes, int httpPort, int httpStep, Path dir, List<String> startCommand, long intervalMillis,
               int count, long settleMillis, int partitions) {
    this.nodes = nodes;
    this.httpPort = httpPort;
    this.httpStep = httpStep;
    this.dir = dir;
    this.startCommand = startCommand;
    this.intervalMillis = intervalMillis;
    this.count = count;
    this.settleMillis = settleMillis;
    this.partitions = partitions;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i], args[i + 1]);
    }
    if (args.length % 2 != 0 || !o.containsKey("--nodes") || !o.containsKey("--start")) {
      System.err.println("usage: ClusterChurn --nodes N --start COMMAND [--http-port 3004] [--http-step 10]"
        + " [--dir target/cluster-local] [--interval 30s] [--duration 10m | --actions N] [--settle-timeout 60s]"
        + " [--partitions N (0: no Kafka)] [--report FILE]");
      System.exit(2);
    }
    int nodes = Integer.parseInt(o.get("--nodes"));
    long interval = LoadTestOptions.durationMillis("--interval", o.getOrDefault("--interval", "30s"));
    int count = o.containsKey("--actions") ? Integer.parseInt(o.get("--actions"))
      : (int) (LoadTestOptions.durationMillis("--duration", o.getOrDefault("--duration", "10m")) / interval);
    ClusterChurn churn = new ClusterChurn(nodes, Integer.parseInt(o.getOrDefault("--http-port", "3004")),
      Integer.parseInt(o.getOrDefault("--http-step", "10")), Path.of(o.getOrDefault("--dir", "target/cluster-local")),
      Arrays.asList(o.get("--start").trim().split("\\s+")), interval, count,
      LoadTestOptions.durationMillis("--settle-timeout", o.getOrDefault("--settle-timeout", "60s")),
      Integer.parseInt(o.getOrDefault("--partitions", "0")));
    JsonObject report = churn.run();
    String text = summary(report);
    System.out.print(text);
    if (o.containsKey("--report")) {
      Path file = Path.of(o.get("--report"));
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, report.encodePrettily() + "\n", StandardCharsets.UTF_8);
    }
    System.exit(report.getBoolean("allSettled") ? 0 : 1);
  }

  JsonObject run() throws Exception {
    for (int i = 0; i < nodes; i++) {
      up.add(i);
    }
    // every node answers, and routes to every node, before the first change
    Set<String> all = liveNames();
    long waitUntil = System.nanoTime() + settleMillis * 1_000_000L;
    while (true) {
      Map<Integer, MembershipView> views = poll(up);
      List<Integer> notYet = new ArrayList<>();
      for (int i : up) {
        if (views.get(i) == null || !views.get(i).routesExactly(all)) {
          notYet.add(i);
        }
      }
      if (notYet.isEmpty()) {
        break;
      }
      if (System.nanoTime() > waitUntil) {
        throw new IllegalStateException("nodes " + notYet + " do not answer /health (ports " + port(0) + " + "
          + httpStep + " x node) or do not route to every node yet: start the cluster first ("
          + String.join(" ", startCommand) + ")");
      }
      Thread.sleep(500);
    }
    JsonArray changes = new JsonArray();
    boolean allSettled = true;
    long start = System.nanoTime();
    List<ChurnSchedule.Action> schedule = ChurnSchedule.of(nodes, count);
    for (int k = 0; k < schedule.size(); k++) {
      long due = start + k * intervalMillis * 1_000_000L;
      long wait = (due - System.nanoTime()) / 1_000_000L;
      if (wait > 0) {
        Thread.sleep(wait);
      }
      ChurnSchedule.Action a = schedule.get(k);
      JsonObject change = a.kind() == ChurnSchedule.Kind.JOIN ? join(a.node()) : leave(a);
      change.put("at", (System.nanoTime() - start) / 1e9);
      allSettled &= change.getBoolean("settled");
      changes.add(change);
      System.err.println("churn: " + line(change));
    }
    return new JsonObject().put("nodes", nodes).put("intervalSeconds", intervalMillis / 1000.0)
      .put("partitions", partitions).put("changes", changes).put("allSettled", allSettled)
      .put("countersAtEnd", counters());
  }

  /** Counters that say how deliveries went (recoveries, unstored messages, drops, fallbacks), summed over the live nodes. */
  static final List<String> COUNTERS = List.of("odin_recovery_total", "odin_history_unstored_messages_total",
    "odin_history_gaps_total", "odin_messages_dropped_total", "odin_dispatch_total", "odin_redis_errors_total",
    "odin_kafka_records_total");

  private JsonObject counters() {
    Map<String, Double> sums = new java.util.TreeMap<>();
    for (int i : up) {
      try {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(i) + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        for (String line : body.split("\n")) {
          int space = line.lastIndexOf(' ');
          if (line.startsWith("#") || space < 0) {
            continue;
          }
          String series = line.substring(0, space);
          String name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
          if (COUNTERS.contains(name)) {
            sums.merge(series, Double.parseDouble(line.substring(space + 1)), Double::sum);
          }
        }
      } catch (IOException | RuntimeException e) {
        sums.merge("unreadable nodes", 1.0, Double::sum);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    JsonObject out = new JsonObject().put("nodes", new JsonArray(new ArrayList<>(up)));
    sums.forEach((k, v) -> {
      if (v != 0) {
        out.put(k, v);
      }
    });
    return out;
  }

  private JsonObject leave(ChurnSchedule.Action a) throws Exception {
    int node = a.node();
    if (!up.contains(node)) {
      return new JsonObject().put("change", a.label()).put("members", up.size()).put("settled", false)
        .put("error", "node-" + node + " was not up (it did not come back before)");
    }
    long pid = Long.parseLong(Files.readString(dir.resolve("node-" + node + ".pid")).trim());
    ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() ->
      new IllegalStateException("node-" + node + " (pid " + pid + ") is not running"));
    up.remove(node);
    long t0 = System.nanoTime();
    if (a.kind() == ChurnSchedule.Kind.DRAIN) {
      process.destroy();
    } else {
      process.destroyForcibly();
    }
    String gone = "node-" + node;
    Set<String> live = liveNames();
    JsonObject change = measure(a.label(), t0, up,
      (i, v) -> v.members() == up.size(),
      (i, v) -> !v.routes().containsKey(gone) && v.routesExactly(live),
      -1);
    process.onExit().get(60, TimeUnit.SECONDS);
    change.put("exitedMs", (System.nanoTime() - t0) / 1_000_000L);
    return change;
  }

  private JsonObject join(int node) throws Exception {
    // scripts/cluster-local starts the node with a new log: keep the one of the node that left
    Path log = dir.resolve("node-" + node + ".log");
    if (Files.exists(log)) {
      int k = 1;
      while (Files.exists(dir.resolve("node-" + node + ".log." + k))) {
        k++;
      }
      Files.move(log, dir.resolve("node-" + node + ".log." + k));
    }
    up.add(node);
    long t0 = System.nanoTime();
    Process starter = new ProcessBuilder(startCommand).redirectErrorStream(true)
      .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("churn-start.log").toFile())).start();
    Set<String> live = liveNames();
    JsonObject change = measure("join node-" + node, t0, up,
      (i, v) -> v.members() == up.size(),
      (i, v) -> v.routesExactly(live),
      node);
    if (!starter.waitFor(120, TimeUnit.SECONDS)) {
      starter.destroyForcibly();
      change.put("settled", false).put("error", "the start command did not finish in 120 s");
    } else if (starter.exitValue() != 0) {
      change.put("settled", false).put("error", "the start command exited " + starter.exitValue()
        + " (" + dir.resolve("churn-start.log") + ")");
    }
    if (!alive(node)) {
      // it did not come up: the next changes are measured without it
      up.remove(node);
    }
    return change;
  }

  /**
   * Polls the nodes of {@code live} until each satisfies both conditions (and, for a join, {@code joining} answers
   * ready), and the Kafka group holds every partition; the first time each was seen, in ms after {@code t0}.
   */
  private JsonObject measure(String label, long t0, Set<Integer> live, BiPredicate<Integer, MembershipView> membership,
                             BiPredicate<Integer, MembershipView> routing, int joining) throws Exception {
    Map<Integer, Long> membershipAt = new HashMap<>();
    Map<Integer, Long> routingAt = new HashMap<>();
    long readyAt = -1;
    long kafkaAt = partitions > 0 ? -1 : 0;
    long deadline = t0 + settleMillis * 1_000_000L;
    while (System.nanoTime() < deadline) {
      Map<Integer, MembershipView> views = poll(live);
      long now = (System.nanoTime() - t0) / 1_000_000L;
      int held = 0;
      boolean everyNodeAnswered = true;
      for (int i : live) {
        MembershipView v = views.get(i);
        if (v == null) {
          everyNodeAnswered = false;
          continue;
        }
        if (membership.test(i, v)) {
          membershipAt.putIfAbsent(i, now);
        }
        if (routing.test(i, v)) {
          routingAt.putIfAbsent(i, now);
        }
        held += Math.max(0, v.kafkaPartitions());
      }
      if (joining >= 0 && readyAt < 0 && views.get(joining) != null && ready(joining)) {
        readyAt = now;
      }
      if (kafkaAt < 0 && everyNodeAnswered && held == partitions
        && (joining < 0 || views.get(joining) != null && views.get(joining).kafkaPartitions() > 0)) {
        kafkaAt = now;
      }
      boolean done = membershipAt.keySet().containsAll(live) && routingAt.keySet().containsAll(live)
        && kafkaAt >= 0 && (joining < 0 || readyAt >= 0);
      if (done) {
        break;
      }
      Thread.sleep(POLL_MILLIS);
    }
    JsonObject out = new JsonObject().put("change", label).put("members", live.size());
    boolean settled = membershipAt.keySet().containsAll(live) && routingAt.keySet().containsAll(live) && kafkaAt >= 0
      && (joining < 0 || readyAt >= 0);
    if (joining >= 0) {
      out.put("readyMs", readyAt >= 0 ? readyAt : null);
    }
    out.put("membershipMs", membershipAt.keySet().containsAll(live) ? max(membershipAt) : null)
      .put("routingMs", routingAt.keySet().containsAll(live) ? max(routingAt) : null)
      .put("kafkaMs", partitions > 0 && kafkaAt >= 0 ? kafkaAt : null)
      .put("settled", settled);
    return out;
  }

  private boolean alive(int node) {
    try {
      long pid = Long.parseLong(Files.readString(dir.resolve("node-" + node + ".pid")).trim());
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  private boolean ready(int node) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(node) + "/health/ready"))
        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Every node's view, read at once; null for a node that did not answer within 2 seconds. */
  private Map<Integer, MembershipView> poll(Set<Integer> which) {
    Map<Integer, CompletableFuture<MembershipView>> pending = new HashMap<>();
    for (int i : which) {
      HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(i) + "/health"))
        .timeout(Duration.ofSeconds(2)).build();
      pending.put(i, http.sendAsync(r, HttpResponse.BodyHandlers.ofString())
        .thenApply(resp -> MembershipView.parse(resp.body())).exceptionally(e -> null));
    }
    Map<Integer, MembershipView> out = new HashMap<>();
    pending.forEach((i, f) -> out.put(i, f.join()));
    return out;
  }

  private Set<String> liveNames() {
    Set<String> names = new LinkedHashSet<>();
    for (int i : up) {
      names.add("node-" + i);
    }
    return names;
  }

  private int port(int node) {
    return httpPort + httpStep * node;
  }

  private static long max(Map<Integer, Long> at) {
    return at.values().stream().mapToLong(Long::longValue).max().orElse(-1);
  }

  static String line(JsonObject c) {
    return String.format(Locale.ROOT, "%-14s members %d: membership %s, routing %s, kafka %s%s%s", c.getString("change"),
      c.getInteger("members"), ms(c, "membershipMs"), ms(c, "routingMs"), ms(c, "kafkaMs"),
      c.containsKey("readyMs") ? ", ready " + ms(c, "readyMs") : "",
      c.getBoolean("settled") ? "" : "  NOT SETTLED" + (c.containsKey("error") ? " (" + c.getString("error") + ")" : ""));
  }

  private static String ms(JsonObject c, String key) {
    Long v = c.getLong(key);
    return v == null ? "-" : v + " ms";
  }

  /** Per kind of change: how many, and the median and largest time to membership, routing and Kafka. */
  static String summary(JsonObject report) {
    StringBuilder sb = new StringBuilder();
    JsonArray changes = report.getJsonArray("changes");
    for (int i = 0; i < changes.size(); i++) {
      sb.append(line(changes.getJsonObject(i))).append('\n');
    }
    sb.append(String.format(Locale.ROOT, "%-6s %5s %22s %22s %22s %22s%n", "change", "count", "membership p50/max ms",
      "routing p50/max ms", "kafka p50/max ms", "ready p50/max ms"));
    for (String kind : List.of("drain", "kill", "join")) {
      List<JsonObject> of = new ArrayList<>();
      for (int i = 0; i < changes.size(); i++) {
        if (changes.getJsonObject(i).getString("change").startsWith(kind + " ")) {
          of.add(changes.getJsonObject(i));
        }
      }
      if (of.isEmpty()) {
        continue;
      }
      sb.append(String.format(Locale.ROOT, "%-6s %5d %22s %22s %22s %22s%n", kind, of.size(), stats(of, "membershipMs"),
        stats(of, "routingMs"), stats(of, "kafkaMs"), kind.equals("join") ? stats(of, "readyMs") : "-"));
    }
    sb.append(report.getBoolean("allSettled") ? "every change reached every node\n"
      : "SOME CHANGES DID NOT REACH EVERY NODE within the settle timeout\n");
    JsonObject counters = report.getJsonObject("countersAtEnd");
    if (counters != null) {
      sb.append("counters of the nodes up at the end (since each one's start):\n");
      counters.forEach(e -> sb.append("  ").append(e.getKey()).append(' ').append(e.getValue()).append('\n'));
    }
    return sb.toString();
  }

  private static String stats(List<JsonObject> changes, String key) {
    List<Long> v = new ArrayList<>();
    for (JsonObject c : changes) {
      Long x = c.getLong(key);
      if (x != null) {
        v.add(x);
      }
    }
    if (v.isEmpty()) {
      return "-";
    }
    v.sort(Long::compare);
    return v.get((v.size() - 1) / 2) + " / " + v.get(v.size() - 1);
  }
}
