package io.odin.ws.config;

import io.vertx.core.json.JsonArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of configuration keys, in the order conf/default.json lists them. The gateway's is assembled where the
 * features are known ({@code io.odin.ws.GatewaySchema}), so this package depends on no feature.
 * conf/default.json is that schema rendered by {@link #defaultsDocument()}; a test keeps the two equal.
 */
public final class ConfigSchema {

  private final List<ConfigKey> keys;
  private final Map<String, ConfigKey> byName;
  private final List<ConfigPrefix> prefixes;

  /**
   * @param groups   each feature's keys (its {@code *Settings.KEYS}), in document order
   * @param prefixes families of pass-through keys (any key under the prefix, a string), e.g. kafka.properties.*
   */
  public ConfigSchema(List<List<ConfigKey>> groups, List<ConfigPrefix> prefixes) {
    this.prefixes = List.copyOf(prefixes);
    List<ConfigKey> all = new ArrayList<>();
    groups.forEach(all::addAll);
    Map<String, ConfigKey> map = new LinkedHashMap<>();
    for (ConfigKey key : all) {
      if (map.put(key.name(), key) != null) {
        throw new IllegalStateException("configuration key declared twice: " + key.name());
      }
    }
    this.keys = Collections.unmodifiableList(all);
    this.byName = Collections.unmodifiableMap(map);
  }

  public List<ConfigKey> keys() {
    return keys;
  }

  Map<String, ConfigKey> byName() {
    return byName;
  }

  public List<ConfigPrefix> prefixes() {
    return prefixes;
  }

  /** ", did you mean ws.port?" for a near miss, or nothing. */
  String suggestion(String unknown) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (ConfigKey key : keys) {
      int d = distance(unknown.toLowerCase(), key.name().toLowerCase());
      if (d < bestDistance) {
        bestDistance = d;
        best = key.name();
      }
    }
    return best != null && bestDistance <= 3 ? " (did you mean " + best + "?)" : "";
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /**
   * The text of conf/default.json: each key preceded by a {@code "//key"} comment entry with its meaning
   * and environment variable, then the key with its default.
   */
  public String defaultsDocument() {
    List<String> entries = new ArrayList<>();
    for (ConfigKey key : keys) {
      entries.add("  " + quote(GatewayConfig.COMMENT_PREFIX + key.name()) + ": "
        + quote(key.doc() + " (env " + key.envName() + ")"));
      entries.add("  " + quote(key.name()) + ": " + render(key.defaultValue()));
    }
    for (ConfigPrefix prefix : prefixes) {
      entries.add("  " + quote(GatewayConfig.COMMENT_PREFIX + prefix) + ": "
        + quote(prefix.doc() + " (env " + prefix.envPrefix() + "<NAME>)"));
    }
    return "{\n" + String.join(",\n", entries) + "\n}\n";
  }

  private static String render(Object value) {
    if (value instanceof List) {
      return new JsonArray((List<?>) value).encode().replace("\",\"", "\", \"");
    }
    if (value instanceof String) {
      return quote((String) value);
    }
    return String.valueOf(value);
  }

  private static String quote(String s) {
    return new JsonArray().add(s).encode().replaceAll("^\\[|\\]$", "");
  }
}
