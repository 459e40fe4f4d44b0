package io.odin.ws;

import io.odin.ws.cluster.ClusterSettings;
import io.odin.ws.cluster.HazelcastConfigs;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.ingest.KafkaSettings;
import io.odin.ws.logging.LogSettings;
import io.odin.ws.metrics.VertxMetricsSetup;
import io.odin.ws.node.NodeContext;
import io.odin.ws.registry.RegistrySettings;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.Deployable;
import io.netty.buffer.ByteBufAllocator;
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
import java.util.function.Supplier;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The launcher: Vert.x 5's {@link VertxApplication} with odin-ws's hooks, so {@code -conf}, {@code -options},
 * {@code -cluster} and {@code -instances} work as Vert.x documents them. The main verticle (manifest
 * {@code Main-Verticle}) is {@link BootstrapVerticle}; for it, {@code -instances N} means N shards
 * ({@code shards.instances}), since one bootstrap per node deploys every role.
 * <p>Before Vert.x starts, the configuration is resolved and checked, once (a bad key stops startup with a message
 * naming it), the log format and node id are applied to logging, the event-loop pool is sized to the shard
 * count, Vert.x's metrics are switched on ({@link VertxMetricsSetup}), and, when
 * clustering ({@code -cluster} or {@code cluster.enabled}), the Hazelcast cluster manager and the event bus
 * address are set from the cluster.* keys.
 */
public class OdinWsApplication extends VertxApplication implements VertxApplicationHooks {

  private static final Logger log = LoggerFactory.getLogger(OdinWsApplication.class);

  /** Launcher options that take a value, so that the value is not mistaken for the main verticle's name. */
  private static final Set<String> OPTIONS_WITH_VALUE = Set.of("-options", "-vertx-options", "-conf",
    "-deployment-options", "-cluster-port", "-cluster-host", "-cluster-public-port", "-cluster-public-host");

  private static final Set<String> HELP_FLAGS = Set.of("-h", "-help", "--help");

  private final GatewayConfig config;
  private final boolean bootstrap;
  private volatile boolean deployed;
  private long stoppingSince;
  private final boolean clustered;
  private final boolean eventBusAddressGiven;

  protected OdinWsApplication(String[] args, GatewayConfig config, boolean bootstrap, boolean clustered,
                              boolean eventBusAddressGiven) {
    super(args, null, true, true);
    this.config = config;
    this.bootstrap = bootstrap;
    this.clustered = clustered;
    this.eventBusAddressGiven = eventBusAddressGiven;
  }

  public static void main(String[] args) {
    for (String a : args) {
      if (HELP_FLAGS.contains(a.toLowerCase(Locale.ROOT))) {
        System.out.print(LauncherHelp.text());
        return;
      }
    }
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
      config = GatewaySchema.resolve(file, System.getenv());
      if (config.getString(NodeContext.NODE_ID).isEmpty()) {
        // pick the random node id now, so that it is on every log line from here on
        config = config.with(NodeContext.NODE_ID, NodeContext.randomNodeId());
      }
      LogSettings.apply(config);
      LogSettings.nodeId(config.getString(NodeContext.NODE_ID));
      for (String warning : GatewaySchema.unknownEnvironment(System.getenv())) {
        log.warn(warning);
      }
    } catch (ConfigException e) {
      fail("invalid configuration: " + e.getMessage());
    }
    boolean clustered = clusterFlag || config.getBoolean(ClusterSettings.ENABLED);
    if (clustered && !clusterFlag) {
      rest.add("-cluster");
    }
    new OdinWsApplication(rest.toArray(new String[0]), config, bootstrap, clustered, eventBusAddressGiven).launch();
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

  /** The bootstrap gets the configuration resolved in {@link #main}, -instances and all: it is resolved once. */
  @Override
  public Supplier<? extends Deployable> verticleSupplier() {
    return bootstrap ? () -> new BootstrapVerticle(config) : null;
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

  /**
   * Netty 4.2's allocator registers its JFR events when it allocates its first chunk, which loads the JDK's JFR
   * metadata: seconds on a loaded machine, on whichever event loop wrote first (at start-up a shard's, whose Redis
   * writes then timed out). Paid here instead, on the main thread before any event loop runs.
   */
  static void warmUpAllocator() {
    try {
      ByteBufAllocator.DEFAULT.directBuffer(1).release();
    } catch (RuntimeException | LinkageError e) {
      log.debug("allocator warm-up failed (harmless): {}", e.toString());
    }
  }

  @Override
  public void afterFailureToDeployVerticle(HookContext context, Throwable t) {
    Throwable cause = t;
    while (cause != null && !(cause instanceof ListenFailure) && !(cause instanceof ConfigException)) {
      cause = cause.getCause();
    }
    if (cause == null) {
      VertxApplicationHooks.super.afterFailureToDeployVerticle(context, t);
      return;
    }
    // a cause the operator can fix, said in the configuration's terms: one line, no stack trace
    int exitCode = cause instanceof ListenFailure ? ListenFailure.EXIT_CODE : 2;
    String message = cause.getMessage().startsWith("invalid configuration") || cause instanceof ListenFailure
      ? cause.getMessage() : "invalid configuration: " + cause.getMessage();
    System.err.println("odin-ws: " + message);
    try {
      context.vertx().close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // exiting anyway
    }
    System.exit(exitCode);
  }

  @Override
  public void afterVerticleDeployed(HookContext context) {
    deployed = true;
  }

  @Override
  public void beforeStoppingVertx(HookContext context) {
    stoppingSince = System.nanoTime();
    if (!deployed) {
      return;
    }
    // what this node does, not what some node might: no Kafka offsets on a node without Kafka
    List<String> steps = new ArrayList<>(List.of("clients get 1001"));
    if (RegistrySettings.redisEnabled(config)) {
      steps.add("registry entries removed");
    }
    if (KafkaSettings.enabled(config)) {
      steps.add("Kafka offsets committed");
    }
    if (clustered) {
      steps.add("then it leaves the cluster");
    }
    log.info("odin-ws node {} stopping: {}", config.getString(NodeContext.NODE_ID), String.join(", ", steps));
  }

  @Override
  public void afterVertxStopped(HookContext context) {
    if (!deployed) {
      return;
    }
    log.info("odin-ws node {} stopped in {} ms", config.getString(NodeContext.NODE_ID),
      TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppingSince));
  }

  @Override
  public void beforeStartingVertx(HookContext context) {
    warmUpAllocator();
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
