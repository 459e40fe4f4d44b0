package io.odin.ws.shard;

import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;

import java.util.List;

/** The WebSocket side of a node: listening, limits, liveness. */
public final class ShardSettings {

  public static final ConfigKey INSTANCES = ConfigKey.countOrAuto("shards.instances",
    "WebSocket shard verticles per node, each on its own event loop; \"auto\" is one per core").env("ODIN_SHARDS");
  public static final ConfigKey HOST = ConfigKey.string("ws.host", "0.0.0.0", "Address the WebSocket port binds to");
  public static final ConfigKey PORT = ConfigKey.port("ws.port", 3001, "WebSocket port, shared by all shards of the node");
  public static final ConfigKey PATH = ConfigKey.string("ws.path", "/ws", "Path clients connect to (ws://host:port/ws?token=...)");
  public static final ConfigKey MAX_FRAME_BYTES = ConfigKey.integer("ws.maxFrameBytes", 4096, 64, 1 << 20,
    "Largest frame or message a client may send; larger ones close the connection with 1009");
  public static final ConfigKey WRITE_QUEUE_MAX_BYTES = ConfigKey.integer("ws.writeQueueMaxBytes", 1 << 20, 1024, 1 << 28,
    "Bytes queued for one socket before it counts as slow; a message for a full socket is dropped and the socket closed with 1013");
  public static final ConfigKey PING_INTERVAL_MS = ConfigKey.integer("ws.pingIntervalMs", 30_000, 0, 3_600_000,
    "How often the server pings every connection at the WebSocket level; 0 turns pings off");
  public static final ConfigKey IDLE_TIMEOUT_MS = ConfigKey.integer("ws.idleTimeoutMs", 75_000, 100, 86_400_000,
    "A connection that answered no ping and sent nothing for this long is closed with 4408");
  public static final ConfigKey COMPRESSION = ConfigKey.bool("ws.compression", false,
    "permessage-deflate; off by default because it costs one deflate per socket instead of one encoding per message");

  public static final List<ConfigKey> KEYS = List.of(INSTANCES, HOST, PORT, PATH, MAX_FRAME_BYTES,
    WRITE_QUEUE_MAX_BYTES, PING_INTERVAL_MS, IDLE_TIMEOUT_MS, COMPRESSION);

  final String host;
  final int port;
  final String path;
  final int maxFrameBytes;
  final int writeQueueMaxBytes;
  final int pingIntervalMs;
  final int idleTimeoutMs;
  final boolean compression;

  public ShardSettings(GatewayConfig config) {
    host = config.getString(HOST);
    port = config.getInt(PORT);
    path = config.getString(PATH);
    maxFrameBytes = config.getInt(MAX_FRAME_BYTES);
    writeQueueMaxBytes = config.getInt(WRITE_QUEUE_MAX_BYTES);
    pingIntervalMs = config.getInt(PING_INTERVAL_MS);
    idleTimeoutMs = config.getInt(IDLE_TIMEOUT_MS);
    compression = config.getBoolean(COMPRESSION);
  }

  /** The number of shards to deploy: {@code shards.instances}, with "auto" meaning one per core. */
  public static int shardCount(GatewayConfig config) {
    return config.getCount(INSTANCES, Runtime.getRuntime().availableProcessors());
  }
}
