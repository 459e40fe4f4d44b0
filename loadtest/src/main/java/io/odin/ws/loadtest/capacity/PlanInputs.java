package io.odin.ws.loadtest.capacity;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a plan is asked for ({@code scripts/capacity-plan}'s options) and the headroom it keeps. Mutable fields with the
 * defaults, so tests build one directly; {@link #parse} reads a command line, {@link #check} validates.
 */
public final class PlanInputs {

  public enum Ingest { KAFKA, HTTP }

  public enum Format { TEXT, JSON, ENV }

  public long connections = -1;
  /** Targeted messages per second over the whole system; NaN: from {@link #targetedPerConnection}. */
  public double targetedRate = Double.NaN;
  /** Targeted messages per connection per second; NaN: from {@link #targetedRate}. */
  public double targetedPerConnection = Double.NaN;
  public double broadcastRate;
  public int connectionsPerToken = 1;
  public Ingest ingest = Ingest.KAFKA;
  /** history.size: messages kept per stream; 0 = history.enabled false. */
  public int history = 300;
  /** history.ttlMs, in seconds. */
  public double historyTtlSeconds = 300;
  /** The client frame's size, id, type and data included. */
  public int messageBytes = 256;
  /** How long a connection lasts on average: new connections per second = connections / session. */
  public double sessionSeconds = 3600;
  /** The time in which a lost node's clients come back. */
  public double reconnectWindowSeconds = 60;
  /** registry.heartbeat, in seconds. */
  public double heartbeatSeconds = 30;
  public String machine = "e2-standard-8";
  public int zones = 3;
  /** Steady-state CPU per node at most this share of its vCPUs (a zone's loss raises it by zones / (zones - 1)). */
  public double cpuTarget = 0.5;
  /** Resident memory (and kernel socket memory) per node at most this share of the machine's, after a zone's loss. */
  public double memoryTarget = 0.6;
  /** Steady-state Redis commands per master at most this share of what a master runs. */
  public double redisTarget = 0.5;
  public String redisNode = "redis-highmem-medium";
  public String kafkaBroker = "e2-standard-4";
  public double kafkaRetentionSeconds = 24 * 3600;
  public String figures;
  public String prices;
  public Format format = Format.TEXT;

  public static final String USAGE = String.join("\n",
    "usage: scripts/capacity-plan --connections N [--targeted-rate R | --targeted-per-connection R] [--broadcast-rate R] [options]",
    "  A plan (nodes, Redis masters, Kafka partitions, event bus, monthly cost) from the per-node figures scripts/benchmarks",
    "  measured (docs/benchmarks/figures.json); the model and its assumptions: docs/scale.md.",
    "  --connections N              concurrent connections at peak (100000, 100k, 1M, 10M)",
    "  --targeted-rate R            targeted messages over the whole system: 20000, 20000/s, 1.2M/min",
    "  --targeted-per-connection R  or per connection: 10/min (each targeted message names one token)",
    "  --broadcast-rate R           broadcasts (to every connection): 1/min, 2/s (default 0)",
    "  --connections-per-token K    devices per token (default 1): a targeted message is K deliveries",
    "  --ingest kafka|http          how messages come in (default kafka)",
    "  --history N                  messages kept per stream, history.size (default 300; 0 = history.enabled false)",
    "  --history-ttl D              history.ttlMs (default 5m)",
    "  --message-bytes B            a message's frame as clients get it, id and type included (default 256)",
    "  --session D                  how long a connection lasts on average (default 1h): connections / session new",
    "                               connections per second, each a handshake and a registration",
    "  --reconnect-window D         a lost node's clients come back within this (default 60s)",
    "  --heartbeat D                registry.heartbeat (default 30s)",
    "  --machine TYPE               gateway machine type (default e2-standard-8; the price file lists the others)",
    "  --zones Z                    zones the nodes spread over (default 3); a zone's loss must leave room",
    "  --cpu-target F               steady CPU per node at most F of its vCPUs (default 0.5)",
    "  --memory-target F            memory per node after a zone's loss at most F of the machine's (default 0.6)",
    "  --redis-target F             steady Redis commands per master at most F of a master's (default 0.5)",
    "  --redis-node TYPE            Memorystore for Redis Cluster node type (default redis-highmem-medium)",
    "  --kafka-broker TYPE          Kafka broker machine type (default e2-standard-4)",
    "  --kafka-retention D          how long Kafka keeps records (default 24h)",
    "  --figures FILE               the figures (scripts/capacity-plan gives docs/benchmarks/figures.json)",
    "  --prices FILE                prices instead of the built-in GCP list prices",
    "  --format text|json|env       text (default), JSON, or GCP_* lines for scripts/gcp (GCP_PLAN=FILE)",
    "exit status: 0 a plan, 2 bad usage, 3 bad figures or prices file");

  /** Reads a command line; throws {@link UsageException} naming the option. */
  public static PlanInputs parse(String... args) {
    PlanInputs in = new PlanInputs();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (a.equals("--help") || a.equals("-h")) {
        throw new UsageException(null);
      }
      if (!a.startsWith("--")) {
        throw new UsageException("unexpected argument '" + a + "'");
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new UsageException(a + " needs a value");
        }
        value = args[++i];
      }
      switch (a) {
        case "--connections" -> in.connections = count(a, value);
        case "--targeted-rate" -> in.targetedRate = rate(a, value);
        case "--targeted-per-connection" -> in.targetedPerConnection = rate(a, value);
        case "--broadcast-rate" -> in.broadcastRate = rate(a, value);
        case "--connections-per-token" -> in.connectionsPerToken = (int) Math.min(Integer.MAX_VALUE, count(a, value));
        case "--ingest" -> in.ingest = choice(a, value, Ingest.class);
        case "--history" -> in.history = (int) Math.min(Integer.MAX_VALUE, whole(a, value));
        case "--history-ttl" -> in.historyTtlSeconds = seconds(a, value);
        case "--message-bytes" -> in.messageBytes = (int) Math.min(Integer.MAX_VALUE, count(a, value));
        case "--session" -> in.sessionSeconds = seconds(a, value);
        case "--reconnect-window" -> in.reconnectWindowSeconds = seconds(a, value);
        case "--heartbeat" -> in.heartbeatSeconds = seconds(a, value);
        case "--machine" -> in.machine = value;
        case "--zones" -> in.zones = (int) Math.min(Integer.MAX_VALUE, count(a, value));
        case "--cpu-target" -> in.cpuTarget = share(a, value);
        case "--memory-target" -> in.memoryTarget = share(a, value);
        case "--redis-target" -> in.redisTarget = share(a, value);
        case "--redis-node" -> in.redisNode = value;
        case "--kafka-broker" -> in.kafkaBroker = value;
        case "--kafka-retention" -> in.kafkaRetentionSeconds = seconds(a, value);
        case "--figures" -> in.figures = value;
        case "--prices" -> in.prices = value;
        case "--format" -> in.format = choice(a, value, Format.class);
        default -> throw new UsageException("unknown option " + a);
      }
    }
    return in.check();
  }

  /** Validates the combination; throws {@link UsageException}. */
  public PlanInputs check() {
    if (connections < 1) {
      throw new UsageException("--connections is required (concurrent connections at peak, e.g. 1M)");
    }
    if (!Double.isNaN(targetedRate) && !Double.isNaN(targetedPerConnection)) {
      throw new UsageException("--targeted-rate and --targeted-per-connection say the same thing: give one");
    }
    if (connectionsPerToken > connections) {
      throw new UsageException("--connections-per-token " + connectionsPerToken + " exceeds --connections " + connections);
    }
    if (zones < 1) {
      throw new UsageException("--zones must be at least 1");
    }
    if (sessionSeconds <= 0 || reconnectWindowSeconds <= 0 || heartbeatSeconds <= 0) {
      throw new UsageException("--session, --reconnect-window and --heartbeat must be above 0");
    }
    if (history > 0 && historyTtlSeconds <= 0) {
      throw new UsageException("--history-ttl must be above 0 while --history keeps messages");
    }
    return this;
  }

  /** Targeted messages per second over the whole system. */
  public double targetedPerSecond() {
    if (!Double.isNaN(targetedRate)) {
      return targetedRate;
    }
    return Double.isNaN(targetedPerConnection) ? 0 : targetedPerConnection * connections;
  }

  /** The options that made this plan, as a command line (for the plan's header and its JSON). */
  public List<String> commandLine() {
    List<String> out = new ArrayList<>();
    out.add("--connections " + connections);
    if (!Double.isNaN(targetedRate)) {
      out.add("--targeted-rate " + num(targetedRate) + "/s");
    } else if (!Double.isNaN(targetedPerConnection)) {
      out.add("--targeted-per-connection " + num(targetedPerConnection * 60) + "/min");
    }
    if (broadcastRate > 0) {
      out.add("--broadcast-rate " + num(broadcastRate * 60) + "/min");
    }
    if (connectionsPerToken != 1) {
      out.add("--connections-per-token " + connectionsPerToken);
    }
    out.add("--ingest " + ingest.name().toLowerCase(Locale.ROOT));
    out.add("--history " + history);
    out.add("--message-bytes " + messageBytes);
    out.add("--machine " + machine);
    return out;
  }

  private static String num(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.4g", v);
  }

  /** A whole count with an optional k or M (100k, 1M, 10M, 1_000_000). */
  static long count(String option, String value) {
    double v = magnitude(option, value.replace("_", "").replace(",", ""));
    if (v < 1 || v != Math.rint(v) || v > 1e12) {
      throw new UsageException(option + " takes a whole number from 1 up (100000, 100k, 1M), got '" + value + "'");
    }
    return (long) v;
  }

  private static long whole(String option, String value) {
    try {
      long v = Long.parseLong(value.trim());
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a whole number from 0 up, got '" + value + "'");
    }
  }

  private static double magnitude(String option, String value) {
    String v = value.trim();
    double factor = 1;
    if (v.endsWith("k") || v.endsWith("K")) {
      factor = 1e3;
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("M")) {
      factor = 1e6;
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("G")) {
      factor = 1e9;
      v = v.substring(0, v.length() - 1);
    }
    try {
      double d = Double.parseDouble(v) * factor;
      if (!Double.isFinite(d) || d < 0) {
        throw new NumberFormatException();
      }
      return d;
    } catch (NumberFormatException e) {
      throw new UsageException(option + ": '" + value + "' is not a number (100000, 100k, 1.5M)");
    }
  }

  /** A rate: N (per second), N/s, N/min, N/h, with an optional k or M on N. */
  static double rate(String option, String value) {
    String v = value.trim();
    double per = 1;
    int slash = v.indexOf('/');
    if (slash >= 0) {
      String unit = v.substring(slash + 1).trim().toLowerCase(Locale.ROOT);
      per = switch (unit) {
        case "s", "sec", "second" -> 1;
        case "min", "m", "minute" -> 60;
        case "h", "hour" -> 3600;
        default -> throw new UsageException(option + ": '" + unit + "' is not a time unit: use /s, /min or /h (e.g. 10/min)");
      };
      v = v.substring(0, slash);
    }
    return magnitude(option, v.replace("_", "").replace(",", "")) / per;
  }

  /** A duration: a bare number is seconds; units ms, s, m, min, h. */
  static double seconds(String option, String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    double factor = 1;
    if (v.endsWith("ms")) {
      factor = 0.001;
      v = v.substring(0, v.length() - 2);
    } else if (v.endsWith("min")) {
      factor = 60;
      v = v.substring(0, v.length() - 3);
    } else if (v.endsWith("s")) {
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      factor = 60;
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("h")) {
      factor = 3600;
      v = v.substring(0, v.length() - 1);
    }
    try {
      double d = Double.parseDouble(v) * factor;
      if (!Double.isFinite(d) || d < 0) {
        throw new NumberFormatException();
      }
      return d;
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a duration like 30s, 5m or 1h, got '" + value + "'");
    }
  }

  private static double share(String option, String value) {
    try {
      double d = Double.parseDouble(value.trim());
      if (!(d > 0 && d <= 1)) {
        throw new NumberFormatException();
      }
      return d;
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a share above 0 and at most 1 (0.5 = half), got '" + value + "'");
    }
  }

  private static <E extends Enum<E>> E choice(String option, String value, Class<E> type) {
    try {
      return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      List<String> names = new ArrayList<>();
      for (E c : type.getEnumConstants()) {
        names.add(c.name().toLowerCase(Locale.ROOT));
      }
      throw new UsageException(option + " takes " + String.join(" or ", names) + ", got '" + value + "'");
    }
  }

  /** Bad command line; the message says why (null: just show the usage). */
  public static final class UsageException extends RuntimeException {
    public UsageException(String message) {
      super(message);
    }
  }
}
