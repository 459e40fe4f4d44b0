package io.odin.ws;

import io.odin.ws.api.ApiSettings;
import io.odin.ws.auth.ApiKeys;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigSchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.node.NodeContext;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every configuration key of the gateway, assembled here, where the features are known: each feature declares its
 * keys in its {@code *Settings.KEYS}, and a new Settings class adds one line to {@link #SCHEMA}'s list. The
 * {@code config} package below knows no feature. conf/default.json is {@link #SCHEMA} rendered by {@link #main}.
 */
public final class GatewaySchema {

  public static final ConfigSchema SCHEMA = new ConfigSchema(List.of(
    NodeContext.KEYS,
    ShardSettings.KEYS,
    DispatchSettings.KEYS,
    ApiSettings.KEYS,
    RegistrySettings.KEYS,
    HistorySettings.KEYS,
    KafkaSettings.KEYS,
    ClusterSettings.KEYS,
    LogSettings.KEYS,
    AuthSettings.KEYS,
    ApiKeys.KEYS,
    TlsSettings.KEYS
  ), List.of(
    KafkaSettings.PROPERTIES
  ));

  /**
   * ODIN_* variables that the project's scripts, compose file, image build and tests read, never the gateway: set in
   * a gateway's environment they draw no "names no configuration key" warning. (ODIN_API_KEY, which
   * scripts/gcp/canary reads on an operator's machine, is left out on purpose: in a gateway's environment it is
   * most likely ODIN_API_KEYS misspelt, a node left open.)
   */
  public static final Set<String> TOOL_VARIABLES = Set.of(
    "ODIN_JAR", "ODIN_WS_JAR", "ODIN_GATEWAY_JVM_OPTS", "ODIN_NODES", "ODIN_CURL_ARGS", "ODIN_UID",
    "ODIN_IMAGE", "ODIN_IMAGE_CACHE", "ODIN_REDIS_IMAGE", "ODIN_KAFKA_IMAGE", "ODIN_PROMETHEUS_IMAGE", "ODIN_GRAFANA_IMAGE",
    "ODIN_NODE_MEMORY", "ODIN_REQUIRE_BROWSER", "ODIN_REQUIRE_CONTAINERS");

  private GatewaySchema() {
  }

  /** The warnings for ODIN_* variables of {@code env} that no key reads (see {@link ConfigSchema#unknownEnvironment}). */
  public static List<String> unknownEnvironment(Map<String, String> env) {
    return SCHEMA.unknownEnvironment(env, TOOL_VARIABLES);
  }

  /** Prints conf/default.json: {@code java -cp target/odin-ws.jar io.odin.ws.GatewaySchema > conf/default.json}. */
  public static void main(String[] args) {
    System.out.print(SCHEMA.defaultsDocument());
  }

  /**
   * The node's configuration from a config file (or inline JSON) and the environment: every key checked, then the
   * checks that span keys of one feature.
   *
   * @throws ConfigException naming the first key that is unknown or has a bad value
   */
  public static GatewayConfig resolve(JsonObject file, Map<String, String> env) {
    GatewayConfig config = GatewayConfig.resolve(SCHEMA, file, env);
    KafkaSettings.validate(config);
    RegistrySettings.check(config);
    DispatchSettings.initialSetting(config);
    AuthSettings.validate(config);
    ApiKeys.validate(config);
    TlsSettings.validate(config);
    new ClusterSettings(config);
    return config;
  }

  /** The defaults alone. */
  public static GatewayConfig defaults() {
    return GatewayConfig.defaults(SCHEMA);
  }
}
