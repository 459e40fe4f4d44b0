package io.odin.ws.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The resolved configuration of one node: every key of a {@link ConfigSchema} (the gateway's is
 * {@code io.odin.ws.GatewaySchema}) with a checked value.
 * Precedence, lowest first: the key's default, the config JSON ({@code -conf}), the environment.
 */
public final class GatewayConfig {

  /** Keys starting with this prefix are comments in the config file. */
  public static final String COMMENT_PREFIX = "//";

  private final Map<String, Object> values;
  /** Pass-through keys of the {@link ConfigSchema#prefixes()} families, full name to value. */
  private final Map<String, String> prefixed;

  private GatewayConfig(Map<String, Object> values, Map<String, String> prefixed) {
    this.values = values;
    this.prefixed = prefixed;
  }

  /** The defaults alone. */
  public static GatewayConfig defaults(ConfigSchema schema) {
    return resolve(schema, new JsonObject(), Map.of());
  }

  /**
   * Checks and merges a config file with the environment.
   *
   * @throws ConfigException naming the first key that is unknown or has a bad value
   */
  public static GatewayConfig resolve(ConfigSchema schema, JsonObject file, Map<String, String> env) {
    Map<String, ConfigKey> known = schema.byName();
    Map<String, Object> values = new LinkedHashMap<>();
    Map<String, String> prefixed = new TreeMap<>();
    for (ConfigKey key : known.values()) {
      values.put(key.name(), key.defaultValue());
    }
    if (file != null) {
      for (Map.Entry<String, Object> e : file) {
        String name = e.getKey();
        if (name.startsWith(COMMENT_PREFIX)) {
          continue;
        }
        ConfigKey key = known.get(name);
        ConfigPrefix family = key == null ? prefixOf(schema, name) : null;
        if (family != null) {
          prefixed.put(name, family.fromJson(name, e.getValue()));
          continue;
        }
        if (key == null) {
          throw new ConfigException(name + ": unknown configuration key" + schema.suggestion(name));
        }
        values.put(name, key.fromJson(e.getValue()));
      }
    }
    for (ConfigKey key : known.values()) {
      String raw = env.get(key.envName());
      if (raw != null) {
        values.put(key.name(), key.fromEnv(raw));
      }
    }
    for (Map.Entry<String, String> e : env.entrySet()) {
      for (ConfigPrefix family : schema.prefixes()) {
        if (family.coversEnv(e.getKey())) {
          prefixed.put(family.keyForEnv(e.getKey()), e.getValue());
        }
      }
    }
    return new GatewayConfig(values, prefixed);
  }

  private static ConfigPrefix prefixOf(ConfigSchema schema, String name) {
    for (ConfigPrefix family : schema.prefixes()) {
      if (family.covers(name)) {
        return family;
      }
    }
    return null;
  }

  /** The keys of one pass-through family, without the prefix: {@code sasl.mechanism -> SCRAM-SHA-512}. */
  public Map<String, String> getPrefixed(ConfigPrefix family) {
    Map<String, String> out = new TreeMap<>();
    prefixed.forEach((k, v) -> {
      if (family.covers(k)) {
        out.put(k.substring(family.prefix().length()), v);
      }
    });
    return out;
  }

  /** A copy with one key set, checked like a value from the config file. */
  public GatewayConfig with(ConfigKey key, Object value) {
    Map<String, Object> copy = new LinkedHashMap<>(values);
    copy.put(key.name(), key.fromJson(value));
    return new GatewayConfig(copy, prefixed);
  }

  public int getInt(ConfigKey key) {
    return (Integer) get(key, ConfigKey.Type.INT);
  }

  public String getString(ConfigKey key) {
    return (String) get(key, ConfigKey.Type.STRING);
  }

  public boolean getBoolean(ConfigKey key) {
    return (Boolean) get(key, ConfigKey.Type.BOOLEAN);
  }

  @SuppressWarnings("unchecked")
  public List<String> getStringList(ConfigKey key) {
    return (List<String>) get(key, ConfigKey.Type.STRING_LIST);
  }

  /** A count key's value, with {@code "auto"} replaced by {@code auto}. */
  public int getCount(ConfigKey key, int auto) {
    Object v = get(key, ConfigKey.Type.INT_OR_AUTO);
    return ConfigKey.AUTO.equals(v) ? auto : (Integer) v;
  }

  private Object get(ConfigKey key, ConfigKey.Type type) {
    if (key.type() != type) {
      throw new IllegalArgumentException(key.name() + " is a " + key.type() + " key, read as " + type);
    }
    if (!values.containsKey(key.name())) {
      throw new IllegalArgumentException(key.name() + " is not in the configuration schema");
    }
    return values.get(key.name());
  }

  /** Every key with its resolved value, as a flat JSON object (the form of conf/default.json). */
  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    values.forEach((k, v) -> json.put(k, v instanceof List ? new JsonArray((List<?>) v) : v));
    prefixed.forEach(json::put);
    return json;
  }

  @Override
  public String toString() {
    return toJson().encode();
  }
}
