package io.odin.ws.config;

import io.odin.ws.NodeContext;
import io.odin.ws.api.ApiSettings;
import io.odin.ws.auth.ApiKeys;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.json.JsonArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every configuration key odin-ws knows, gathered from the classes that read them.
 * conf/default.json is this list rendered by {@link #defaultsDocument()}; a test keeps the two equal.
 */
public final class ConfigSchema {

  private static final List<List<ConfigKey>> GROUPS = List.of(
    NodeContext.KEYS,
    ShardSettings.KEYS,
    DispatchSettings.KEYS,
    ApiSettings.KEYS,
    RegistrySettings.KEYS,
    KafkaSettings.KEYS,
    ClusterSettings.KEYS,
    LogSettings.KEYS,
    AuthSettings.KEYS,
    ApiKeys.KEYS,
    TlsSettings.KEYS
  );

  /** Families of pass-through keys (any key under the prefix, a string). */
  private static final List<ConfigPrefix> PREFIXES = List.of(
    KafkaSettings.PROPERTIES
  );

  private ConfigSchema() {
  }

  /** Prints conf/default.json: {@code java -cp target/odin-ws.jar io.odin.ws.config.ConfigSchema > conf/default.json}. */
  public static void main(String[] args) {
    System.out.print(defaultsDocument());
  }

  public static List<ConfigKey> keys() {
    List<ConfigKey> all = new ArrayList<>();
    GROUPS.forEach(all::addAll);
    return Collections.unmodifiableList(all);
  }

  public static List<ConfigPrefix> prefixes() {
    return PREFIXES;
  }

  static Map<String, ConfigKey> byName() {
    Map<String, ConfigKey> map = new LinkedHashMap<>();
    for (ConfigKey key : keys()) {
      if (map.put(key.name(), key) != null) {
        throw new IllegalStateException("configuration key declared twice: " + key.name());
      }
    }
    return map;
  }

  /** ", did you mean ws.port?" for a near miss, or nothing. */
  static String suggestion(String unknown) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (ConfigKey key : keys()) {
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
  public static String defaultsDocument() {
    List<String> entries = new ArrayList<>();
    for (ConfigKey key : keys()) {
      entries.add("  " + quote(GatewayConfig.COMMENT_PREFIX + key.name()) + ": "
        + quote(key.doc() + " (env " + key.envName() + ")"));
      entries.add("  " + quote(key.name()) + ": " + render(key.defaultValue()));
    }
    for (ConfigPrefix prefix : PREFIXES) {
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
