package io.odin.ws.registry;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.MemoryHistory;
import io.odin.ws.metrics.GatewayMetrics;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.RedisRole;

import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Where the connection registry lives: in memory (one node, the default) or in Redis, when {@code redis.url} is
 * set or {@code redis.mode} is {@code sentinel} or {@code cluster}. See docs/registry.md.
 */
public final class RegistrySettings {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RegistrySettings.class);

  public static final String STANDALONE = "standalone";
  public static final String SENTINEL = "sentinel";
  public static final String CLUSTER = "cluster";

  public static final ConfigKey REDIS_URL = ConfigKey.string("redis.url", "",
    "Redis server, redis://[:password@]host:port[/db]; set it to keep the connection registry in Redis (empty: in memory, one node only)");
  public static final ConfigKey REDIS_MODE = ConfigKey.string("redis.mode", STANDALONE,
    "standalone (redis.url), sentinel (redis.sentinels and redis.masterName) or cluster (a Redis Cluster: redis.endpoints)");
  public static final ConfigKey REDIS_ENDPOINTS = ConfigKey.stringList("redis.endpoints", List.of(),
    "Seed nodes of the Redis Cluster for redis.mode cluster, e.g. redis://10.0.0.1:7000 (a few of its nodes; the others are found with CLUSTER NODES)");
  public static final ConfigKey REDIS_SENTINELS = ConfigKey.stringList("redis.sentinels", List.of(),
    "Sentinel endpoints for redis.mode sentinel, e.g. redis://10.0.0.1:26379");
  public static final ConfigKey REDIS_MASTER_NAME = ConfigKey.string("redis.masterName", "odin-registry",
    "Name of the master the sentinels monitor (redis.mode sentinel)");
  public static final ConfigKey REDIS_PASSWORD = ConfigKey.string("redis.password", "",
    "Redis password when it is not in redis.url (sentinel mode: the master's password; cluster mode: every node's, unless in redis.endpoints)");
  public static final ConfigKey REDIS_TIMEOUT = ConfigKey.integer("redis.timeout", 500, 10, 60_000,
    "Milliseconds a Redis round trip may take; a slower or failed lookup falls back to every shard");
  public static final ConfigKey REDIS_KEY_PREFIX = ConfigKey.string("redis.keyPrefix", "odin:",
    "Prefix of every registry key, so several gateways can share one Redis");
  public static final ConfigKey BREAKER_FAILURES = ConfigKey.integer("redis.breakerFailures", 3, 1, 1000,
    "Consecutive Redis failures that open the circuit breaker (dispatch falls back without asking Redis)");
  public static final ConfigKey BREAKER_PROBE_MS = ConfigKey.integer("redis.breakerProbeMs", 1000, 10, 600_000,
    "While the breaker is open, how often Redis is probed; when it answers, shards re-register and targeted dispatch resumes");
  public static final ConfigKey TTL = ConfigKey.integer("registry.ttl", 60, 2, 86_400,
    "Seconds a registry entry lives without a heartbeat (entries of a crashed node vanish after this)");
  public static final ConfigKey HEARTBEAT = ConfigKey.integer("registry.heartbeat", 30, 1, 43_200,
    "Seconds between the heartbeats in which each shard re-asserts all its entries in pipelined batches; less than registry.ttl");
  public static final ConfigKey COALESCE_MS = ConfigKey.integer("registry.coalesceMs", 5, 0, 1000,
    "Milliseconds registrations and removals collect before they are written to Redis in one pipelined flush (round trips of 4 script calls of up to 256 tokens, each held to redis.timeout on its own)");

  public static final List<ConfigKey> KEYS = List.of(REDIS_URL, REDIS_MODE, REDIS_ENDPOINTS, REDIS_SENTINELS, REDIS_MASTER_NAME,
    REDIS_PASSWORD, REDIS_TIMEOUT, REDIS_KEY_PREFIX, BREAKER_FAILURES, BREAKER_PROBE_MS, TTL, HEARTBEAT, COALESCE_MS);

  final String mode;
  final long ttlMillis;
  final long heartbeatMillis;
  final long coalesceMillis;
  final long timeoutMillis;
  final int breakerFailures;
  final long breakerProbeMillis;
  final String keyPrefix;
  final String endpoint;

  public RegistrySettings(GatewayConfig config) {
    check(config);
    mode = config.getString(REDIS_MODE).toLowerCase(Locale.ROOT);
    ttlMillis = config.getInt(TTL) * 1000L;
    heartbeatMillis = config.getInt(HEARTBEAT) * 1000L;
    coalesceMillis = config.getInt(COALESCE_MS);
    timeoutMillis = config.getInt(REDIS_TIMEOUT);
    breakerFailures = config.getInt(BREAKER_FAILURES);
    breakerProbeMillis = config.getInt(BREAKER_PROBE_MS);
    keyPrefix = config.getString(REDIS_KEY_PREFIX);
    endpoint = describe(config);
  }

  /** True when the registry lives in Redis. */
  public static boolean redisEnabled(GatewayConfig config) {
    String mode = config.getString(REDIS_MODE);
    return !config.getString(REDIS_URL).isBlank() || SENTINEL.equalsIgnoreCase(mode) || CLUSTER.equalsIgnoreCase(mode);
  }

  /**
   * Checks what the schema cannot: the mode, the sentinel endpoints, heartbeat below TTL.
   *
   * @throws ConfigException naming the key
   */
  public static void check(GatewayConfig config) {
    String mode = config.getString(REDIS_MODE).toLowerCase(Locale.ROOT);
    if (!mode.equals(STANDALONE) && !mode.equals(SENTINEL) && !mode.equals(CLUSTER)) {
      throw new ConfigException(REDIS_MODE.name() + ": must be standalone, sentinel or cluster, got \"" + config.getString(REDIS_MODE) + "\"");
    }
    if (mode.equals(CLUSTER)) {
      List<String> endpoints = config.getStringList(REDIS_ENDPOINTS);
      if (endpoints.isEmpty()) {
        throw new ConfigException(REDIS_ENDPOINTS.name() + ": redis.mode cluster needs at least one seed node, e.g. redis://10.0.0.1:7000");
      }
      for (String e : endpoints) {
        checkEndpoint(e);
      }
    }
    if (mode.equals(SENTINEL)) {
      if (config.getStringList(REDIS_SENTINELS).isEmpty()) {
        throw new ConfigException(REDIS_SENTINELS.name() + ": redis.mode sentinel needs at least one sentinel endpoint");
      }
      if (config.getString(REDIS_MASTER_NAME).isBlank()) {
        throw new ConfigException(REDIS_MASTER_NAME.name() + ": redis.mode sentinel needs the master name");
      }
    }
    String url = config.getString(REDIS_URL);
    if (!url.isBlank() && !url.startsWith("redis://") && !url.startsWith("rediss://") && !url.startsWith("unix://")) {
      throw new ConfigException(REDIS_URL.name() + ": must start with redis://, rediss:// or unix://, got \"" + url + "\"");
    }
    if (config.getInt(HEARTBEAT) >= config.getInt(TTL)) {
      throw new ConfigException(HEARTBEAT.name() + ": must be less than registry.ttl (" + config.getInt(TTL)
        + "), got " + config.getInt(HEARTBEAT));
    }
  }

  /** A Redis Cluster seed: redis:// or rediss://, a host and a port. */
  private static void checkEndpoint(String endpoint) {
    java.net.URI uri;
    try {
      uri = java.net.URI.create(endpoint);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(REDIS_ENDPOINTS.name() + ": not a URL: \"" + describeUrl(endpoint) + "\"");
    }
    if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme())) {
      throw new ConfigException(REDIS_ENDPOINTS.name() + ": must start with redis:// or rediss://, got \"" + describeUrl(endpoint) + "\"");
    }
    if (uri.getHost() == null || uri.getPort() <= 0) {
      throw new ConfigException(REDIS_ENDPOINTS.name() + ": needs a host and a port, e.g. redis://10.0.0.1:7000, got \""
        + describeUrl(endpoint) + "\"");
    }
  }

  /** The Vert.x Redis client options for {@code config}. */
  public static RedisOptions redisOptions(GatewayConfig config) {
    RedisOptions options = new RedisOptions()
      .setMaxPoolSize(8)
      .setMaxPoolWaiting(512)
      .setMaxWaitingHandlers(4096);
    String password = config.getString(REDIS_PASSWORD);
    if (!password.isEmpty()) {
      options.setPassword(password);
    }
    if (CLUSTER.equalsIgnoreCase(config.getString(REDIS_MODE))) {
      // the seeds; RedisClusterRegistry opens standalone connections to each master with these options
      options.setType(RedisClientType.CLUSTER).setEndpoints(new java.util.ArrayList<>(config.getStringList(REDIS_ENDPOINTS)));
    } else if (SENTINEL.equalsIgnoreCase(config.getString(REDIS_MODE))) {
      options.setType(RedisClientType.SENTINEL)
        .setEndpoints(config.getStringList(REDIS_SENTINELS))
        .setMasterName(config.getString(REDIS_MASTER_NAME))
        .setRole(RedisRole.MASTER)
        .setAutoFailover(true);
    } else {
      options.setType(RedisClientType.STANDALONE).setConnectionString(config.getString(REDIS_URL));
    }
    return options;
  }

  /**
   * The registry of node {@code nodeId}, with the node's history: Redis when configured, else in memory (history in
   * this node's memory, or none in a cluster: each node's would disagree).
   *
   * @param health where the Redis registry reports its state for /health
   */
  public static ConnectionRegistry create(Vertx vertx, GatewayConfig config, String nodeId, ShardDirectory directory,
                                          GatewayMetrics metrics, BiConsumer<String, Supplier<JsonObject>> health) {
    HistorySettings history = new HistorySettings(config);
    if (!redisEnabled(config)) {
      // alone it sees every connection; in a cluster only this node's (see InMemoryConnectionRegistry)
      boolean alone = !vertx.isClustered();
      return new InMemoryConnectionRegistry(alone,
        alone && history.enabled ? new MemoryHistory(history, System::currentTimeMillis) : null);
    }
    if (CLUSTER.equalsIgnoreCase(config.getString(REDIS_MODE))) {
      if (!config.getString(REDIS_URL).isBlank()) {
        // as in sentinel mode; said, so that nobody believes the node uses it (docker-compose.yml sets both)
        log.warn("redis.url is not used with redis.mode cluster: the registry is on the Redis Cluster of redis.endpoints");
      }
      return new RedisClusterRegistry(vertx, vertx.getOrCreateContext(), redisOptions(config),
        new RegistrySettings(config), history.enabled ? history : null, nodeId, directory, metrics, health);
    }
    return new RedisConnectionRegistry(vertx, vertx.getOrCreateContext(), redisOptions(config),
      new RegistrySettings(config), history.enabled ? history : null, nodeId, directory, metrics, health);
  }

  /** The endpoint for logs and /health, without credentials. */
  static String describe(GatewayConfig config) {
    if (CLUSTER.equalsIgnoreCase(config.getString(REDIS_MODE))) {
      return "cluster via " + describeUrl(String.join(",", config.getStringList(REDIS_ENDPOINTS)));
    }
    if (SENTINEL.equalsIgnoreCase(config.getString(REDIS_MODE))) {
      return "sentinel " + config.getString(REDIS_MASTER_NAME) + " via " + String.join(",", config.getStringList(REDIS_SENTINELS)).replaceAll("//[^@/]*@", "//");
    }
    return describeUrl(config.getString(REDIS_URL));
  }

  /** URLs without their credentials. */
  static String describeUrl(String urls) {
    return urls.replaceAll("//[^@/]*@", "//");
  }
}
