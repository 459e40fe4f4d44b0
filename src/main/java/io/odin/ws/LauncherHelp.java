package io.odin.ws;

import io.odin.ws.node.NodeContext;
import io.odin.ws.api.ApiSettings;
import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.shard.ShardSettings;

import java.util.List;

/**
 * What {@code java -jar odin-ws.jar --help} prints: odin-ws's own options, the keys most runs set (names,
 * environment variables and defaults come from the keys themselves, so they cannot drift) and where the rest are.
 * Vert.x's generic launcher help says nothing of these.
 */
final class LauncherHelp {

  static final List<ConfigKey> MAIN_KEYS = List.of(
    ShardSettings.PORT, ApiSettings.PORT, ShardSettings.INSTANCES, NodeContext.NODE_ID,
    RegistrySettings.REDIS_URL, KafkaSettings.BOOTSTRAP_SERVERS, KafkaSettings.TOPICS,
    ClusterSettings.ENABLED, ClusterSettings.HOST, ClusterSettings.PORT, ClusterSettings.MEMBERS, LogSettings.FORMAT);

  private LauncherHelp() {
  }

  static String text() {
    StringBuilder out = new StringBuilder();
    out.append("""
      odin-ws: a clustered WebSocket push gateway (Kafka and HTTP in, WebSocket clients out)

      Usage: java [JVM options] -jar odin-ws.jar [options]

      Options:
        -conf FILE|JSON        configuration: a JSON file (see conf/default.json) or inline JSON
        -instances N           shards on this node (shards.instances); default one per core
        -cluster               join the cluster (same as cluster.enabled=true)
        -cluster-host HOST     event-bus address of this node (default: cluster.host)
        -cluster-port PORT     event-bus port of this node (default: cluster.eventBusPort, 0 = any)
        -options FILE|JSON     Vert.x options, e.g. '{"blockedThreadCheckInterval":5000}'
        -h, --help             this text

      Main configuration keys (environment variable, default):
      """);
    for (ConfigKey key : MAIN_KEYS) {
      out.append(String.format("  %-24s %-30s %s%n", key.name(), key.envName(), defaultOf(key)));
    }
    out.append(String.format("""

      Every key, with its meaning and environment variable: conf/default.json (in the source tree).
      Precedence: default, then -conf, then the environment (ODIN_ + the key in upper snake case).
      An ODIN_* variable that no key reads is ignored, with a warning naming the nearest one.

      Endpoints: ws://HOST:3001/ws?token=T (clients), http://HOST:3004/api/publish (producers),
                 /health, /health/ready, /metrics and the status page on http://HOST:3004/

      Exit status: 0 stopped normally
                   2 invalid configuration or usage (the message names the key)
                   %d a port cannot be opened: taken, or no such local address (the message names the key)
                   11 Vert.x or the cluster could not start; 15 another start-up failure (see the log)
      """, ListenFailure.EXIT_CODE));
    return out.toString();
  }

  private static String defaultOf(ConfigKey key) {
    Object value = key.defaultValue();
    String text = value instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList())
      : String.valueOf(value);
    return text.isEmpty() ? "(empty)" : text;
  }
}
