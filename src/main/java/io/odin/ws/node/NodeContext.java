package io.odin.ws.node;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.registry.ConnectionRegistry;
import io.odin.ws.registry.ShardDirectory;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the verticles of one node share: identity, configuration, registry, live shards and metrics.
 * The bootstrap verticle builds it and hands it to every verticle it deploys.
 */
public final class NodeContext {

  public static final ConfigKey NODE_ID = ConfigKey.string("node.id", "",
    "Node id, part of every shard address; empty picks a random one at start");

  public static final ConfigKey NATIVE_TRANSPORT = ConfigKey.bool("node.nativeTransport", true,
    "Use Linux epoll (Netty's native transport) when it loads: fewer allocations and system-call layers per write"
      + " than Java NIO; false or no native library = NIO (logged at start)");

  public static final List<ConfigKey> KEYS = List.of(NODE_ID, NATIVE_TRANSPORT);

  private final String nodeId;
  private final GatewayConfig config;
  private final int dispatcherCount;
  private final ConnectionRegistry registry;
  private final ShardDirectory directory;
  private final GatewayMetrics metrics;
  /** The node's WebSocket capacity, shared by its shards (ws.maxConnections, ws.maxConnectionsPerIp, ws.maxConnectionsPerToken). */
  private final ConnectionLimits connectionLimits;
  private final DispatchControl dispatchControl;
  private final PrometheusMeterRegistry prometheus;
  private final AtomicInteger nextDispatcher = new AtomicInteger();
  private final Map<Integer, ShardStatus> shards = new ConcurrentSkipListMap<>();
  private final Map<String, Supplier<JsonObject>> dependencies = new ConcurrentHashMap<>();
  private final Map<String, Supplier<String>> readinessConditions = new ConcurrentHashMap<>();
  private final long startedAtMillis = System.currentTimeMillis();
  private volatile ClusterStats clusterStats = ClusterStats.THIS_NODE_ONLY;
  private volatile boolean started;
  /** Completed as each producer that feeds the dispatchers by itself (a Kafka consumer) has stopped. */
  private final List<Future<?>> feedersStopped = new CopyOnWriteArrayList<>();

  /**
   * @param dispatcherCount how many dispatchers the node deploys (publish requests are spread over them)
   * @param initialDispatch  the configured dispatch setting (dispatch.mode, dispatch.targetedPercent), in force until
   *                        the cluster's current one arrives
   * @param connectionLimits the node's WebSocket capacity (ws.maxConnections, ws.maxConnectionsPerIp), shared by its shards
   * @param registryFactory the registry, built from the node's parts (the Redis registry needs its id, directory
   *                        and metrics)
   * @param prometheus      where the node's meters go: the registry Vert.x's own metrics write to, when enabled
   *                        (see {@link io.odin.ws.metrics.VertxMetricsSetup#registryOf}), so /metrics shows both
   */
  public NodeContext(GatewayConfig config, int dispatcherCount, DispatchSetting initialDispatch, ConnectionLimits connectionLimits,
                     Function<NodeContext, ConnectionRegistry> registryFactory, PrometheusMeterRegistry prometheus) {
    String configured = config.getString(NODE_ID);
    if (!configured.isEmpty() && !io.odin.ws.protocol.Token.isValid(configured)) {
      throw new io.odin.ws.config.ConfigException(NODE_ID.name() + ": " + io.odin.ws.protocol.Token.problem(configured));
    }
    this.nodeId = configured.isEmpty() ? randomNodeId() : configured;
    this.config = config;
    this.dispatcherCount = dispatcherCount;
    this.directory = new ShardDirectory(nodeId);
    this.prometheus = prometheus;
    this.metrics = new GatewayMetrics(prometheus);
    this.connectionLimits = connectionLimits;
    this.dispatchControl = new DispatchControl(initialDispatch);
    metrics.dispatchSetting(List.of(DispatchSetting.TARGETED, DispatchSetting.BROADCAST),
      () -> dispatchControl.current().mode(), () -> dispatchControl.current().targetedPercent(),
      () -> dispatchControl.current().version());
    this.registry = registryFactory.apply(this);
    dependencies.put("registry", () -> new JsonObject().put("kind", registry.kind()).put("status", "up"));
    dependencies.put("history", () -> registry.history().health());
  }

