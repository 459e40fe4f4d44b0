package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The per-node figures a plan is made of, read from a figures file (what {@code scripts/benchmarks figures} writes):
 * <pre>
 * {"schema": 1,
 *  "measured": {"at": "...", "machine": "...", "command": "..."},
 *  "figures": {"node.cpuMicrosPerBroadcastDelivery": {"value": 13.8, "unit": "µs", "source": "scripts/benchmarks broadcast"}, ...}}
 * </pre>
 * Every {@link Figure} must be there, each with a number and a source; anything else is refused with the field's name,
 * all problems at once, so a file edited by hand or written by another measurement never yields a plan from a typo.
 */
public final class Figures {

  public static final int SCHEMA = 1;

  /** One figure: its value and where it comes from. */
  public record Value(double value, String source) {
  }

  private final Map<Figure, Value> values;
  private final JsonObject measured;
  private final String origin;

  private Figures(Map<Figure, Value> values, JsonObject measured, String origin) {
    this.values = values;
    this.measured = measured;
    this.origin = origin;
  }

  public double get(Figure f) {
    return values.get(f).value();
  }

  public String source(Figure f) {
    return values.get(f).source();
  }

  /** The file's {@code measured} object (when, where, with what): shown with every plan. */
  public JsonObject measured() {
    return measured.copy();
  }

  /** Where the figures were read from (a file name). */
  public String origin() {
    return origin;
  }

  /** Figures as given, for tests and for {@link FiguresReport}. */
  public static Figures of(Map<Figure, Value> values, JsonObject measured, String origin) {
    List<String> problems = new ArrayList<>();
    for (Figure f : Figure.values()) {
      if (!values.containsKey(f)) {
        problems.add("figures: " + f.key + " is missing");
      }
    }
    if (!problems.isEmpty()) {
      throw new FiguresException(origin, problems);
    }
    return new Figures(new EnumMap<>(values), measured == null ? new JsonObject() : measured.copy(), origin);
  }

  /**
   * Parses a figures file's text; {@code origin} names it in errors.
   *
   * @throws FiguresException naming every bad or missing field
   */
  public static Figures parse(String text, String origin) {
    JsonObject root;
    try {
      root = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new FiguresException(origin, List.of("not a JSON object: " + e.getMessage()));
    }
    List<String> problems = new ArrayList<>();
    Object schema = root.getValue("schema");
    if (!(schema instanceof Number n) || n.doubleValue() != SCHEMA) {
      problems.add("schema: must be " + SCHEMA + ", got " + describe(schema)
        + " (a file from another version of the planner: rewrite it with scripts/benchmarks figures)");
    }
    Object measuredValue = root.getValue("measured");
    if (measuredValue != null && !(measuredValue instanceof JsonObject)) {
      problems.add("measured: must be an object (when, where and how the figures were taken), got " + describe(measuredValue));
    }
    Object figuresValue = root.getValue("figures");
    Map<Figure, Value> values = new EnumMap<>(Figure.class);
    if (!(figuresValue instanceof JsonObject figures)) {
      problems.add("figures: " + (figuresValue == null ? "missing" : "must be an object, got " + describe(figuresValue))
        + " (one entry per figure: {\"value\": NUMBER, \"unit\": \"...\", \"source\": \"...\"})");
    } else {
      for (String key : figures.fieldNames()) {
        Figure f = Figure.of(key);
        String field = "figures.\"" + key + "\"";
        if (f == null) {
          String near = Figure.nearest(key);
          problems.add(field + ": no such figure" + (near != null ? " (did you mean " + near + "?)" : "")
            + "; known: see loadtest/src/main/java/io/odin/ws/loadtest/capacity/Figure.java or docs/scale.md");
          continue;
        }
        Value v = value(field, f, figures.getValue(key), problems);
        if (v != null) {
          values.put(f, v);
        }
      }
      List<String> missing = new ArrayList<>();
      Set<String> present = figures.fieldNames();
      for (Figure f : Figure.values()) {
        if (!present.contains(f.key)) {
          missing.add(f.key);
        }
      }
      if (!missing.isEmpty()) {
        problems.add("figures: missing " + String.join(", ", missing) + " (the model reads every figure)");
      }
    }
    if (!problems.isEmpty()) {
      throw new FiguresException(origin, problems);
    }
    return new Figures(values, measuredValue instanceof JsonObject m ? m : new JsonObject(), origin);
  }

  private static Value value(String field, Figure f, Object entry, List<String> problems) {
    if (!(entry instanceof JsonObject e)) {
      problems.add(field + ": must be an object {\"value\": NUMBER, \"unit\": \"" + f.unit + "\", \"source\": \"...\"}, got "
        + describe(entry));
      return null;
    }
    boolean ok = true;
    Object raw = e.getValue("value");
    double v = Double.NaN;
    if (!(raw instanceof Number n) || !Double.isFinite(n.doubleValue())) {
      problems.add(field + ".value: must be a number (" + f.unit + ": " + f.meaning + "), got " + describe(raw));
      ok = false;
    } else {
      v = n.doubleValue();
      if (divisor(f) && v <= 0) {
        problems.add(field + ".value: must be above 0 (the model divides by it), got " + raw);
        ok = false;
      } else if (v < 0) {
        problems.add(field + ".value: must not be negative, got " + raw);
        ok = false;
      }
    }
    Object unit = e.getValue("unit");
    if (unit != null && !f.unit.equals(unit)) {
      problems.add(field + ".unit: must be \"" + f.unit + "\" (the figure is read in " + f.unit + "), got " + describe(unit));
      ok = false;
    }
    Object source = e.getValue("source");
    if (!(source instanceof String s) || s.isBlank()) {
      problems.add(field + ".source: missing: say where the figure comes from (a command and its date, a document,"
        + " or \"assumption: ...\")");
      ok = false;
    }
    for (String k : e.fieldNames()) {
      if (!k.equals("value") && !k.equals("unit") && !k.equals("source")) {
        problems.add(field + ": unknown field \"" + k + "\" (a figure has value, unit and source)");
        ok = false;
      }
    }
    return ok ? new Value(v, (String) source) : null;
  }

  /** The figures the model divides by: zero would make a plan of infinite machines. */
  private static boolean divisor(Figure f) {
    return f == Figure.REDIS_COMMANDS_PER_MASTER || f == Figure.KAFKA_BYTES_PER_PARTITION
      || f == Figure.KAFKA_BYTES_PER_BROKER || f == Figure.REDIS_STORED_FRAME_BYTES;
  }

  private static String describe(Object o) {
    if (o == null) {
      return "nothing";
    }
    if (o instanceof String s) {
      return "\"" + s + "\"";
    }
    return String.valueOf(o);
  }

  /** The figures as the file format: what {@link FiguresReport} writes. */
  public JsonObject toJson() {
    JsonObject figures = new JsonObject();
    for (Figure f : Figure.values()) {
      Value v = values.get(f);
      figures.put(f.key, new JsonObject().put("value", v.value()).put("unit", f.unit).put("source", v.source()));
    }
    return new JsonObject().put("schema", SCHEMA).put("measured", measured.copy()).put("figures", figures);
  }

  /** Bad figures: every problem found, each naming its field. */
  public static final class FiguresException extends RuntimeException {
    private final String origin;
    private final List<String> problems;

    FiguresException(String origin, List<String> problems) {
      super(origin + ": " + String.join("; ", problems));
      this.origin = origin;
      this.problems = List.copyOf(problems);
    }

    /** The file (or what stands for it) the problems are in. */
    public String origin() {
      return origin;
    }

    public List<String> problems() {
      return problems;
    }
  }
}
