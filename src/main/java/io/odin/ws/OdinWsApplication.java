package io.odin.ws;

import io.odin.ws.auth.ApiKeys;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.cluster.HazelcastConfigs;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.metrics.VertxMetricsSetup;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.launcher.application.HookContext;
import io.vertx.launcher.application.VertxApplication;
import io.vertx.launcher.application.VertxApplicationHooks;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The launcher: Vert.x 5's {@link VertxApplication} with odin-ws's hooks, so {@code -conf}, {@code -options},
 * {@code -cluster} and {@code -instances} work as Vert.x documents them. The main verticle (manifest
 * {@code Main-Verticle}) is {@link BootstrapVerticle}; for it, {@code -instances N} means N shards
 * ({@code shards.instances}), since one bootstrap per node deploys every role.
 * <p>Before Vert.x starts, the configuration is resolved and checked (a bad key stops startup with a message
 * naming it), the log format and node id are applied to logging, the event-loop pool is sized to the shard
 * count, Vert.x's metrics are switched on ({@link VertxMetricsSetup}), and, when
 * clustering ({@code -cluster} or {@code cluster.enabled}), the Hazelcast cluster manager and the event bus
 * address are set from the cluster.* keys.
 */
public class OdinWsApplication extends VertxApplication implements VertxApplicationHooks {

  /** Launcher options that take a value, so that the value is not mistaken for the main verticle's name. */
  private static final Set<String> OPTIONS_WITH_VALUE = Set.of("-options", "-vertx-options", "-conf",
    "-deployment-options", "-cluster-port", "-cluster-host", "-cluster-public-port", "-cluster-public-host");

  private final GatewayConfig config;
  private final boolean clustered;
  private final boolean eventBusAddressGiven;

  protected OdinWsApplication(String[] args, GatewayConfig config, boolean clustered, boolean eventBusAddressGiven) {
    super(args, null, true, true);
    this.config = config;
    this.clustered = clustered;
    this.eventBusAddressGiven = eventBusAddressGiven;
  }

  public static void main(String[] args) {
    List<String> rest = new ArrayList<>();
    Integer instances = null;
    String mainVerticle = null;
    String conf = null;
    boolean clusterFlag = false;
    boolean eventBusAddressGiven = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String option = (a.startsWith("--") ? a.substring(1) : a).toLowerCase(Locale.ROOT);
      if (option.equals("-instances") && i + 1 < args.length) {
        try {
          instances = Integer.parseInt(args[++i]);
        } catch (NumberFormatException e) {
          fail("-instances takes a number, got '" + args[i] + "'");
        }
        continue;
      }
      rest.add(a);
      if (option.equals("-cluster") || option.equals("-c")) {
        clusterFlag = true;
      } else if (OPTIONS_WITH_VALUE.contains(option) && i + 1 < args.length) {
        String value = args[++i];
        rest.add(value);
        if (option.equals("-conf")) {
          conf = value;
        } else if (option.equals("-cluster-host") || option.equals("-cluster-port")) {
          eventBusAddressGiven = true;
        }
      } else if (!a.startsWith("-") && mainVerticle == null) {
        mainVerticle = a;
      }
    }
    boolean bootstrap = mainVerticle == null || mainVerticle.equals(BootstrapVerticle.class.getName());
    if (mainVerticle == null) {
      // the bootstrap by default, also when run from a class path without the jar's Main-Verticle manifest entry
      rest.add(0, BootstrapVerticle.class.getName());
    }
    if (instances != null && !bootstrap) {
      // another main verticle: -instances keeps its Vert.x meaning
      rest.add("-instances");
      rest.add(instances.toString());
    }
    GatewayConfig config = null;
    try {
      JsonObject file = readConf(conf);
      if (instances != null && bootstrap) {
        file.put(ShardSettings.INSTANCES.name(), instances);
      }
      config = GatewayConfig.resolve(file, System.getenv());
      if (config.getString(NodeContext.NODE_ID).isEmpty()) {
        // pick the random node id now, so that it is on every log line from here on
        file.put(NodeContext.NODE_ID.name(), NodeContext.randomNodeId());
        config = GatewayConfig.resolve(file, System.getenv());
      }
      KafkaSettings.validate(config);
      AuthSettings.validate(config);
      ApiKeys.validate(config);
      TlsSettings.validate(config);
      new ClusterSettings(config);
      LogSettings.apply(config);
      LogSettings.nodeId(config.getString(NodeContext.NODE_ID));
    } catch (ConfigException e) {
      fail("invalid configuration: " + e.getMessage());
    }
    boolean clustered = clusterFlag || config.getBoolean(ClusterSettings.ENABLED);
    if (clustered && !clusterFlag) {
      rest.add("-cluster");
    }
    new OdinWsApplication(rest.toArray(new String[0]), config, clustered, eventBusAddressGiven).launch();
  }

  /** Reads {@code -conf} as Vert.x does: a JSON file if one exists at that path, else inline JSON. */
  private static JsonObject readConf(String conf) {
    if (conf == null) {
      return new JsonObject();
    }
    String text = conf;
    Path path = Path.of(conf);
    try {
      if (Files.isRegularFile(path)) {
        text = Files.readString(path);
      }
      return new JsonObject(text);
    } catch (IOException | DecodeException | java.nio.file.InvalidPathException e) {
      throw new ConfigException("-conf: neither a readable JSON file nor a JSON object: " + conf);
    }
  }

  private static void fail(String message) {
    System.err.println("odin-ws: " + message);
    System.exit(2);
  }

  @Override
  public JsonObject afterConfigParsed(JsonObject parsed) {
    // the bootstrap reads the resolved configuration, -instances and all
    return config.toJson();
  }

  @Override
  public VertxBuilder createVertxBuilder(VertxOptions options) {
    VertxBuilder builder = VertxApplicationHooks.super.createVertxBuilder(options);
    if (clustered) {
      try {
        builder.withClusterManager(new HazelcastClusterManager(HazelcastConfigs.build(new ClusterSettings(config))));
      } catch (ConfigException e) {
        fail("invalid configuration: " + e.getMessage());
      }
    }
    return builder;
  }

  @Override
  public void beforeStartingVertx(HookContext context) {
    VertxOptions options = context.vertxOptions();
    int shards = ShardSettings.shardCount(config);
    // one event loop per shard: the shards are the node's work, everything else shares their loops
    options.setEventLoopPoolSize(shards);
    options.setMetricsOptions(VertxMetricsSetup.options());
    options.setPreferNativeTransport(config.getBoolean(NodeContext.NATIVE_TRANSPORT));
    if (clustered) {
      ClusterSettings cluster = new ClusterSettings(config);
      EventBusOptions eventBus = options.getEventBusOptions();
      if (!eventBusAddressGiven) {
        eventBus.setHost(cluster.host()).setPort(cluster.eventBusPort());
      }
      // cluster.tls: node-to-node messages encrypted, and only nodes with a certificate from the cluster CA
      cluster.applyEventBusTls(eventBus);
    }
  }
}
