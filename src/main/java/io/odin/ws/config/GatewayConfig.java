package io.odin.ws.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The resolved configuration of one node: every key of a {@link ConfigSchema} (the gateway's is
 * {@code io.odin.ws.GatewaySchema}) with a checked value.
 * Precedence, lowest first: the key's default, the config JSON ({@code -conf}), the environment.
 */
public final class GatewayConfig {

  /** Keys starting with this prefix are comments in the config file. */
  public static final String COMMENT_PREFIX = "//";

  private final Map<String, Object> values;

  private GatewayConfig(Map<String, Object> values) {
    this.values = values;
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
    return new GatewayConfig(values);
  }

  /** A copy with one key set, checked like a value from the config file. */
  public GatewayConfig with(ConfigKey key, Object value) {
    Map<String, Object> copy = new LinkedHashMap<>(values);
    copy.put(key.name(), key.fromJson(value));
    return new GatewayConfig(copy);
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
    return json;
  }

  @Override
  public String toString() {
    return toJson().encode();
  }
}
