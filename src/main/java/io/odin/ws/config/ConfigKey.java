package io.odin.ws.config;

import io.vertx.core.json.JsonArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One configuration key: its dotted name, type, default, environment variable and one-line meaning.
 * Keys are declared as constants next to the code that reads them and gathered into a {@link ConfigSchema} (the
 * gateway's is io.odin.ws.GatewaySchema).
 */
public final class ConfigKey {

  /** The JSON shapes a key may take. */
  public enum Type { INT, STRING, BOOLEAN, STRING_LIST, INT_OR_AUTO }

  /** The word that {@link Type#INT_OR_AUTO} keys accept besides a number. */
  public static final String AUTO = "auto";

  private final String name;
  private final Type type;
  private final Object defaultValue;
  private final String env;
  private final String doc;
  private final long min;
  private final long max;

  private ConfigKey(String name, Type type, Object defaultValue, String env, String doc, long min, long max) {
    this.name = Objects.requireNonNull(name);
    this.type = type;
    this.defaultValue = defaultValue;
    this.env = env != null ? env : envNameFor(name);
    this.doc = doc;
    this.min = min;
    this.max = max;
  }

  public static ConfigKey integer(String name, int defaultValue, long min, long max, String doc) {
    return new ConfigKey(name, Type.INT, defaultValue, null, doc, min, max);
  }

  public static ConfigKey port(String name, int defaultValue, String doc) {
    return new ConfigKey(name, Type.INT, defaultValue, null, doc, 1, 65535);
  }

  public static ConfigKey string(String name, String defaultValue, String doc) {
    return new ConfigKey(name, Type.STRING, defaultValue, null, doc, 0, 0);
  }

  public static ConfigKey bool(String name, boolean defaultValue, String doc) {
    return new ConfigKey(name, Type.BOOLEAN, defaultValue, null, doc, 0, 0);
  }

  public static ConfigKey stringList(String name, List<String> defaultValue, String doc) {
    return new ConfigKey(name, Type.STRING_LIST, List.copyOf(defaultValue), null, doc, 0, 0);
  }

  /** A count that may also be {@code "auto"} (resolved by the reader, usually to the number of cores). */
  public static ConfigKey countOrAuto(String name, String doc) {
    return new ConfigKey(name, Type.INT_OR_AUTO, AUTO, null, doc, 1, 1024);
  }

  /** A count in {@code [min, max]} that may also be {@code "auto"} (resolved by the reader). */
  public static ConfigKey countOrAuto(String name, long min, long max, String doc) {
    return new ConfigKey(name, Type.INT_OR_AUTO, AUTO, null, doc, min, max);
  }

  /** The same key read from another environment variable than the derived one. */
  public ConfigKey env(String envName) {
    return new ConfigKey(name, type, defaultValue, envName, doc, min, max);
  }

  public String name() { return name; }
  public Type type() { return type; }
  public Object defaultValue() { return defaultValue; }
  public String envName() { return env; }
  public String doc() { return doc; }

  /** {@code ws.port} becomes {@code ODIN_WS_PORT}, {@code kafka.bootstrapServers} becomes {@code ODIN_KAFKA_BOOTSTRAP_SERVERS}. */
  static String envNameFor(String key) {
    StringBuilder sb = new StringBuilder("ODIN_");
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == '.' || c == '-') {
        sb.append('_');
      } else if (Character.isUpperCase(c)) {
        sb.append('_').append(c);
      } else {
        sb.append(Character.toUpperCase(c));
      }
    }
    return sb.toString();
  }

  /** Checks a value from the config file and returns it in its canonical Java form. */
  Object fromJson(Object raw) {
    switch (type) {
      case INT:
        if (!(raw instanceof Number) || raw instanceof Double || raw instanceof Float) {
          throw invalid("must be a whole number, got " + describe(raw));
        }
        return checkRange(((Number) raw).longValue());
      case INT_OR_AUTO:
        if (AUTO.equals(raw)) {
          return AUTO;
        }
        if (!(raw instanceof Number) || raw instanceof Double || raw instanceof Float) {
          throw invalid("must be a whole number or \"auto\", got " + describe(raw));
        }
        return checkRange(((Number) raw).longValue());
      case STRING:
        if (!(raw instanceof String)) {
          throw invalid("must be a string, got " + describe(raw));
        }
        return raw;
      case BOOLEAN:
        if (!(raw instanceof Boolean)) {
          throw invalid("must be true or false, got " + describe(raw));
        }
        return raw;
      case STRING_LIST:
        if (!(raw instanceof JsonArray) && !(raw instanceof List)) {
          throw invalid("must be an array of strings, got " + describe(raw));
        }
        List<?> items = raw instanceof JsonArray ? ((JsonArray) raw).getList() : (List<?>) raw;
        List<String> out = new ArrayList<>(items.size());
        for (Object item : items) {
          if (!(item instanceof String)) {
            throw invalid("must be an array of strings, found " + describe(item));
          }
          out.add((String) item);
        }
        return List.copyOf(out);
      default:
        throw new IllegalStateException(type.toString());
    }
  }

  /** Parses a value from an environment variable. */
  Object fromEnv(String raw) {
    String value = raw.trim();
    switch (type) {
      case INT:
      case INT_OR_AUTO:
        if (type == Type.INT_OR_AUTO && AUTO.equalsIgnoreCase(value)) {
          return AUTO;
        }
        try {
          return checkRange(Long.parseLong(value));
        } catch (NumberFormatException e) {
          throw invalid("environment variable " + env + " must be a whole number"
            + (type == Type.INT_OR_AUTO ? " or auto" : "") + ", got '" + raw + "'");
        }
      case STRING:
        return raw;
      case BOOLEAN:
        if (value.equalsIgnoreCase("true") || value.equals("1") || value.equalsIgnoreCase("yes")) {
          return true;
        }
        if (value.equalsIgnoreCase("false") || value.equals("0") || value.equalsIgnoreCase("no")) {
          return false;
        }
        throw invalid("environment variable " + env + " must be true or false, got '" + raw + "'");
      case STRING_LIST:
        List<String> out = new ArrayList<>();
        for (String part : value.split(",")) {
          if (!part.isBlank()) {
            out.add(part.trim());
          }
        }
        return List.copyOf(out);
      default:
        throw new IllegalStateException(type.toString());
    }
  }

  private Object checkRange(long value) {
    if (value < min || value > max) {
      throw invalid("must be between " + min + " and " + max + ", got " + value);
    }
    return (int) value;
  }

  private ConfigException invalid(String message) {
    return new ConfigException(name + ": " + message);
  }

  private static String describe(Object raw) {
    if (raw == null) {
      return "null";
    }
    if (raw instanceof String) {
      return "\"" + raw + "\"";
    }
    return raw.toString().toLowerCase(Locale.ROOT).length() > 60 ? raw.getClass().getSimpleName() : raw.toString();
  }

  @Override
  public String toString() {
    return name;
  }
}
