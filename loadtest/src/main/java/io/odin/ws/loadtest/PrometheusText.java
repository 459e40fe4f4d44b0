package io.odin.ws.loadtest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One Prometheus text exposition (a node's {@code /metrics}) as samples: name, labels, value. Enough of the format for
 * what the load tool reads from the gateway: counters, gauges and histogram buckets.
 */
final class PrometheusText {

  record Sample(String name, Map<String, String> labels, double value) {
  }

  private final List<Sample> samples = new ArrayList<>();

  PrometheusText(String text) {
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      Sample s = parse(line);
      if (s != null) {
        samples.add(s);
      }
    }
  }

  /** The sum of the samples of {@code name} whose labels include {@code labels} (name, value, ...); NaN when none. */
  double sum(String name, String... labels) {
    double sum = Double.NaN;
    for (Sample s : samples) {
      if (s.name.equals(name) && matches(s, labels)) {
        sum = Double.isNaN(sum) ? s.value : sum + s.value;
      }
    }
    return sum;
  }

  /**
   * The cumulative buckets of histogram {@code name} (its {@code _bucket} samples), by upper bound in the exposition's
   * unit, summed over label sets; {@code +Inf} is {@link Double#POSITIVE_INFINITY}.
   */
  TreeMap<Double, Double> buckets(String name) {
    TreeMap<Double, Double> out = new TreeMap<>();
    for (Sample s : samples) {
      if (s.name.equals(name + "_bucket") && s.labels.containsKey("le")) {
        String le = s.labels.get("le");
        double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
        out.merge(bound, s.value, Double::sum);
      }
    }
    return out;
  }

  /**
   * The {@code q} quantile (0..1) of what was recorded between two reads of a histogram's cumulative buckets, as the
   * upper bound of the bucket it falls in (Prometheus's histogram_quantile interpolates; a bound is what is known);
   * NaN when nothing was recorded.
   */
  static double quantile(TreeMap<Double, Double> before, TreeMap<Double, Double> after, double q) {
    double total = delta(before, after, Double.POSITIVE_INFINITY);
    if (!(total > 0)) {
      return Double.NaN;
    }
    double rank = q * total;
    for (Map.Entry<Double, Double> e : after.entrySet()) {
      if (delta(before, after, e.getKey()) >= rank) {
        return e.getKey();
      }
    }
    return Double.POSITIVE_INFINITY;
  }

  /** Observations at or under {@code bound} recorded between the two reads. */
  static double delta(TreeMap<Double, Double> before, TreeMap<Double, Double> after, double bound) {
    Double a = after.get(bound);
    if (a == null) {
      return 0;
    }
    Double b = before == null ? null : before.get(bound);
    return Math.max(0, a - (b == null ? 0 : b));
  }

  private static boolean matches(Sample s, String[] labels) {
    for (int i = 0; i + 1 < labels.length; i += 2) {
      if (!labels[i + 1].equals(s.labels.get(labels[i]))) {
        return false;
      }
    }
    return true;
  }

  /** {@code name{a="x",b="y"} value [timestamp]}; null when the line does not parse. */
  static Sample parse(String line) {
    int i = 0;
    int n = line.length();
    while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < n && line.charAt(i) == '{') {
      i++;
      while (i < n && line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
          return null;
        }
        String key = line.substring(i, eq).trim();
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        while (j < n && line.charAt(j) != '"') {
          char c = line.charAt(j);
          if (c == '\\' && j + 1 < n) {
            char e = line.charAt(++j);
            value.append(e == 'n' ? '\n' : e);
          } else {
            value.append(c);
          }
          j++;
        }
        labels.put(key, value.toString());
        i = j + 1;
        if (i < n && line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    String rest = i < n ? line.substring(i).trim() : "";
    int space = rest.indexOf(' ');
    try {
      return new Sample(name, labels, Double.parseDouble(space < 0 ? rest : rest.substring(0, space)));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