  /** What an empty {@code node.id} becomes. */
  public static String randomNodeId() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  public String nodeId() {
    return nodeId;
  }

  public GatewayConfig config() {
    return config;
  }

  public ConnectionRegistry registry() {
    return registry;
  }

  public ShardDirectory directory() {
    return directory;
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  public ConnectionLimits connectionLimits() {
    return connectionLimits;
  }

  /** The dispatch setting in force on this node (dispatch.mode, dispatch.targetedPercent), changed at run time. */
  public DispatchControl dispatchControl() {
    return dispatchControl;
  }

  public PrometheusMeterRegistry prometheus() {
    return prometheus;
  }

  public long startedAtMillis() {
    return startedAtMillis;
  }

  /** How the status page learns about the other nodes of the cluster; this node alone until clustering sets it. */
  public ClusterStats clusterStats() {
    return clusterStats;
  }

  public void clusterStats(ClusterStats stats) {
    this.clusterStats = stats;
  }

  /** The event-bus address of shard {@code index} of this node. Unique in the cluster. */
  public String shardAddress(int index) {
    return ShardDirectory.SHARD_ADDRESS_PREFIX + nodeId + "." + index;
  }

  /** The address where a node takes the batches other nodes' dispatchers route to its shards. */
  public static String relayAddress(String nodeId) {
    return "odin.node." + nodeId + ".relay";
  }

  /** The node-local address of dispatcher {@code index}. */
  public static String dispatcherAddress(int index) {
    return "odin.dispatch." + index;
  }

  public int dispatcherCount() {
    return dispatcherCount;
  }

  /** Spreads publish requests over the dispatchers. */
  public String nextDispatcherAddress() {
    return dispatcherAddress(Math.floorMod(nextDispatcher.getAndIncrement(), dispatcherCount()));
  }

  /** Shards report here when they listen and as their connection counts change. */
  public void shardStatus(int index, ShardStatus status) {
    if (status == null) {
      shards.remove(index);
    } else {
      shards.put(index, status);
    }
  }

  public Map<Integer, ShardStatus> shards() {
    return shards;
  }

  /** The shards' connection counts as /health and /api/stats show them. */
  public ShardSummary shardSummary() {
    return ShardSummary.of(shards.values());
  }

  /** Adds a dependency to /health (Kafka, Redis, cluster). */
  public void dependency(String name, Supplier<JsonObject> status) {
    dependencies.put(name, status);
  }

  public Map<String, Supplier<JsonObject>> dependencies() {
    return dependencies;
  }

  /**
   * A condition /health/ready waits for besides the start, e.g. signing keys for JWTs: {@code missing} says what
   * is missing, or null once nothing is.
   */
  public void readinessCondition(String name, Supplier<String> missing) {
    readinessConditions.put(name, missing);
  }

  /** What the node still waits for before it takes traffic, by condition; empty when nothing. */
  public Map<String, String> notReady() {
    Map<String, String> waiting = new java.util.TreeMap<>();
    readinessConditions.forEach((name, missing) -> {
      String why = missing.get();
      if (why != null) {
        waiting.put(name, why);
      }
    });
    return waiting;
  }

  /** What a shard shows in /health. */
  public interface ShardStatus {
    String address();

    int connections();
  }

  /** A producer that feeds the dispatchers by itself (a Kafka consumer): {@code stopped} completes when it has stopped. */
  public void feeder(Future<?> stopped) {
    feedersStopped.add(stopped);
  }

  /**
   * Completes once every feeder has stopped (failed or not): a dispatcher stops after them, so that a draining node
   * never takes records off Kafka that nobody can dispatch any more.
   */
  public Future<?> feedersStopped() {
    return Future.join(feedersStopped).otherwiseEmpty();
  }

  /** Set by the bootstrap once every verticle of the node is deployed; readiness waits for it. */
  public void markStarted() {
    started = true;
  }

  public boolean started() {
    return started;
  }
}
