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

  public static final ConfigKey MAX_CLIENT_FRAMES_PER_SECOND = ConfigKey.integer("ws.maxClientFramesPerSecond", 50, 1, 1_000_000,
    "Frames (data, ping, close, and pongs other than the answer to the server's ping) one client may send within one second; a client above it is closed with 1008");
  public static final ConfigKey HANDSHAKE_TIMEOUT_MS = ConfigKey.integer("ws.handshakeTimeoutMs", 10_000, 100, 600_000,
    "From TCP accept to a completed WebSocket upgrade; a connection still without one is closed");
  public static final ConfigKey CLOSE_TIMEOUT_MS = ConfigKey.integer("ws.closeTimeoutMs", 5_000, 100, 600_000,
    "From the server's close frame to the TCP connection torn down, whatever the peer does");
  public static final ConfigKey MAX_CONNECTIONS = ConfigKey.countOrAuto("ws.maxConnections", 1, 100_000_000,
    "WebSocket connections per node (open and upgrading); beyond it a handshake gets 503. \"auto\": the process's"
      + " open-file limit minus a reserve for Kafka, Redis, the cluster and the management port (docs/security.md)");
  public static final ConfigKey MAX_CONNECTIONS_PER_IP = ConfigKey.integer("ws.maxConnectionsPerIp", 0, 0, 100_000_000,
    "WebSocket connections per client IP address per node; beyond it a handshake gets 503; 0 = no limit");

  public static final ConfigKey MAX_CONNECTIONS_PER_TOKEN = ConfigKey.integer("ws.maxConnectionsPerToken", 32, 0, 100_000_000,
    "WebSocket connections one token may hold per node (a user's devices and tabs); beyond it a handshake gets 503, so a"
      + " leaked token cannot hold thousands of sockets; 0 = no limit");

  public static final ConfigKey MAX_HANDSHAKES_PER_SECOND = ConfigKey.integer("ws.maxHandshakesPerSecond", 2000, 0, 1_000_000,
    "WebSocket handshakes the node starts per second (one second's worth may come at once); beyond it a handshake gets"
      + " 503 with Retry-After, the seconds after which to try again, so a reconnect storm is admitted at this rate while"
      + " the clients already connected keep getting their messages; 0 = no limit");

  public static final ConfigKey MAX_SUBSCRIPTIONS = ConfigKey.integer("ws.maxSubscriptionsPerConnection", 32, 0,
    io.odin.ws.protocol.Cursor.MAX_CHANNELS,
    "Channels one connection may be subscribed to at once (subscribe ops and ?channels= together); one more is refused"
      + " with an error. Each adds up to 30 characters to every message's id; 0 turns subscriptions off");
  public static final ConfigKey JOIN_LEAVE_NAMESPACES = ConfigKey.stringList("channels.joinLeaveNamespaces", List.of(),
    "Namespaces whose channels tell their subscribers who joins and leaves ({\"type\":\"join\"|\"leave\",\"channel\":..,"
      + "\"data\":{\"token\":..}}); empty (the default): no such events");

  public static final List<ConfigKey> KEYS = List.of(INSTANCES, HOST, PORT, PATH, MAX_FRAME_BYTES,
    WRITE_QUEUE_MAX_BYTES, PING_INTERVAL_MS, IDLE_TIMEOUT_MS, COMPRESSION, MAX_CLIENT_FRAMES_PER_SECOND,
    HANDSHAKE_TIMEOUT_MS, CLOSE_TIMEOUT_MS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP, MAX_CONNECTIONS_PER_TOKEN,
    MAX_HANDSHAKES_PER_SECOND, MAX_SUBSCRIPTIONS, JOIN_LEAVE_NAMESPACES);

  /**
   * File descriptors kept free of WebSocket connections when {@code ws.maxConnections} is auto: Kafka (a connection
   * per broker per consumer, the dead-letter producer), Redis (a few pooled connections), the Hazelcast cluster
   * (a few per member), the management port's clients, refused handshakes being answered, and the JVM's own files
   * (jars, epoll and event descriptors). A quarter of the limit when the limit is small.
   */
  public static final int RESERVED_FILE_DESCRIPTORS = 1024;

  final String host;
  final int port;
  final String path;
  final int maxFrameBytes;
  final int writeQueueMaxBytes;
  final int pingIntervalMs;
  final int idleTimeoutMs;
  final boolean compression;
  final int maxClientFramesPerSecond;
  final int handshakeTimeoutMs;
  final int closeTimeoutMs;
  final int maxSubscriptions;
  final java.util.Set<String> joinLeaveNamespaces;

  public ShardSettings(GatewayConfig config) {
    host = config.getString(HOST);
    port = config.getInt(PORT);
    path = config.getString(PATH);
    maxFrameBytes = config.getInt(MAX_FRAME_BYTES);
    writeQueueMaxBytes = config.getInt(WRITE_QUEUE_MAX_BYTES);
    pingIntervalMs = config.getInt(PING_INTERVAL_MS);
    idleTimeoutMs = config.getInt(IDLE_TIMEOUT_MS);
    compression = config.getBoolean(COMPRESSION);
    maxClientFramesPerSecond = config.getInt(MAX_CLIENT_FRAMES_PER_SECOND);
    handshakeTimeoutMs = config.getInt(HANDSHAKE_TIMEOUT_MS);
    closeTimeoutMs = config.getInt(CLOSE_TIMEOUT_MS);
    maxSubscriptions = config.getInt(MAX_SUBSCRIPTIONS);
    joinLeaveNamespaces = java.util.Set.copyOf(config.getStringList(JOIN_LEAVE_NAMESPACES));
  }

  /** {@code ws.maxConnections}, with auto resolved from this process's open-file limit. */
  public static int maxConnections(GatewayConfig config) {
    return config.getCount(MAX_CONNECTIONS, maxConnectionsFor(openFileLimit()));
  }

  /** What auto means for an open-file limit ({@code -1}: unknown, e.g. not a Unix JVM). */
  static int maxConnectionsFor(long openFileLimit) {
    if (openFileLimit <= 0) {
      return 65_536 - RESERVED_FILE_DESCRIPTORS;
    }
    long reserve = Math.min(RESERVED_FILE_DESCRIPTORS, openFileLimit / 4);
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, openFileLimit - reserve));
  }

  /** The process's open-file limit (RLIMIT_NOFILE), or -1 when the JVM does not tell. */
  static long openFileLimit() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.UnixOperatingSystemMXBean
      ? ((com.sun.management.UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount() : -1;
  }

  /** The number of shards to deploy: {@code shards.instances}, with "auto" meaning one per core. */
  public static int shardCount(GatewayConfig config) {
    return config.getCount(INSTANCES, Runtime.getRuntime().availableProcessors());
  }
}
