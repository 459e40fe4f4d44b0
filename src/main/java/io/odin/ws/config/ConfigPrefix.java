package io.odin.ws.config;

import java.util.Locale;
import java.util.Objects;

/**
 * A family of string keys sharing a prefix, passed through to a library that knows them (e.g.
 * {@code kafka.properties.sasl.mechanism} for the Kafka client). Any key under the prefix is accepted; its
 * environment variable is the prefix's ({@code ODIN_KAFKA_PROPERTIES_}) followed by the rest in upper snake
 * case, dots becoming underscores ({@code ODIN_KAFKA_PROPERTIES_SASL_MECHANISM}).
 */
public final class ConfigPrefix {

  private final String prefix;
  private final String envPrefix;
  private final String doc;

  private ConfigPrefix(String prefix, String doc) {
    if (!prefix.endsWith(".")) {
      throw new IllegalArgumentException("a prefix ends with a dot: " + prefix);
    }
    this.prefix = prefix;
    this.envPrefix = ConfigKey.envNameFor(prefix.substring(0, prefix.length() - 1)) + "_";
    this.doc = Objects.requireNonNull(doc);
  }

  public static ConfigPrefix of(String prefix, String doc) {
    return new ConfigPrefix(prefix, doc);
  }

  public String prefix() { return prefix; }
  public String envPrefix() { return envPrefix; }
  public String doc() { return doc; }

  boolean covers(String key) {
    return key.startsWith(prefix) && key.length() > prefix.length();
  }

  boolean coversEnv(String envName) {
    return envName.startsWith(envPrefix) && envName.length() > envPrefix.length();
  }

  /** {@code ODIN_KAFKA_PROPERTIES_SASL_JAAS_CONFIG} becomes {@code kafka.properties.sasl.jaas.config}. */
  String keyForEnv(String envName) {
    return prefix + envName.substring(envPrefix.length()).toLowerCase(Locale.ROOT).replace('_', '.');
  }

  /** A value from the config file: a string, or a number or boolean written as one. */
  String fromJson(String key, Object raw) {
    if (raw instanceof String || raw instanceof Boolean || (raw instanceof Number && !(raw instanceof Double) && !(raw instanceof Float))) {
      return raw.toString();
    }
    throw new ConfigException(key + ": must be a string, got " + (raw == null ? "null" : raw.getClass().getSimpleName()));
  }

  @Override
  public String toString() {
    return prefix + "*";
  }
}
