package io.odin.ws.testsupport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A parsed Prometheus text exposition (what {@code GET /metrics} answers). */
public final class Scrape {

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+)(\\s+\\S+)?$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** One sample line. */
  public static final class Sample {
    public final String name;
    public final Map<String, String> labels;
    public final double value;

    Sample(String name, Map<String, String> labels, double value) {
      this.name = name;
      this.labels = labels;
      this.value = value;
    }

    @Override
    public String toString() {
      return name + labels + " " + value;
    }
  }

  public final String text;
  private final List<Sample> samples = new ArrayList<>();
  private final Map<String, String> types = new LinkedHashMap<>();

  public Scrape(String text) {
    this.text = text;
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        types.put(parts[2], parts[3]);
        continue;
      }
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("not a Prometheus sample line: " + line);
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      samples.add(new Sample(m.group(1), Collections.unmodifiableMap(labels), parse(m.group(4))));
    }
  }

  private static double parse(String v) {
    switch (v) {
      case "+Inf": return Double.POSITIVE_INFINITY;
      case "-Inf": return Double.NEGATIVE_INFINITY;
      case "NaN": return Double.NaN;
      default: return Double.parseDouble(v);
    }
  }

  /** Every sample name in the scrape ({@code foo_bucket}, {@code foo_count}, ... for histograms). */
  public Set<String> names() {
    Set<String> names = new LinkedHashSet<>();
    samples.forEach(s -> names.add(s.name));
    return names;
  }

  /** The {@code # TYPE} of a metric family, or null. */
  public String type(String family) {
    return types.get(family);
  }

  /** The samples of {@code name} whose labels include {@code labels} (name, value, name, value, ...). */
  public List<Sample> samples(String name, String... labels) {
    List<Sample> out = new ArrayList<>();
    for (Sample s : samples) {
      if (s.name.equals(name) && matches(s, labels)) {
        out.add(s);
      }
    }
    return out;
  }

  /** The sum of the matching samples; 0 when there are none. */
  public double sum(String name, String... labels) {
    return samples(name, labels).stream().mapToDouble(s -> s.value).sum();
  }

  public boolean has(String name) {
    return samples.stream().anyMatch(s -> s.name.equals(name));
  }

  private static boolean matches(Sample s, String[] labels) {
    for (int i = 0; i < labels.length; i += 2) {
      if (!labels[i + 1].equals(s.labels.get(labels[i]))) {
        return false;
      }
    }
    return true;
  }
}
