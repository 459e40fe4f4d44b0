package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Side by side: the reports of {@code scripts/benchmarks kafka-pair}, the Kafka floor ({@code FloorServer --kafka})
 * and odin-ws through the same broker, topic, producer and clients, one after the other on fresh processes; and, when
 * it ran, odin-ws over the publish API with the same phases. For every measured phase (those after the warm-up) and
 * pair it prints delivered/s, p50, p99 and the server's CPU per delivery of each, and their ratios; then, per rate,
 * the ratios over all pairs against issue 30's goals (p99 within 1.5x the floor's, CPU per delivery within 1.2x,
 * delivered at least 0.95x, Kafka's CPU per delivery within 1.15x of HTTP's).
 *
 * <pre>java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.PairReport [--warmup-phases N] DIR</pre>
 * DIR holds {@code pair-K-floor.json}, {@code pair-K-odin.json} and optionally {@code pair-K-http.json}.
 */
public final class PairReport {

  private static final Pattern NAME = Pattern.compile("pair-(\\d+)-(floor|odin|http)\\.json");

  /** One phase of one run. */
  record Phase(double rate, double delivered, double p50, double p99, double serverCpuPct) {

    /** The server's CPU per delivery in microseconds over the phase. */
    double cpuMicrosPerDelivery() {
      return delivered > 0 ? serverCpuPct * 10_000 / delivered : Double.NaN;
    }

    static Phase of(JsonObject phase) {
      JsonObject latency = phase.getJsonObject("latencyMs", new JsonObject());
      JsonObject cpu = phase.getJsonObject("cpuPct", new JsonObject());
      return new Phase(phase.getDouble("rate"), phase.getDouble("deliveredPerSecond"),
        number(latency, "p50"), number(latency, "p99"), number(cpu, "server"));
    }
  }

  /** The runs of one pair; http may be null. */
  record Pair(int number, List<Phase> floor, List<Phase> odin, List<Phase> http, String load) {
  }

  private PairReport() {
  }

  public static void main(String[] args) throws IOException {
    int warmup = 1;
    int i = 0;
    if (args.length > 1 && args[0].equals("--warmup-phases")) {
      warmup = Integer.parseInt(args[1]);
      i = 2;
    }
    if (i != args.length - 1) {
      System.err.println("usage: PairReport [--warmup-phases N] DIR");
      System.exit(2);
    }
    System.out.print(render(read(Path.of(args[i]), warmup)));
  }

