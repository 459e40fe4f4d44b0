package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The odin-ws load tool: opens real WebSocket connections (here or in child processes bound to their own source
 * addresses), publishes at a fixed rate through HTTP or Kafka, measures end-to-end latency from the publish
 * timestamp in each message to its receipt, optionally verifies every delivery, and writes a JSON report and
 * an HTML chart. See {@link LoadTestOptions#USAGE} and docs/benchmarks.md.
 */
public final class LoadTest {

  /** A connection must have been open this long before a message was sent for it to be required to get it. */
  static final long SETTLE_MICROS = 100_000;

  private final LoadTestOptions o;
  private final TokenPlan plan;
  private final MessageLog log = new MessageLog();
  private final List<Fleet> fleets = new ArrayList<>();
  private final List<Long> childPids = new ArrayList<>();
  private final List<Sample> timeline = new ArrayList<>();
  private final Histogram targetedTotal = FleetStats.newHistogram();
  private final Histogram broadcastTotal = FleetStats.newHistogram();
  private final Histogram channelTotal = FleetStats.newHistogram();
  private final Histogram replayedTotal = FleetStats.newHistogram();
  /** The disruptions the run caused (node drains and kills, offline spells), as they happened. */
  private final List<ReconnectReport.Event> events = new java.util.concurrent.CopyOnWriteArrayList<>();
  private JsonObject reconnects;
  /** --storm: what each storm did to the clients that stayed (null without storms). */
  private StormWatch stormWatch;
  /** --window: live latency per window (null without). */
  private LiveWindows windows;
  private final List<String> problems = new ArrayList<>();
  private final PrintStream console;
  private final boolean terminal;
  private Publisher publisher;
  private Publisher.Sink preparedSink;
  private volatile String phase = "start";
  private volatile FleetStats totals = new FleetStats();
  private long startNanos;
  private long startEpochMillis;
  private long lastSampleNanos;
  private long lastReceived;
  private long lastSent;
  private long lastServerCpu = -1;
  private long lastServerSys = -1;
  private double serverSysSum;
  private double serverCpuSum;
  private double toolCpuSum;
  private double otherCpuSum;
  private double measuredSeconds;
  private long lastMachineBusy = -1;
  private long lastToolCpu = -1;
  private long maxOpen;
  private long lastProgressPrint;
  private long publishStartNanos;
  private long publishEndNanos;
  private volatile long measureStartNanos;
  private final NodeMetrics nodeMetrics;
  private volatile List<NodeMetrics.Snapshot> nodesAtMeasureStart;
  private List<NodeMetrics.Snapshot> nodesAtMeasureEnd;
  private long lastDeliveryNanos;
  private long receivedAtPublishStart;
  private double loadAverageAtStart;

  public LoadTest(LoadTestOptions options) {
    this.o = options.check();
    this.plan = o.tokenPlan();
    this.console = System.err;
    this.terminal = System.console() != null;
    this.nodeMetrics = o.nodeMetrics.isEmpty() ? null : new NodeMetrics(o.nodeMetrics);
  }

  public static void main(String[] args) throws Exception {
    quietLogging();
    if (args.length > 0 && args[0].equals("--worker")) {
      WorkerMain.run(args);
      System.exit(0);
    }
    LoadTestOptions options;
    try {
      options = LoadTestOptions.parse(args);
    } catch (LoadTestOptions.UsageException e) {
      if (e.getMessage() != null) {
        System.err.println("loadtest: " + e.getMessage());
      }
      System.err.println(LoadTestOptions.USAGE);
      System.exit(e.getMessage() == null ? 0 : 2);
      return;
    }
    LoadReport report;
    try {
      report = new LoadTest(options).run();
    } catch (LoadTestOptions.UsageException e) {
      System.err.println("loadtest: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.out.println(report.summary());
    System.exit(report.exitCode());
  }

  /** Keeps Vert.x, Netty and Kafka quiet unless something is wrong: the progress line owns the terminal. */
  static void quietLogging() {
    try {
      org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
      if (root instanceof ch.qos.logback.classic.Logger) {
        ((ch.qos.logback.classic.Logger) root).setLevel(ch.qos.logback.classic.Level.WARN);
      }
    } catch (RuntimeException | LinkageError e) {
      // another logging backend: leave it alone
    }
  }

  /** Runs the whole test and returns its report (also written to --report / --chart when given). */
  public LoadReport run() {
    startNanos = System.nanoTime();
    startEpochMillis = System.currentTimeMillis();
    lastSampleNanos = startNanos;
    loadAverageAtStart = ProcStats.loadAverage();
    long serverRssBefore = serverRss();
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "odin-lt-sampler");
      t.setDaemon(true);
      return t;
    });
    long serverRssAfterRamp = -1;
    long serverRssEnd = -1;
    long rampMillis = 0;
    RoutingVerifier.Result verification = null;
    long expectedDeliveries = 0;
    try {
      if (o.publish == LoadTestOptions.PublishMode.KAFKA && o.rate > 0 && o.connections > 0) {
        // ready before the ramp: the producer's connection and metadata are not part of the first messages' latency
        preparedSink = sink();
      }
      startFleets();
      ticker.scheduleAtFixedRate(this::sampleQuietly, 1000, 1000, TimeUnit.MILLISECONDS);
      phase = "ramp";
      long rampTimeout = o.rampTimeoutMillis > 0 ? o.rampTimeoutMillis
        : (long) (3 * o.connections * 1000.0 / o.ramp) + 60_000;
      if (!waitUntil(() -> totals.rampDone && totals.planned >= o.connections, rampTimeout)) {
        problems.add("ramp did not finish within " + rampTimeout / 1000 + " s");
      }
      rampMillis = (System.nanoTime() - startNanos) / 1_000_000;
      serverRssAfterRamp = serverRss();
      if (totals.opened < o.connections) {
        problems.add((o.connections - totals.opened) + " of " + o.connections + " connections did not open ("
          + totals.connectErrors + " failed attempts)");
      }
      phase = "publish";
      publishStartNanos = System.nanoTime();
      measureStartNanos = publishStartNanos;
      receivedAtPublishStart = totals.received;
      readNodesAtMeasureStart();
      synchronized (this) {
        stormWatch = o.storms.isEmpty() ? null : new StormWatch();
        windows = o.windowMillis > 0 ? new LiveWindows(o.windowMillis, publishStartNanos) : null;
      }
      scheduleDisruptions(ticker);
      if (o.publish == LoadTestOptions.PublishMode.NONE || o.connections == 0 && o.rate == 0) {
        long end = System.nanoTime() + o.durationMillis * 1_000_000L;
        waitUntil(() -> System.nanoTime() >= end, o.durationMillis + 1000);
        publishEndNanos = System.nanoTime();
        readNodesAtMeasureEnd();
        serverRssEnd = serverRss();
      } else {
        publisher = new Publisher(o, plan, log, preparedSink != null ? preparedSink : sink());
        preparedSink = null;
        if (o.warmupMillis > 0) {
          phase = "warmup";
          ticker.schedule(() -> {
            // close the warm-up's books, then measure
            sampleQuietly();
            measureStartNanos = System.nanoTime();
            receivedAtPublishStart = totals.received;
            readNodesAtMeasureStart();
            phase = "publish";
          }, o.warmupMillis, TimeUnit.MILLISECONDS);
        }
        List<LoadTestOptions.Phase> phases = o.publishPhases();
        publisher.run(phases, i -> {
          if (!o.phases.isEmpty()) {
            switchPhase(i, phases);
          }
        });
        publishEndNanos = System.nanoTime();
        readNodesAtMeasureEnd();
        phase = "drain";
        long drainEnd = System.nanoTime() + o.drainMillis * 1_000_000L;
        // what is still unanswered then is counted by the outcome (RunOutcome: publishes unanswered)
        publisher.awaitAnswers(o.drainMillis);
        // after a disruption every connection is owed every broadcast (back with a cursor, it gets what it missed;
        // without one, or not back, what it missed is lost and counted so), and the drain waits until all are back:
        // a count of deliveries reached while some are still reconnecting says nothing about those
        boolean disrupted = disrupted();
        expectedDeliveries = expectedDeliveries(disrupted ? o.connections : totals.open());
        long expected = expectedDeliveries;
        long[] quiet = {totals.received, System.nanoTime()};
        waitUntil(() -> {
          FleetStats t = totals;
          if (t.received != quiet[0]) {
            quiet[0] = t.received;
            quiet[1] = System.nanoTime();
          }
          return drained(t, expected, disrupted ? o.connections : 0, System.nanoTime() - quiet[1],
            o.publish != LoadTestOptions.PublishMode.KAFKA)
            || System.nanoTime() > drainEnd;
        }, o.drainMillis + 1000);
        serverRssEnd = serverRss();
      }
      // the last sample is the report's: no periodic one after it (the clients go on reconnecting while the
      // receipts are taken and verified, and the counters must describe the receipts)
      ticker.shutdownNow();
      phase = "done";
      for (Fleet f : fleets) {
        f.flush();
      }
      sample();
      boolean disrupted = disrupted();
      if (o.verifyRouting || disrupted) {
        List<ConnectionRecord> records = new ArrayList<>();
        for (Fleet f : fleets) {
          records.addAll(f.receipts());
        }
        if (disrupted) {
          reconnects = ReconnectReport.of(records, events);
        }
        if (o.verifyRouting) {
          // the publish API answers once a request's messages are dispatched: what it answered came first
          verification = new RoutingVerifier(log, plan, SETTLE_MICROS, o.drainMillis * 1000L)
            .checkOrder(o.publish == LoadTestOptions.PublishMode.HTTP).verify(records);
        }
      }
    } finally {
      ticker.shutdownNow();
      if (publisher != null) {
        publisher.close();
      }
      if (preparedSink != null) {
        preparedSink.close();
      }
      for (Fleet f : fleets) {
        try {
          f.close();
        } catch (RuntimeException e) {
          problems.add("closing a fleet: " + e.getMessage());
        }
      }
      if (terminal && !o.quiet) {
        console.println();
      }
    }
    LoadReport report = report(serverRssBefore, serverRssAfterRamp, serverRssEnd, rampMillis, expectedDeliveries,
      verification);
    report.write(o.report, o.chart);
    return report;
  }

  /** Drains and kills nodes and starts offline spells at their times after publishing began. */
  private void scheduleDisruptions(ScheduledExecutorService ticker) {
    for (LoadTestOptions.NodeEvent e : o.nodeEvents) {
      ticker.schedule(() -> {
        String what = (e.kind() == LoadTestOptions.NodeEvent.Kind.DRAIN ? "drain" : "kill") + " node " + e.pid();
        java.util.Optional<ProcessHandle> node = ProcessHandle.of(e.pid());
        if (node.isEmpty() || !node.get().isAlive()) {
          problems.add(what + " at " + e.atMillis() / 1000.0 + " s: no such process");
          return;
        }
        events.add(new ReconnectReport.Event(what, MicroClock.nowMicros(), secondsSincePublishStart()));
        // SIGTERM (the node drains: its clients get 1001) or SIGKILL (they see the TCP connection end: 1006)
        boolean sent = e.kind() == LoadTestOptions.NodeEvent.Kind.DRAIN ? node.get().destroy() : node.get().destroyForcibly();
        if (!sent) {
          problems.add(what + ": the signal could not be sent");
        }
      }, e.atMillis(), TimeUnit.MILLISECONDS);
    }
    for (int i = 0; i < o.offline.size(); i++) {
      LoadTestOptions.OfflineSpell spell = o.offline.get(i);
      int salt = i;
      ticker.schedule(() -> {
        events.add(new ReconnectReport.Event(String.format(Locale.ROOT, "offline spell: %.1f%% of the connections for %.1f s",
          spell.permille() / 10.0, spell.forMillis() / 1000.0), MicroClock.nowMicros(), secondsSincePublishStart()));
        for (Fleet f : fleets) {
          try {
            f.offline(spell.permille(), spell.forMillis(), salt);
          } catch (RuntimeException ex) {
            problems.add("offline spell: " + ex.getMessage());
          }
        }
      }, spell.atMillis(), TimeUnit.MILLISECONDS);
    }
    scheduleChurnAndStorms(ticker);
  }

  /**
   * --churn: every second while publishing, a share of the connections leave and come back; --storm: at its time, many
   * at once, all back within its spread. Each second's churn takes other connections (its salt).
   */
  private void scheduleChurnAndStorms(ScheduledExecutorService ticker) {
    if (o.churn != null) {
      int[] second = {0};
      ticker.scheduleAtFixedRate(() -> {
        String now = phase;
        if (!now.equals("publish") && !now.equals("warmup")) {
          return;
        }
        int salt = 1_000_000 + second[0]++;
        for (Fleet f : fleets) {
          try {
            f.churn(o.churn.permille(), o.churn.maxAwayMillis(), salt);
          } catch (RuntimeException ex) {
            problems.add("churn: " + ex.getMessage());
          }
        }
      }, 1000, 1000, TimeUnit.MILLISECONDS);
    }
    for (int i = 0; i < o.storms.size(); i++) {
      LoadTestOptions.Storm storm = o.storms.get(i);
      int salt = 2_000_000 + i;
      ticker.schedule(() -> {
        int permille = storm.permille(o.connections);
        String what = String.format(Locale.ROOT, "storm: %.1f%% of the connections back within %.1f s", permille / 10.0,
          storm.spreadMillis() / 1000.0);
        events.add(new ReconnectReport.Event(what, MicroClock.nowMicros(), secondsSincePublishStart()));
        synchronized (this) {
          FleetStats t = totals;
          stormWatch.begin(what, System.nanoTime(), secondsSincePublishStart(), t.closed, t.reopened, t.rateLimited);
        }
        for (Fleet f : fleets) {
          try {
            f.churn(permille, storm.spreadMillis(), salt);
          } catch (RuntimeException ex) {
            problems.add("storm: " + ex.getMessage());
          }
        }
      }, storm.atMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private double secondsSincePublishStart() {
    return (System.nanoTime() - publishStartNanos) / 1e9;
  }

  /** What was seen while one --phases phase ran (deliveries and latency by arrival time). */
  private static final class PhaseStats {
    final LoadTestOptions.Phase phase;
    final Histogram latency = FleetStats.newHistogram();
    long startNanos;
    long endNanos;
    long receivedAtStart;
    long receivedAtEnd;
    long sentAtStart;
    long sentAtEnd;
    Histogram ackAtStart;
    Histogram ackAtEnd;

    PhaseStats(LoadTestOptions.Phase phase) {
      this.phase = phase;
    }
  }

  private final List<PhaseStats> phaseStats = new ArrayList<>();
  /** Index into phaseStats of the phase whose deliveries are being counted; -1 before the first. */
  private volatile int currentPhase = -1;

  /** Closes the books of the phase that ends and opens those of phase {@code index} (= size: all done). */
  private void switchPhase(int index, List<LoadTestOptions.Phase> phases) {
    sampleQuietly();
    long now = System.nanoTime();
    FleetStats t = totals;
    long sent = publisher.sent();
    Histogram ack = publisher.ackLatency();
    synchronized (this) {
      if (currentPhase >= 0) {
        PhaseStats done = phaseStats.get(currentPhase);
        done.endNanos = now;
        done.receivedAtEnd = t.received;
        done.sentAtEnd = sent;
        done.ackAtEnd = ack;
      }
      if (index < phases.size()) {
        PhaseStats next = new PhaseStats(phases.get(index));
        next.startNanos = now;
        next.receivedAtStart = t.received;
        next.sentAtStart = sent;
        next.ackAtStart = ack;
        phaseStats.add(next);
        currentPhase = index;
      }
      // after the last phase, the drain's deliveries still count towards it (its backlog's latency)
    }
  }

  private JsonArray phasesReport() {
    JsonArray out = new JsonArray();
    for (PhaseStats p : phaseStats) {
      double seconds = Math.max(1e-9, (p.endNanos - p.startNanos) / 1e9);
      long delivered = p.receivedAtEnd - p.receivedAtStart;
      Histogram ack = p.ackAtEnd.copy();
      ack.subtract(p.ackAtStart);
      out.add(new JsonObject()
        .put("rate", p.phase.rate())
        .put("seconds", Sample.round(seconds, 2))
        .put("sent", p.sentAtEnd - p.sentAtStart)
        .put("sentPerSecond", Sample.round((p.sentAtEnd - p.sentAtStart) / seconds, 1))
        .put("delivered", delivered)
        .put("deliveredPerSecond", Sample.round(delivered / seconds, 1))
        .put("latencyMs", latency(p.latency))
        // from publishing to the broker's (or the API's) answer: the producer's share of the latency
        .put("ackLatencyMs", latency(ack))
        // percent of one core while the phase ran: did it measure the server, or a machine with no CPU left?
        .put("cpuPct", CpuShares.over(timeline, (p.startNanos - startNanos) / 1e9, (p.endNanos - startNanos) / 1e9)
          .toJson()));
    }
    return out;
  }

  private void startFleets() {
    long limit = ProcStats.maxOpenFiles();
    int perProcess = (o.connections + o.processes - 1) / o.processes;
    if (limit > 0 && perProcess > limit - 300) {
      throw new LoadTestOptions.UsageException(perProcess + " connections per process exceed the open-file limit of "
        + limit + " (minus ~300 for the JVM): use --processes " + (int) Math.ceil(o.connections / (double) (limit - 300)));
    }
    if (o.processes == 1) {
      fleets.add(new ClientFleet(o.fleetSpec(0, o.connections, o.sourceAddress(0))));
    } else {
      if (o.sourceAddresses.isEmpty()) {
        o.sourceAddresses.add("auto");
      }
      int base = o.connections / o.processes;
      int extra = o.connections % o.processes;
      int from = 0;
      for (int i = 0; i < o.processes; i++) {
        int to = from + base + (i < extra ? 1 : 0);
        List<String> args = workerArgs(from, to, o.sourceAddress(i));
        try {
          ChildFleet child = new ChildFleet("p" + i, ChildFleet.split(o.workerJvmOpts), args);
          fleets.add(child);
          childPids.add(child.pid());
        } catch (IOException e) {
          throw new IllegalStateException("could not start a load-tool process: " + e.getMessage(), e);
        }
        from = to;
      }
    }
    for (Fleet f : fleets) {
      f.start();
    }
  }

  private List<String> workerArgs(int from, int to, String source) {
    List<String> a = new ArrayList<>(List.of(
      "--from", Integer.toString(from), "--to", Integer.toString(to),
      "--url", o.url, "--connections", Integer.toString(o.connections),
      "--tokens", Integer.toString(o.tokens), "--token-prefix", o.tokenPrefix,
      "--channels", Integer.toString(o.channels), "--channel-prefix", o.channelPrefix,
      "--ramp", Integer.toString(Math.max(1, o.ramp / o.processes)),
      "--connect-timeout", o.connectTimeoutMillis + "ms",
      "--max-pending-handshakes", Integer.toString(o.maxPendingHandshakes),
      "--run-id", o.runId, "--event-loops", Integer.toString(o.eventLoops), "--rate", "0"));
    if (source != null) {
      a.add("--source-address");
      a.add(source);
    }
    if (o.channelSizeLo > 0) {
      a.add("--channel-sizes");
      a.add(o.channelSizeLo + "-" + o.channelSizeHi);
    }
    if (o.verifyRouting) {
      a.add("--verify-routing");
    }
    if (o.jwtSecret != null) {
      a.add("--jwt-secret");
      a.add(o.jwtSecret);
    }
    if (o.reconnect) {
      a.add(o.reconnectWithCursor ? "--reconnect-with-cursor" : "--reconnect");
      a.addAll(List.of("--reconnect-delay", o.reconnectDelayMillis + "ms",
        "--reconnect-jitter", o.reconnectJitterMillis + "ms"));
    }
    if (o.failoverUrl != null) {
      a.addAll(List.of("--failover-url", o.failoverUrl));
    }
    return a;
  }

  private Publisher.Sink sink() {
    return switch (o.publish) {
      case HTTP -> new HttpSink(o.publishUri(), o.httpConnections);
      case KAFKA -> KafkaSink.create(o.kafkaBootstrap, o.topic, o.kafkaAcks);
      case NONE -> throw new IllegalStateException("nothing to publish");
    };
  }

  /** Nothing more to wait for after a drain this long without a delivery. */
  static final long QUIET_NANOS = 2_500_000_000L;

  /**
   * The drain is over: every expected delivery arrived ({@code countEnds}), or none for {@link #QUIET_NANOS}; but not
   * while fewer than {@code mustBeOpen} connections are open (after a disruption: until all are back, what they are
   * owed is still on its way, in replays or as live messages). Through Kafka the count does not end it: records a
   * node read and did not commit before it went are read again by the partition's next owner (at-least-once), and
   * those redeliveries reach the count while the last messages are still on their way (an eight-node churn run
   * stopped 0.9 s after its last broadcast and reported it missing at 177 connections).
   */
  static boolean drained(FleetStats t, long expected, long mustBeOpen, long quietNanos, boolean countEnds) {
    return t.open() >= mustBeOpen && ((countEnds && t.received >= expected) || quietNanos > QUIET_NANOS);
  }

  /** Connections may close and come back during the run: reconnects, offline spells, nodes drained or killed. */
  private boolean disrupted() {
    return o.reconnect || !o.offline.isEmpty() || !o.nodeEvents.isEmpty() || o.churn != null || !o.storms.isEmpty();
  }

  /**
   * Deliveries due: each accepted targeted message once per planned connection of its tokens, each broadcast once
   * per connection of {@code open}.
   */
  private long expectedDeliveries(long open) {
    long n = 0;
    for (int seq = 0, size = log.size(); seq < size; seq++) {
      if (log.status(seq) != MessageLog.Status.ACCEPTED) {
        continue;
      }
      if (log.isBroadcast(seq)) {
        n += open;
      } else if (log.channel(seq) >= 0) {
        n += plan.subscribersOf(log.channel(seq));
      } else {
        for (int t : log.tokens(seq)) {
          n += plan.connectionsOf(t);
        }
      }
    }
    return n;
  }

  private boolean waitUntil(BooleanSupplier condition, long timeoutMillis) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(20_000_000);
    }
    return true;
  }

  private void readNodesAtMeasureStart() {
    if (nodeMetrics != null) {
      nodesAtMeasureStart = nodeMetrics.read();
    }
  }

  private void readNodesAtMeasureEnd() {
    if (nodeMetrics != null) {
      nodesAtMeasureEnd = nodeMetrics.read();
    }
  }

  private long serverRss() {
    if (o.serverPid <= 0) {
      return -1;
    }
    if (o.serverGc) {
      try {
        Process p = new ProcessBuilder("jcmd", Integer.toString(o.serverPid), "GC.run")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (IOException e) {
        problems.add("jcmd GC.run failed: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return ProcStats.rssKiB(o.serverPid);
  }

  private void sampleQuietly() {
    try {
      sample();
    } catch (RuntimeException e) {
      problems.add("sampling: " + e);
    }
  }

  /** Polls every fleet, appends a timeline point and refreshes the progress line. */
  private synchronized void sample() {
    long now = System.nanoTime();
    double dt = Math.max(1e-3, (now - lastSampleNanos) / 1e9);
    lastSampleNanos = now;
    FleetStats t = new FleetStats();
    boolean rampDone = true;
    for (Fleet f : fleets) {
      FleetStats s = f.poll();
      rampDone &= s.rampDone;
      t.add(s);
    }
    t.rampDone = rampDone;
    if (!phase.equals("warmup")) {
      targetedTotal.add(t.targeted);
      broadcastTotal.add(t.broadcast);
      channelTotal.add(t.channel);
    }
    replayedTotal.add(t.replayedLatency);
    int current = currentPhase;
    if (current >= 0) {
      phaseStats.get(current).latency.add(t.targeted);
      phaseStats.get(current).latency.add(t.broadcast);
      phaseStats.get(current).latency.add(t.channel);
    }
    Histogram interval = t.targeted.copy();
    interval.add(t.broadcast);
    interval.add(t.channel);
    if (stormWatch != null) {
      stormWatch.sample(now, interval, t.closed, t.reopened, t.rateLimited);
    }
    if (windows != null && !phase.equals("done")) {
      windows.add(now, interval, t.received);
    }
    long sent = publisher != null ? publisher.sent() : 0;
    double sentRate = (sent - lastSent) / dt;
    double deliveryRate = (t.received - lastReceived) / dt;
    if (t.received > lastReceived) {
      lastDeliveryNanos = now;
    }
    lastSent = sent;
    lastReceived = t.received;
    maxOpen = Math.max(maxOpen, t.open());
    double serverRssMiB = Double.NaN;
    double serverCpu = Double.NaN;
    if (o.serverPid > 0) {
      long rss = ProcStats.rssKiB(o.serverPid);
      serverRssMiB = rss < 0 ? Double.NaN : rss / 1024.0;
      long cpu = ProcStats.cpuMillis(o.serverPid);
      long sys = ProcStats.sysCpuMillis(o.serverPid);
      if (cpu >= 0 && lastServerCpu >= 0) {
        serverCpu = (cpu - lastServerCpu) / (dt * 10.0);
        if (measuring()) {
          serverCpuSum += cpu - lastServerCpu;
          serverSysSum += sys - lastServerSys;
        }
      }
      lastServerCpu = cpu;
      lastServerSys = sys;
    }
    long toolCpuNow = ProcStats.cpuMillis(ProcStats.selfPid());
    for (long pid : childPids) {
      long c = ProcStats.cpuMillis(pid);
      if (c > 0) {
        toolCpuNow += c;
      }
    }
    long busy = ProcStats.machineBusyMillis();
    double otherCpu = Double.NaN;
    if (busy >= 0 && lastMachineBusy >= 0 && lastToolCpu >= 0) {
      double mine = (toolCpuNow - lastToolCpu) + (Double.isNaN(serverCpu) ? 0 : serverCpu * dt * 10.0);
      otherCpu = Math.max(0, (busy - lastMachineBusy) - mine) / (dt * 10.0);
      if (measuring()) {
        otherCpuSum += otherCpu * dt;
        measuredSeconds += dt;
      }
    }
    lastMachineBusy = busy;
    double toolCpu = lastToolCpu >= 0 ? (toolCpuNow - lastToolCpu) / (dt * 10.0) : Double.NaN;
    if (lastToolCpu >= 0 && measuring()) {
      toolCpuSum += toolCpuNow - lastToolCpu;
    }
    lastToolCpu = toolCpuNow;
    Sample s = new Sample((now - startNanos) / 1e9, phase, t.open(), sentRate, deliveryRate,
      ms(interval, 50), ms(interval, 90), ms(interval, 99), interval.getTotalCount() == 0 ? Double.NaN
      : interval.getMaxValue() / 1000.0, serverRssMiB, serverCpu, toolCpu, otherCpu);
    timeline.add(s);
    totals = t;
    progress(s, t);
  }

  /** True while deliveries count towards the figures: publishing after the warm-up, and the drain. */
  private boolean measuring() {
    return phase.equals("publish") || phase.equals("drain");
  }

  private static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
  }

  private void progress(Sample s, FleetStats t) {
    if (o.quiet) {
      return;
    }
    long now = System.nanoTime();
    if (!terminal && now - lastProgressPrint < 5_000_000_000L) {
      return;
    }
    lastProgressPrint = now;
    String line = String.format(Locale.ROOT, "[%-7s %5.0fs] conns %d/%d%s | sent %.0f/s | recv %.0f/s | p99 %s%s",
      s.phase(), s.t(), t.open(), o.connections, t.failed > 0 ? " (" + t.failed + " failed)" : "",
      s.sentPerSec(), s.deliveriesPerSec(), Double.isNaN(s.p99()) ? "-" : String.format(Locale.ROOT, "%.1f ms", s.p99()),
      Double.isNaN(s.serverCpuPct()) ? "" : String.format(Locale.ROOT, " | server %.0f%% cpu %.0f MiB",
        s.serverCpuPct(), s.serverRssMiB()))
      + (t.reopened + t.recovered + t.notRecovered == 0 ? "" : String.format(Locale.ROOT,
        " | reconnects %d, recovered %d, not %d", t.reopened, t.recovered, t.notRecovered));
    if (terminal) {
      console.print("\r" + line + "   ");
      console.flush();
    } else {
      console.println(line);
    }
  }

  private LoadReport report(long rssBefore, long rssAfterRamp, long rssEnd, long rampMillis, long expectedDeliveries,
                            RoutingVerifier.Result verification) {
    FleetStats t = totals;
    JsonObject r = new JsonObject();
    r.put("tool", "odin-ws loadtest");
    r.put("label", o.label);
    r.put("runId", o.runId);
    r.put("finishedAt", Instant.now().toString());
    // the timeline's t = 0, to line it up with other runs' (another tool's events, a node's log)
    r.put("startedAtEpochMillis", startEpochMillis);
    r.put("machine", new JsonObject()
      .put("cores", Runtime.getRuntime().availableProcessors())
      .put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"))
      .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"))
      .put("loadAverageAtStart", loadAverageAtStart)
      .put("loadAverageAtEnd", ProcStats.loadAverage()));
    r.put("options", options());
    r.put("connections", new JsonObject()
      .put("requested", o.connections)
      .put("opened", t.opened)
      .put("failed", t.failed)
      .put("failedAttempts", t.connectErrors)
      .put("closedEarly", t.closed)
      .put("reopened", t.reopened)
      .put("reconnectErrors", t.reconnectErrors)
      // handshakes answered 503 with Retry-After (ws.maxHandshakesPerSecond), tried again when it said
      .put("rateLimited", t.rateLimited)
      .put("maxOpen", maxOpen)
      .put("rampSeconds", rampMillis / 1000.0)
      .put("processes", o.processes));
    double publishSeconds = (publishEndNanos - publishStartNanos) / 1e9;
    JsonObject pub = new JsonObject().put("mode", o.publish.name().toLowerCase(Locale.ROOT));
    if (publisher != null) {
      Histogram ack = publisher.ackLatency();
      pub.put("rate", o.rate)
        .put("seconds", Sample.round(publisher.elapsedSeconds(), 3))
        .put("sent", publisher.sent())
        .put("requests", publisher.requests())
        .put("accepted", log.count(MessageLog.Status.ACCEPTED))
        .put("failed", log.count(MessageLog.Status.FAILED))
        .put("unanswered", log.count(MessageLog.Status.PENDING))
        .put("achievedRate", Sample.round(publisher.sent() / Math.max(1e-9, publisher.elapsedSeconds()), 1))
        .put("maxBacklog", publisher.maxBacklog())
        .put("ackLatencyMs", latency(ack))
        .put("errors", new JsonObject(new java.util.LinkedHashMap<>(publisher.errors())));
      if (log.count(MessageLog.Status.FAILED) > 0) {
        problems.add(log.count(MessageLog.Status.FAILED) + " messages were refused by the publish path: "
          + publisher.errors());
      }
    }
    r.put("publish", pub);
    if (!phaseStats.isEmpty()) {
      r.put("phases", phasesReport());
    }
    long deliveredInWindow = t.received - receivedAtPublishStart;
    double window = Math.max(1e-9, (lastDeliveryNanos - measureStartNanos) / 1e9);
    r.put("deliveries", new JsonObject()
      .put("received", t.received)
      .put("expected", expectedDeliveries)
      .put("perSecond", Sample.round(deliveredInWindow / window, 1))
      .put("perSecondWhilePublishing", Sample.round(peakRate(), 1))
      .put("perSecondMedian", Sample.round(medianRate(), 1))
      .put("foreign", t.foreign)
      .put("otherFrames", t.otherFrames));
    Histogram all = targetedTotal.copy();
    all.add(broadcastTotal);
    all.add(channelTotal);
    r.put("latencyMs", new JsonObject()
      .put("all", latency(all))
      .put("targeted", latency(targetedTotal))
      .put("broadcast", latency(broadcastTotal))
      .put("channel", latency(channelTotal))
      // what resumed connections were replayed: publish to receipt, mostly the time they were away (not in "all")
      .put("replayed", latency(replayedTotal)));
    synchronized (this) {
      if (stormWatch != null) {
        r.put("storms", stormWatch.report(System.nanoTime(), t.rateLimited));
      }
      if (windows != null) {
        r.put("windows", windows.report());
      }
    }
    if (reconnects != null) {
      r.put("reconnects", reconnects.copy()
        .put("resumedRecovered", t.recovered)
        .put("resumedNotRecovered", t.notRecovered)
        .put("reconnectErrors", t.reconnectErrors));
    }
    if (o.serverPid > 0) {
      JsonObject server = new JsonObject().put("pid", o.serverPid).put("gcBeforeSampling", o.serverGc)
        .put("rssBeforeKiB", rssBefore).put("rssAfterRampKiB", rssAfterRamp).put("rssEndKiB", rssEnd);
      if (rssBefore > 0 && rssAfterRamp > 0 && t.opened > 0) {
        server.put("rssPerConnectionBytesAfterRamp", Math.round((rssAfterRamp - rssBefore) * 1024.0 / t.opened));
      }
      if (rssBefore > 0 && rssEnd > 0 && t.opened > 0) {
        server.put("rssPerConnectionBytesAtEnd", Math.round((rssEnd - rssBefore) * 1024.0 / t.opened));
      }
      server.put("cpuPctWhilePublishing", Sample.round(meanOf("publish", Sample::serverCpuPct), 1));
      server.put("kernelShareOfCpuWhilePublishing", serverCpuSum > 0 ? Sample.round(serverSysSum / serverCpuSum, 3) : null);
      long measured = t.received - receivedAtPublishStart;
      if (measured > 0 && serverCpuSum > 0) {
        // CPU the gateway spent per delivery while publishing (user + kernel), in microseconds
        server.put("cpuMicrosPerDelivery", Sample.round(serverCpuSum * 1000.0 / measured, 2));
      }
      server.put("rssMaxMiB", Sample.round(maxOf(Sample::serverRssMiB), 1));
      r.put("server", server);
    }
    if (nodeMetrics != null && nodesAtMeasureStart != null && nodesAtMeasureEnd != null) {
      r.put("nodes", NodeMetrics.report(nodeMetrics.urls(), nodesAtMeasureStart, nodesAtMeasureEnd));
    }
    r.put("toolCpuPctWhilePublishing", Sample.round(meanOf("publish", Sample::toolCpuPct), 1));
    // CPU used by everything else on the machine while measuring (other processes, kernel threads): on a shared
    // machine this says how much the figures were disturbed (200% = both cores of this machine)
    r.put("otherCpuPctWhileMeasuring", measuredSeconds > 0 ? Sample.round(otherCpuSum / measuredSeconds, 1) : null);
    long measuredDeliveries = t.received - receivedAtPublishStart;
    if (measuredDeliveries > 0 && toolCpuSum > 0) {
      // the load tool's own CPU (publisher and all clients, user + kernel) per delivery, in microseconds
      r.put("toolCpuMicrosPerDelivery", Sample.round(toolCpuSum * 1000.0 / measuredDeliveries, 2));
    }
    r.put("toolRssKiB", t.rssKiB);
    if (verification != null) {
      JsonObject counts = new JsonObject();
      for (RoutingVerifier.Kind k : RoutingVerifier.Kind.values()) {
        counts.put(k.name().toLowerCase(Locale.ROOT), verification.count(k));
      }
      r.put("verification", new JsonObject()
        .put("ok", verification.ok())
        .put("violations", verification.violations())
        .put("counts", counts)
        .put("messages", verification.messages())
        .put("connections", verification.connections())
        .put("deliveries", verification.deliveries())
        .put("requiredDeliveries", verification.requiredDeliveries())
        .put("messagesWithLoss", verification.messagesWithLoss())
        .put("missingAcrossRecovery", verification.missingAcrossRecovery())
        .put("lostWhileAway", new JsonObject()
          .put("total", verification.lostWhileAway())
          .put("noCursor", verification.lostWhileAway(RoutingVerifier.Away.NO_CURSOR))
          .put("notRecovered", verification.lostWhileAway(RoutingVerifier.Away.NOT_RECOVERED))
          .put("notBack", verification.lostWhileAway(RoutingVerifier.Away.NOT_BACK)))
        .put("examples", new JsonArray(verification.allExamples())));
    }
    RunOutcome outcome = new RunOutcome(o.connections, t.opened,
      publisher == null ? 0 : o.publishPhases().stream().mapToLong(LoadTestOptions.Phase::messages).sum(),
      publisher == null ? 0 : publisher.sent(), publisher == null ? 0 : log.count(MessageLog.Status.FAILED),
      publisher == null ? 0 : log.count(MessageLog.Status.PENDING), expectedDeliveries, t.received, verification);
    problems.addAll(outcome.problems());
    int exit = outcome.exitCode();
    r.put("problems", new JsonArray(new ArrayList<>(problems)));
    JsonArray tl = new JsonArray();
    for (Sample s : timeline) {
      tl.add(s.toJson());
    }
    r.put("timeline", tl);
    r.put("exitCode", exit);
    return new LoadReport(r, exit, verification);
  }

  /**
   * The median of the per-second delivery rates while publishing (after the warm-up): the sustained rate, unmoved by
   * a backlog caught up after a stall or by the partial seconds at the edges.
   */
  private double medianRate() {
    List<Double> rates = new ArrayList<>();
    for (Sample s : timeline) {
      if (s.phase().equals("publish")) {
        rates.add(s.deliveriesPerSec());
      }
    }
    if (rates.isEmpty()) {
      return 0;
    }
    rates.sort(Double::compare);
    int n = rates.size();
    return n % 2 == 1 ? rates.get(n / 2) : (rates.get(n / 2 - 1) + rates.get(n / 2)) / 2;
  }

  private double peakRate() {
    double best = 0;
    for (Sample s : timeline) {
      if (s.phase().equals("publish")) {
        best = Math.max(best, s.deliveriesPerSec());
      }
    }
    return best;
  }

  private double meanOf(String phaseName, java.util.function.ToDoubleFunction<Sample> f) {
    return Sample.mean(timeline, s -> s.phase().equals(phaseName), f);
  }

  private double maxOf(java.util.function.ToDoubleFunction<Sample> f) {
    double best = Double.NaN;
    for (Sample s : timeline) {
      double v = f.applyAsDouble(s);
      if (!Double.isNaN(v) && (Double.isNaN(best) || v > best)) {
        best = v;
      }
    }
    return best;
  }

  static JsonObject latency(Histogram h) {
    JsonObject j = new JsonObject().put("count", h.getTotalCount());
    if (h.getTotalCount() > 0) {
      j.put("p50", h.getValueAtPercentile(50) / 1000.0)
        .put("p90", h.getValueAtPercentile(90) / 1000.0)
        .put("p99", h.getValueAtPercentile(99) / 1000.0)
        .put("p999", h.getValueAtPercentile(99.9) / 1000.0)
        .put("max", h.getMaxValue() / 1000.0)
        .put("mean", Sample.round(h.getMean() / 1000.0, 3));
    }
    return j;
  }

  private JsonObject options() {
    return new JsonObject()
      .put("url", o.url)
      .put("connections", o.connections)
      .put("ramp", o.ramp)
      .put("durationSeconds", o.durationMillis / 1000.0)
      .put("warmupSeconds", o.warmupMillis / 1000.0)
      .put("tokenPrefix", o.tokenPrefix)
      .put("tokens", o.tokens)
      .put("tokensPerMessage", o.tokensPerMessage)
      .put("publish", o.publish.name().toLowerCase(Locale.ROOT))
      .put("publishUrl", o.publish == LoadTestOptions.PublishMode.HTTP ? o.publishUri().toString() : null)
      .put("kafkaBootstrap", o.publish == LoadTestOptions.PublishMode.KAFKA ? o.kafkaBootstrap : null)
      .put("topic", o.publish == LoadTestOptions.PublishMode.KAFKA ? o.topic : null)
      .put("rate", o.rate)
      .put("mix", o.mixTargeted + ":" + o.mixBroadcast + (o.mixChannel > 0 ? ":" + o.mixChannel : ""))
      .put("channels", o.channels)
      .put("batch", o.batch)
      .put("payloadBytes", o.payloadBytes)
      .put("verifyRouting", o.verifyRouting)
      .put("processes", o.processes)
      .put("sourceAddresses", new JsonArray(new ArrayList<>(o.sourceAddresses)))
      .put("phases", o.phases.isEmpty() ? null : new JsonArray(o.phases.stream()
        .map(p -> new JsonObject().put("rate", p.rate()).put("seconds", p.millis() / 1000.0)).toList()))
      .put("drainSeconds", o.drainMillis / 1000.0)
      .put("reconnect", !o.reconnect ? "off" : o.reconnectWithCursor ? "with cursor" : "without cursor")
      .put("failoverUrl", o.failoverUrl)
      .put("churn", o.churn == null ? null : new JsonObject().put("perSecondPermille", o.churn.permille())
        .put("maxAwaySeconds", o.churn.maxAwayMillis() / 1000.0))
      .put("storms", o.storms.isEmpty() ? null : new JsonArray(o.storms.stream().map(st -> new JsonObject()
        .put("permille", st.permille(o.connections)).put("atSeconds", st.atMillis() / 1000.0)
        .put("spreadSeconds", st.spreadMillis() / 1000.0)).toList()))
      .put("windowSeconds", o.windowMillis > 0 ? o.windowMillis / 1000.0 : null);
  }

  /** The outcome of a run. */
  public static final class LoadReport {
    private final JsonObject json;
    private final int exitCode;
    private final RoutingVerifier.Result verification;

    LoadReport(JsonObject json, int exitCode, RoutingVerifier.Result verification) {
      this.json = json;
      this.exitCode = exitCode;
      this.verification = verification;
    }

    public JsonObject json() {
      return json;
    }

    /** 0 ok, 1 routing violations, 3 incomplete (connections did not open, publishes refused). */
    public int exitCode() {
      return exitCode;
    }

    /** Null unless --verify-routing. */
    public RoutingVerifier.Result verification() {
      return verification;
    }

    void write(String reportPath, String chartPath) {
      try {
        if (reportPath != null) {
          Path p = Path.of(reportPath);
          if (p.getParent() != null) {
            Files.createDirectories(p.getParent());
          }
          Files.writeString(p, json.encodePrettily() + "\n", StandardCharsets.UTF_8);
        }
        String chart = chartPath != null ? chartPath
          : reportPath != null ? reportPath.replaceFirst("\\.json$", "") + ".html" : null;
        if (chart != null) {
          Path p = Path.of(chart);
          if (p.getParent() != null) {
            Files.createDirectories(p.getParent());
          }
          Files.writeString(p, HtmlReport.render(json), StandardCharsets.UTF_8);
        }
      } catch (IOException e) {
        throw new IllegalStateException("could not write the report: " + e.getMessage(), e);
      }
    }

    private static String ms(JsonObject h, String key) {
      Double v = h.getDouble(key);
      return v == null ? "-" : String.format(Locale.ROOT, "%.1f ms", v);
    }

    private static String pct(JsonObject cpu, String key) {
      Double v = cpu.getDouble(key);
      return v == null ? "-" : String.format(Locale.ROOT, "%.0f %%", v);
    }

    /** A few lines for the terminal. */
    public String summary() {
      StringBuilder sb = new StringBuilder();
      JsonObject c = json.getJsonObject("connections");
      JsonObject p = json.getJsonObject("publish");
      JsonObject d = json.getJsonObject("deliveries");
      JsonObject l = json.getJsonObject("latencyMs");
      sb.append(String.format(Locale.ROOT, "connections: %d of %d opened (%d failed, %d closed early, ramp %.1f s)%n",
        c.getLong("opened"), c.getLong("requested"), c.getLong("failed"), c.getLong("closedEarly"),
        c.getDouble("rampSeconds")));
      if (p.containsKey("sent")) {
        sb.append(String.format(Locale.ROOT, "published: %d (%s) in %.1f s = %.0f/s, accepted %d, failed %d%n",
          p.getLong("sent"), p.getString("mode"), p.getDouble("seconds"), p.getDouble("achievedRate"),
          p.getLong("accepted"), p.getLong("failed")));
      }
      sb.append(String.format(Locale.ROOT, "deliveries: %d received (%d expected), %.0f/s%n",
        d.getLong("received"), d.getLong("expected"), d.getDouble("perSecond")));
      JsonArray phases = json.getJsonArray("phases");
      if (phases != null) {
        for (int i = 0; i < phases.size(); i++) {
          JsonObject ph = phases.getJsonObject(i);
          JsonObject h = ph.getJsonObject("latencyMs");
          JsonObject ack = ph.getJsonObject("ackLatencyMs");
          JsonObject cpu = ph.getJsonObject("cpuPct", new JsonObject());
          sb.append(String.format(Locale.ROOT, "phase %d: %.0f/s for %.1f s: sent %.0f/s, delivered %.0f/s, p50 %s, p99 %s,"
              + " max %s (publish acks: p50 %s, p99 %s); CPU %% of a core: server %s, tool %s, other %s%n",
            i + 1, ph.getDouble("rate"), ph.getDouble("seconds"), ph.getDouble("sentPerSecond"),
            ph.getDouble("deliveredPerSecond"), ms(h, "p50"), ms(h, "p99"), ms(h, "max"), ms(ack, "p50"), ms(ack, "p99"),
            pct(cpu, "server"), pct(cpu, "tool"), pct(cpu, "other")));
        }
      }
      for (String k : List.of("all", "targeted", "broadcast", "channel", "replayed")) {
        JsonObject h = l.getJsonObject(k);
        if (h.getLong("count") > 0) {
          sb.append(String.format(Locale.ROOT, "latency %-9s n=%d p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms%n",
            k, h.getLong("count"), h.getDouble("p50"), h.getDouble("p90"), h.getDouble("p99"), h.getDouble("p999"),
            h.getDouble("max")));
        }
      }
      JsonObject rc = json.getJsonObject("reconnects");
      if (rc != null) {
        sb.append(String.format(Locale.ROOT, "reconnects: %d (resumed: %d recovered, %d not recovered; %d replayed);"
            + " closes by the server %s, by the tool %d; not back at the end %d%n", rc.getLong("reconnects"),
          rc.getLong("recovered"), rc.getLong("notRecovered"), rc.getLong("replayed"),
          rc.getJsonObject("closesByServer").encode(), rc.getLong("closesByTool"), rc.getLong("notBackAtEnd")));
        for (Object o : rc.getJsonArray("events")) {
          JsonObject e = (JsonObject) o;
          JsonObject back = e.getJsonObject("secondsUntilBack");
          JsonObject resumed = e.getJsonObject("secondsUntilResumed");
          sb.append(String.format(Locale.ROOT, "  %s at %.1f s: %d connections closed, %d back (all within %s s),"
              + " %d not back; recovered %d (all within %s s), not recovered %d, back without cursor %d%n",
            e.getString("what"), e.getDouble("atSeconds"), e.getLong("connectionsClosed"), e.getLong("back"),
            back.getValue("max", "-"), e.getLong("notBack"), e.getLong("recovered"),
            resumed == null ? "-" : resumed.getValue("max", "-"), e.getLong("notRecovered"),
            e.getLong("backWithoutCursor")));
        }
      }
      JsonArray storms = json.getJsonArray("storms");
      if (storms != null) {
        for (Object o : storms) {
          JsonObject st = (JsonObject) o;
          JsonObject lat = st.getJsonObject("liveLatencyMs");
          sb.append(String.format(Locale.ROOT, "storm at %.1f s: all back within %s s (as sampled), %d handshakes refused"
              + " with Retry-After; live p99 before %s, during %s, after %s%n", st.getDouble("atSeconds"),
            st.getValue("allBackWithinSeconds"), st.getLong("rateLimited"), ms(lat.getJsonObject("before"), "p99"),
            ms(lat.getJsonObject("during"), "p99"), ms(lat.getJsonObject("after"), "p99")));
        }
      }
      JsonArray windows = json.getJsonArray("windows");
      if (windows != null) {
        sb.append("p99 per window:");
        for (Object o : windows) {
          JsonObject w = (JsonObject) o;
          sb.append(String.format(Locale.ROOT, " %d-%d s %s;", w.getLong("fromSeconds"), w.getLong("toSeconds"),
            ms(w.getJsonObject("latencyMs"), "p99")));
        }
        sb.append('\n');
      }
      JsonObject server = json.getJsonObject("server");
      if (server != null) {
        sb.append("server: ").append(server.encode()).append('\n');
      }
      JsonObject v = json.getJsonObject("verification");
      if (v != null) {
        sb.append(v.getBoolean("ok") ? "routing verified: " : "ROUTING VIOLATIONS: ")
          .append(v.getLong("violations")).append(" violations ").append(v.getJsonObject("counts").encode())
          .append(" over ").append(v.getLong("requiredDeliveries")).append(" required deliveries");
        JsonObject away = v.getJsonObject("lostWhileAway");
        if (away.getLong("total") > 0) {
          sb.append("; lost while away (not owed: no cursor, not recovered, not back): ").append(away.getLong("total"))
            .append(' ').append(away.encode());
        }
        sb.append('\n');
        JsonArray ex = v.getJsonArray("examples");
        for (int i = 0; i < Math.min(20, ex.size()); i++) {
          sb.append("  ").append(ex.getString(i)).append('\n');
        }
        if (ex.size() > 20) {
          sb.append("  ... (").append(ex.size() - 20).append(" more examples in the report)\n");
        }
      }
      for (Object problem : json.getJsonArray("problems")) {
        sb.append("problem: ").append(problem).append('\n');
      }
      sb.append("exit status ").append(exitCode);
      return sb.toString();
    }
  }
}
