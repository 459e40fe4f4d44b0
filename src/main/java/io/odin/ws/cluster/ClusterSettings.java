package io.odin.ws.cluster;

import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;

import java.util.List;

/** Joining a cluster of odin-ws nodes (Vert.x clustered event bus over Hazelcast). */
public final class ClusterSettings {

  public static final ConfigKey ENABLED = ConfigKey.bool("cluster.enabled", false,
    "Join the cluster, like the -cluster option").env("ODIN_CLUSTER");
  public static final ConfigKey HOST = ConfigKey.string("cluster.host", "127.0.0.1",
    "Address this node binds and advertises for Hazelcast and the clustered event bus");
  public static final ConfigKey PORT = ConfigKey.port("cluster.port", 5701,
    "Hazelcast member port of this node");
  public static final ConfigKey EVENT_BUS_PORT = ConfigKey.integer("cluster.eventBusPort", 0, 0, 65535,
    "Port of the clustered event bus; 0 picks a free one");
  public static final ConfigKey MEMBERS = ConfigKey.stringList("cluster.members", List.of(),
    "Hazelcast members to join over TCP-IP (host or host:port); empty means cluster.host, ports cluster.port to cluster.port+9");
  public static final ConfigKey CONFIG_FILE = ConfigKey.string("cluster.config", "",
    "A Hazelcast XML file to use instead of the settings above (see conf/cluster/)");
  public static final ConfigKey HEARTBEAT_SECONDS = ConfigKey.integer("cluster.failureDetectionSeconds", 10, 2, 300,
    "Seconds without a heartbeat before a crashed member is declared gone and routing stops sending to it");
  public static final ConfigKey ANNOUNCE_INTERVAL_MS = ConfigKey.integer("cluster.announceIntervalMs", 5_000, 100, 600_000,
    "How often each node re-announces its live shards to the others (changes are announced at once)");

  public static final ConfigKey MERGE_DELAY_SECONDS = ConfigKey.integer("cluster.mergeDelaySeconds", 10, 1, 3600,
    "How often a node cut off from the cluster (long pause, network split) looks for it to merge back; its clients"
      + " get nothing from other nodes until it does (Hazelcast's default is 300 s)");

  public static final List<ConfigKey> KEYS = List.of(ENABLED, HOST, PORT, EVENT_BUS_PORT, MEMBERS, CONFIG_FILE,
    HEARTBEAT_SECONDS, ANNOUNCE_INTERVAL_MS, MERGE_DELAY_SECONDS);

  final String host;
  final int port;
  final int eventBusPort;
  final List<String> members;
  final String configFile;
  final int failureDetectionSeconds;
  final int announceIntervalMs;
  final int mergeDelaySeconds;

  public ClusterSettings(GatewayConfig config) {
    host = config.getString(HOST);
    port = config.getInt(PORT);
    eventBusPort = config.getInt(EVENT_BUS_PORT);
    members = config.getStringList(MEMBERS);
    configFile = config.getString(CONFIG_FILE);
    failureDetectionSeconds = config.getInt(HEARTBEAT_SECONDS);
    announceIntervalMs = config.getInt(ANNOUNCE_INTERVAL_MS);
    mergeDelaySeconds = config.getInt(MERGE_DELAY_SECONDS);
  }

  public String host() {
    return host;
  }

  public int eventBusPort() {
    return eventBusPort;
  }
}