  /** The pairs of DIR, in order, without their first {@code warmupPhases} phases. */
  static List<Pair> read(Path dir, int warmupPhases) throws IOException {
    TreeMap<Integer, JsonObject[]> runs = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (m.matches()) {
          int slot = switch (m.group(2)) {
            case "floor" -> 0;
            case "odin" -> 1;
            default -> 2;
          };
          runs.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new JsonObject[3])[slot] =
            new JsonObject(Files.readString(f, StandardCharsets.UTF_8));
        }
      }
    }
    List<Pair> pairs = new ArrayList<>();
    runs.forEach((n, r) -> {
      if (r[0] != null && r[1] != null) {
        pairs.add(new Pair(n, phases(r[0], warmupPhases), phases(r[1], warmupPhases),
          r[2] == null ? null : phases(r[2], warmupPhases), load(r[0]) + ", " + load(r[1])
          + (r[2] == null ? "" : ", " + load(r[2]))));
      }
    });
    return pairs;
  }

  static List<Phase> phases(JsonObject report, int warmupPhases) {
    JsonArray phases = report.getJsonArray("phases", new JsonArray());
    List<Phase> out = new ArrayList<>();
    for (int i = warmupPhases; i < phases.size(); i++) {
      out.add(Phase.of(phases.getJsonObject(i)));
    }
    return out;
  }

  private static String load(JsonObject report) {
    JsonObject machine = report.getJsonObject("machine", new JsonObject());
    return String.format(Locale.ROOT, "%.1f→%.1f", number(machine, "loadAverageAtStart"),
      number(machine, "loadAverageAtEnd"));
  }

  static String render(List<Pair> pairs) {
    StringBuilder sb = new StringBuilder();
    boolean anyHttp = pairs.stream().anyMatch(p -> p.http() != null);
    for (Pair p : pairs) {
      sb.append(String.format(Locale.ROOT, "pair %d (load average floor, odin-ws%s: %s)%n", p.number(),
        p.http() == null ? "" : ", odin-ws http", p.load()));
      String cols = String.format(Locale.ROOT, "%8s %7s %8s %5s", "deliv/s", "p50 ms", "p99 ms", "µs");
      sb.append(String.format(Locale.ROOT, "  %7s | %-31s | %-31s | %-17s%s%n", "", "floor (Kafka)", "odin-ws (Kafka)",
        "odin-ws / floor", anyHttp ? " | odin-ws (HTTP)" : ""));
      sb.append(String.format(Locale.ROOT, "  %7s | %s | %s | %5s %5s %5s%s%n", "rate/s", cols, cols, "p99", "µs",
        "rate", anyHttp ? " | " + String.format(Locale.ROOT, "%8s %5s %s", "p99 ms", "µs", "Kafka µs / HTTP µs") : ""));
      for (int i = 0; i < Math.min(p.floor().size(), p.odin().size()); i++) {
        Phase f = p.floor().get(i);
        Phase o = p.odin().get(i);
        Phase h = p.http() == null || i >= p.http().size() ? null : p.http().get(i);
        sb.append(String.format(Locale.ROOT, "  %7.0f | %s | %s | %5s %5s %5s%s%n", f.rate(), cells(f), cells(o),
          ratio(o.p99(), f.p99()), ratio(o.cpuMicrosPerDelivery(), f.cpuMicrosPerDelivery()),
          ratio(o.delivered(), f.delivered()),
          h == null ? "" : String.format(Locale.ROOT, " | %8s %5.1f %s", ms(h.p99()), h.cpuMicrosPerDelivery(),
            ratio(o.cpuMicrosPerDelivery(), h.cpuMicrosPerDelivery()))));
      }
    }
    sb.append(summary(pairs));
    return sb.toString();
  }

  /** Per rate, the ratios of every pair and how many meet issue 30's goals. */
  static String summary(List<Pair> pairs) {
    TreeMap<Double, List<double[]>> byRate = new TreeMap<>();
    for (Pair p : pairs) {
      for (int i = 0; i < Math.min(p.floor().size(), p.odin().size()); i++) {
        Phase f = p.floor().get(i);
        Phase o = p.odin().get(i);
        Phase h = p.http() == null || i >= p.http().size() ? null : p.http().get(i);
        byRate.computeIfAbsent(f.rate(), r -> new ArrayList<>()).add(new double[] {
          o.p99() / f.p99(), o.cpuMicrosPerDelivery() / f.cpuMicrosPerDelivery(), o.delivered() / f.delivered(),
          h == null ? Double.NaN : o.cpuMicrosPerDelivery() / h.cpuMicrosPerDelivery()});
      }
    }
    StringBuilder sb = new StringBuilder("odin-ws / floor over the pairs (goals: p99 ≤ 1.5×, µs ≤ 1.2× at 5,000 and"
      + " 10,000/s; delivered ≥ 0.95× at 20,000 and 40,000/s; Kafka µs ≤ 1.15× HTTP's)\n");
    byRate.forEach((rate, ratios) -> {
      sb.append(String.format(Locale.ROOT, "  %7.0f/s: p99× %s (%d of %d ≤ 1.5); µs× %s (%d ≤ 1.2); rate× %s (%d ≥ 0.95)",
        rate, list(ratios, 0), count(ratios, 0, r -> r <= 1.5), ratios.size(), list(ratios, 1),
        count(ratios, 1, r -> r <= 1.2), list(ratios, 2), count(ratios, 2, r -> r >= 0.95)));
      if (ratios.stream().anyMatch(r -> !Double.isNaN(r[3]))) {
        sb.append(String.format(Locale.ROOT, "; kafka/http µs× %s (%d ≤ 1.15)", list(ratios, 3),
          count(ratios, 3, r -> r <= 1.15)));
      }
      sb.append('\n');
    });
    return sb.toString();
  }

  private static String cells(Phase p) {
    return String.format(Locale.ROOT, "%8.0f %7s %8s %5.1f", p.delivered(), ms(p.p50()), ms(p.p99()),
      p.cpuMicrosPerDelivery());
  }

  private static String ms(double v) {
    return Double.isNaN(v) ? "-" : v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
  }

  private static String ratio(double a, double b) {
    return b > 0 && !Double.isNaN(a) ? String.format(Locale.ROOT, "%.2f", a / b) : "-";
  }

  private static String list(List<double[]> ratios, int k) {
    List<String> out = new ArrayList<>();
    for (double[] r : ratios) {
      out.add(Double.isNaN(r[k]) ? "-" : String.format(Locale.ROOT, "%.2f", r[k]));
    }
    return String.join(" ", out);
  }

  private static int count(List<double[]> ratios, int k, java.util.function.DoublePredicate ok) {
    int n = 0;
    for (double[] r : ratios) {
      if (!Double.isNaN(r[k]) && ok.test(r[k])) {
        n++;
      }
    }
    return n;
  }

  private static double number(JsonObject o, String key) {
    Object v = o.getValue(key);
    return v instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
