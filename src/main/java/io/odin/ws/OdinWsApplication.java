package io.odin.ws;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.launcher.application.HookContext;
import io.vertx.launcher.application.VertxApplication;
import io.vertx.launcher.application.VertxApplicationHooks;
import io.odin.ws.metrics.VertxMetricsSetup;

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
 * naming it), the log format and node id are applied to logging, the event-loop pool is sized to the shard count,
 * and Vert.x's metrics are switched on ({@link VertxMetricsSetup}).
 */
public class OdinWsApplication extends VertxApplication implements VertxApplicationHooks {

  private final Integer shardInstances;
  private GatewayConfig resolved;

  protected OdinWsApplication(String[] args, Integer shardInstances) {
    super(args, null, true, true);
    this.shardInstances = shardInstances;
  }

  /** Launcher options that take a value, so that the value is not mistaken for the main verticle's name. */
  private static final Set<String> OPTIONS_WITH_VALUE = Set.of("-options", "-vertx-options", "-conf",
    "-deployment-options", "-cluster-port", "-cluster-host", "-cluster-public-port", "-cluster-public-host");

  public static void main(String[] args) {
    List<String> rest = new ArrayList<>();
    Integer instances = null;
    String mainVerticle = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String option = a.startsWith("--") ? a.substring(1) : a;
      if (option.equalsIgnoreCase("-instances") && i + 1 < args.length) {
        try {
          instances = Integer.parseInt(args[++i]);
        } catch (NumberFormatException e) {
          System.err.println("odin-ws: -instances takes a number, got '" + args[i] + "'");
          System.exit(2);
        }
        continue;
      }
      rest.add(a);
      if (OPTIONS_WITH_VALUE.contains(option.toLowerCase(Locale.ROOT)) && i + 1 < args.length) {
        rest.add(args[++i]);
      } else if (!a.startsWith("-") && mainVerticle == null) {
        mainVerticle = a;
      }
    }
    if (mainVerticle == null) {
      // the bootstrap by default, also when run from a class path without the jar's Main-Verticle manifest entry
      rest.add(0, BootstrapVerticle.class.getName());
    } else if (instances != null && !mainVerticle.equals(BootstrapVerticle.class.getName())) {
      // another main verticle: -instances keeps its Vert.x meaning
      rest.add("-instances");
      rest.add(instances.toString());
      instances = null;
    }
    new OdinWsApplication(rest.toArray(new String[0]), instances).launch();
  }

  @Override
  public JsonObject afterConfigParsed(JsonObject config) {
    JsonObject conf = config != null ? config : new JsonObject();
    if (shardInstances != null) {
      conf.put(ShardSettings.INSTANCES.name(), shardInstances);
    }
    try {
      resolved = GatewayConfig.resolve(conf, System.getenv());
      if (resolved.getString(NodeContext.NODE_ID).isEmpty()) {
        // pick the random node id now, so that it is on every log line from here on
        conf.put(NodeContext.NODE_ID.name(), NodeContext.randomNodeId());
        resolved = GatewayConfig.resolve(conf, System.getenv());
      }
      LogSettings.apply(resolved);
      LogSettings.nodeId(resolved.getString(NodeContext.NODE_ID));
    } catch (ConfigException e) {
      System.err.println("odin-ws: invalid configuration: " + e.getMessage());
      System.exit(2);
    }
    return conf;
  }

  @Override
  public void beforeStartingVertx(HookContext context) {
    VertxOptions options = context.vertxOptions();
    int shards = ShardSettings.shardCount(resolved);
    // one event loop per shard: the shards are the node's work, everything else shares their loops
    options.setEventLoopPoolSize(shards);
    options.setMetricsOptions(VertxMetricsSetup.options());
  }
}
