package io.odin.ws.config;

import io.vertx.core.json.JsonArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

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

  /**
   * One warning per {@code ODIN_*} variable of {@code env} that no key reads (nor a pass-through family such as
   * {@code ODIN_KAFKA_PROPERTIES_*}), leaving out {@code otherUses}, the variables the project's tools read rather
   * than the gateway. Such a variable is ignored, so a typo ({@code ODIN_WS_PROT=3201}) would otherwise change
   * nothing without a word; the warning names the nearest variable and its key, as a misspelt -conf key's error does.
   */
  public List<String> unknownEnvironment(Map<String, String> env, Set<String> otherUses) {
    Set<String> read = new TreeSet<>();
    keys.forEach(k -> read.add(k.envName()));
    List<String> warnings = new ArrayList<>();
    for (String name : new TreeSet<>(env.keySet())) {
      if (!name.startsWith("ODIN_") || read.contains(name) || otherUses.contains(name)
          || prefixes.stream().anyMatch(p -> p.coversEnv(name))) {
        continue;
      }
      warnings.add("environment variable " + name + " names no configuration key and is ignored" + envSuggestion(name));
    }
    return warnings;
  }

  /** " (did you mean ODIN_WS_PORT, ws.port?)" for a near miss of a key's variable (or of its derived name), or nothing. */
  private String envSuggestion(String unknown) {
    ConfigKey best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (ConfigKey key : keys) {
      int d = Math.min(distance(unknown, key.envName()), distance(unknown, ConfigKey.envNameFor(key.name())));
      if (d < bestDistance) {
        bestDistance = d;
        best = key;
      }
    }
    return best != null && bestDistance <= 3 ? " (did you mean " + best.envName() + ", " + best.name() + "?)" : "";
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
