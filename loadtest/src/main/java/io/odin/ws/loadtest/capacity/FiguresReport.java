package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures file from what {@code scripts/benchmarks figures} measured (the load tool's reports and the Redis samples
 * in one directory), over a base file (docs/benchmarks/figures.json): a figure measured here replaces the base's, the
 * others (assumptions, and figures other measurements write, such as a Redis master's commands per second under Redis
 * Cluster) are kept as they are. Prints which is which.
 * <pre>
 * java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.capacity.FiguresReport \
 *   --dir target/benchmarks --base docs/benchmarks/figures.json --out target/benchmarks/figures.json [--gateway VERSION]
 * </pre>
 */
public final class FiguresReport {

  private FiguresReport() {
  }

  public static void main(String[] args) throws IOException {
    Path dir = null;
    Path base = null;
    Path out = null;
    String gateway = "";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--dir" -> dir = Path.of(args[i + 1]);
        case "--base" -> base = Path.of(args[i + 1]);
        case "--out" -> out = Path.of(args[i + 1]);
        case "--gateway" -> gateway = args[i + 1];
        default -> {
          System.err.println("figures: unknown option " + args[i]);
          System.exit(2);
        }
      }
    }
    if (dir == null || base == null || out == null || args.length % 2 != 0) {
      System.err.println("usage: FiguresReport --dir DIR --base FIGURES.json --out FIGURES.json [--gateway VERSION]");
      System.exit(2);
      return;
    }
    Figures baseFigures = Figures.parse(Files.readString(base, StandardCharsets.UTF_8), base.toString());
    List<String> log = new ArrayList<>();
    Figures merged = assemble(dir, baseFigures, gateway, log);
    Files.writeString(out, merged.toJson().encodePrettily() + "\n", StandardCharsets.UTF_8);
    log.forEach(System.err::println);
    System.err.println("figures: wrote " + out);
  }

  /**
   * The base figures with every figure the reports in {@code dir} measure replaced. {@code log} gets one line per
   * figure: measured (with its value) or kept.
   */
  public static Figures assemble(Path dir, Figures base, String gateway, List<String> log) throws IOException {
    Map<Figure, Figures.Value> values = new EnumMap<>(Figure.class);
    for (Figure f : Figure.values()) {
      values.put(f, new Figures.Value(base.get(f), base.source(f)));
    }
    JsonObject machine = null;
    List<String> loads = new ArrayList<>();

    JsonObject idle = report(dir, "idle");
    double idleMicros = Double.NaN;
    if (idle != null) {
      machine = idle.getJsonObject("machine");
      loads.add(load(idle));
      JsonObject server = idle.getJsonObject("server");
      long opened = idle.getJsonObject("connections").getLong("opened");
      values.put(Figure.IDLE_RSS, measured(server.getLong("rssBeforeKiB") / 1024.0, 1,
        "idle scenario: RSS of the fresh node after a full GC", idle));
      values.put(Figure.RSS_PER_CONNECTION, measured(server.getDouble("rssPerConnectionBytesAfterRamp"), 0,
        "idle scenario: RSS after a full GC with " + opened + " idle connections, less before, per connection", idle));
      idleMicros = meanIdleCpuPct(idle) / 100 * 1e6 / opened;
      values.put(Figure.CPU_PER_CONNECTION_SECOND, measured(idleMicros, 3,
        "idle scenario: the node's CPU while holding " + opened + " idle connections (pings every 30 s and pongs)"
          + " per connection and second", idle));
    }
    JsonObject broadcast = report(dir, "broadcast");
    if (broadcast != null) {
      machine = machine == null ? broadcast.getJsonObject("machine") : machine;
      loads.add(load(broadcast));
      values.put(Figure.CPU_PER_BROADCAST, perDelivery(broadcast, idleMicros, "broadcast scenario"));
    }
    JsonObject targeted = report(dir, "targeted");
    if (targeted != null) {
      loads.add(load(targeted));
      values.put(Figure.CPU_PER_TARGETED_HTTP, perDelivery(targeted, idleMicros, "targeted scenario (HTTP, batches of 50)"));
    }
    JsonObject kafka = report(dir, "targeted-kafka");
    if (kafka != null) {
      loads.add(load(kafka));
      values.put(Figure.CPU_PER_TARGETED_KAFKA, perDelivery(kafka, idleMicros,
        "targeted-kafka scenario (Kafka and the Redis registry, history on)"));
      double handshake = rampCpuMicros(kafka) / kafka.getJsonObject("connections").getLong("opened");
      values.put(Figure.CPU_PER_HANDSHAKE, measured(handshake, 1,
        "targeted-kafka scenario: the node's CPU during the ramp per connection opened (registration in Redis included,"
          + " a node a few seconds old: JIT compilation included)", kafka));
    }
    for (boolean history : new boolean[] {true, false}) {
      Path redis = dir.resolve(history ? "redis-history" : "redis-nohistory");
      if (!Files.isRegularFile(redis.resolve("samples.txt"))) {
        continue;
      }
      RedisCosts.Result r = RedisCosts.attribute(
        RedisCosts.parseSamples(Files.readString(redis.resolve("samples.txt"))),
        RedisCosts.parsePhases(Files.readString(redis.resolve("phases.txt"))));
      String when = Files.getLastModifiedTime(redis.resolve("samples.txt")).toInstant().toString().substring(0, 10);
      String how = "redis" + (history ? "" : "-nohistory") + " scenario (" + when + "): INFO commandstats once a second"
        + " around ";
      values.put(history ? Figure.REDIS_CONNECT : Figure.REDIS_CONNECT_NO_HISTORY,
        redis(r.perConnect(), how + "2,000 connections opening"));
      values.put(history ? Figure.REDIS_TARGETED : Figure.REDIS_TARGETED_NO_HISTORY,
        redis(r.perTargeted(), how + "targeted messages published through HTTP in batches of 10"));
      values.put(history ? Figure.REDIS_BROADCAST : Figure.REDIS_BROADCAST_NO_HISTORY,
        redis(r.perBroadcast(), how + "broadcasts"));
      values.put(history ? Figure.REDIS_HEARTBEAT : Figure.REDIS_HEARTBEAT_NO_HISTORY,
        redis(r.perHeartbeatToken(), how + "the idle connections' heartbeats (" + r.heartbeatsSeen() + " seen)"));
      values.put(history ? Figure.REDIS_RECONNECT : Figure.REDIS_RECONNECT_NO_HISTORY,
        redis(r.perReconnect(), how + "a drained node's clients coming back on a new node with since="));
      if (history) {
        values.put(Figure.REDIS_BYTES_PER_CONNECTION, new Figures.Value(Math.round(r.bytesPerConnection()),
          how + "2,000 connections opening: used_memory after less before, per connection"));
        values.put(Figure.REDIS_BYTES_PER_STORED_MESSAGE, new Figures.Value(Math.round(r.bytesPerStoredMessage()),
          how + "targeted messages: used_memory after less before, per message stored"));
        Path frame = redis.resolve("frame.txt");
        if (Files.isRegularFile(frame)) {
          values.put(Figure.REDIS_STORED_FRAME_BYTES, new Figures.Value(Files.readString(frame).strip().length(),
            how + "targeted messages: the length of a stored frame (XRANGE of a token's stream, field f)"));
        }
        if (!Double.isNaN(r.commandsPerCpuSecond())) {
          values.put(Figure.REDIS_COMMANDS_PER_MASTER, new Figures.Value(Math.round(r.commandsPerCpuSecond() / 1000) * 1000.0,
            how + "targeted messages and broadcasts: commands run per second of Redis's own CPU (used_cpu_user +"
              + " used_cpu_sys), what one busy master's main thread runs of this mix on this machine; a measurement of"
              + " a master under Redis Cluster replaces it"));
        }
      }
      r.notes().forEach(n -> log.add("figures: redis" + (history ? "" : "-nohistory") + ": " + n));
    }
    for (Figure f : Figure.values()) {
      Figures.Value now = values.get(f);
      boolean changed = !now.source().equals(base.source(f)) || now.value() != base.get(f);
      log.add(String.format(Locale.ROOT, "figures: %-50s %s %s", f.key, changed ? "measured" : "kept    ",
        fmt(now.value()) + " " + f.unit));
    }
    JsonObject measured = new JsonObject()
      .put("at", Instant.now().toString().substring(0, 10))
      .put("machine", machine == null ? base.measured().getValue("machine") : machine(machine))
      .put("gateway", gateway.isEmpty() ? base.measured().getValue("gateway") : gateway)
      .put("command", "scripts/benchmarks figures")
      .put("loadAverages", loads.isEmpty() ? base.measured().getValue("loadAverages") : String.join("; ", loads));
    return Figures.of(values, measured, base.origin());
  }

  private static JsonObject report(Path dir, String name) throws IOException {
    Path p = dir.resolve(name + ".json");
    return Files.isRegularFile(p) ? new JsonObject(Files.readString(p, StandardCharsets.UTF_8)) : null;
  }

  /** Gateway CPU per delivery while publishing, less the held connections' own (pings) at that delivery rate. */
  private static Figures.Value perDelivery(JsonObject report, double idleMicros, String what) {
    JsonObject server = report.getJsonObject("server");
    double gross = server.getDouble("cpuMicrosPerDelivery");
    double rate = report.getJsonObject("deliveries").getDouble("perSecond");
    long connections = report.getJsonObject("connections").getLong("opened");
    double pings = Double.isNaN(idleMicros) || rate <= 0 ? 0 : idleMicros * connections / rate;
    return measured(gross - pings, 2, String.format(Locale.ROOT, "%s: %s µs of the node's CPU per delivery at %,.0f"
      + " deliveries/s to %,d connections, less the connections' pings (%s µs)", what, fmt(gross), rate, connections,
      fmt(pings)), report);
  }

  /** Mean CPU of the node (percent of one core) while the idle connections were held, its first and last second left out. */
  static double meanIdleCpuPct(JsonObject report) {
    JsonArray timeline = report.getJsonArray("timeline");
    List<Double> held = new ArrayList<>();
    for (int i = 0; i < timeline.size(); i++) {
      JsonObject s = timeline.getJsonObject(i);
      Double pct = s.getDouble("serverCpuPct");
      if ("publish".equals(s.getString("phase")) && pct != null) {
        held.add(pct);
      }
    }
    if (held.size() < 4) {
      throw new IllegalArgumentException("idle report: fewer than 4 seconds of held connections in its timeline");
    }
    return held.subList(1, held.size() - 1).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
  }

  /** The node's CPU during the ramp, in microseconds: its timeline's CPU share times each sample's interval. */
  static double rampCpuMicros(JsonObject report) {
    JsonArray timeline = report.getJsonArray("timeline");
    double micros = 0;
    double prevT = 0;
    for (int i = 0; i < timeline.size(); i++) {
      JsonObject s = timeline.getJsonObject(i);
      double t = s.getDouble("t");
      Double pct = s.getDouble("serverCpuPct");
      if ("ramp".equals(s.getString("phase")) && pct != null) {
        micros += pct / 100 * (t - prevT) * 1e6;
      }
      prevT = t;
    }
    return micros;
  }

  private static Figures.Value measured(double value, int decimals, String what, JsonObject report) {
    double scale = Math.pow(10, decimals);
    return new Figures.Value(Math.round(value * scale) / scale, "scripts/benchmarks figures, " + what
      + " (" + report.getString("finishedAt", "?").substring(0, 10) + ", " + load(report) + ")");
  }

  private static Figures.Value redis(double value, String what) {
    return new Figures.Value(Math.round(value * 100) / 100.0, "scripts/benchmarks figures, " + what);
  }

  private static String load(JsonObject report) {
    JsonObject m = report.getJsonObject("machine");
    Object other = report.getValue("otherCpuPctWhileMeasuring");
    return String.format(Locale.ROOT, "%s: load average %s to %s, other processes %s%% of one core",
      report.getString("label", "?"), m.getValue("loadAverageAtStart"), m.getValue("loadAverageAtEnd"),
      other == null ? "?" : other);
  }

  private static String machine(JsonObject m) {
    return m.getValue("cores") + " cores, " + m.getValue("java") + ", " + m.getValue("os");
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? String.format(Locale.ROOT, "%,d", (long) v) : String.format(Locale.ROOT, "%,.2f", v);
  }
}
