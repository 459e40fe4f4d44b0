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

  public static final ConfigKey NAME = ConfigKey.string("cluster.name", "odin-ws",
    "Cluster name: only nodes with the same name (and cluster.secret) form a cluster");
  public static final ConfigKey SECRET = ConfigKey.string("cluster.secret", "",
    "A shared secret folded into the Hazelcast cluster name, so a member without it is not admitted; not encryption"
      + " nor authentication against a determined attacker (docs/security.md); keep it in the environment");
  public static final ConfigKey TLS = ConfigKey.bool("cluster.tls", false,
    "The clustered event bus over mutual TLS: each node presents cluster.tlsCertPath and accepts only peers whose"
      + " certificate is signed by cluster.tlsCaPath");
  public static final ConfigKey TLS_CERT_PATH = ConfigKey.string("cluster.tlsCertPath", "",
    "PEM certificate of this node for the event bus (client and server)");
  public static final ConfigKey TLS_KEY_PATH = ConfigKey.string("cluster.tlsKeyPath", "",
    "PEM private key of cluster.tlsCertPath");
  public static final ConfigKey TLS_CA_PATH = ConfigKey.string("cluster.tlsCaPath", "",
    "PEM CA certificate(s) that sign the nodes' event-bus certificates; peers signed by anything else are refused");

  public static final List<ConfigKey> KEYS = List.of(ENABLED, HOST, PORT, EVENT_BUS_PORT, MEMBERS, CONFIG_FILE,
    HEARTBEAT_SECONDS, ANNOUNCE_INTERVAL_MS, MERGE_DELAY_SECONDS, NAME, SECRET, TLS, TLS_CERT_PATH, TLS_KEY_PATH,
    TLS_CA_PATH);

  final String host;
  final int port;
  final int eventBusPort;
  final List<String> members;
  final String configFile;
  final int failureDetectionSeconds;
  final int announceIntervalMs;
  final int mergeDelaySeconds;
  final String name;
  final String secret;
  final boolean tls;
  final String tlsCertPath;
  final String tlsKeyPath;
  final String tlsCaPath;

  public ClusterSettings(GatewayConfig config) {
    host = config.getString(HOST);
    port = config.getInt(PORT);
    eventBusPort = config.getInt(EVENT_BUS_PORT);
    members = config.getStringList(MEMBERS);
    configFile = config.getString(CONFIG_FILE);
    failureDetectionSeconds = config.getInt(HEARTBEAT_SECONDS);
    announceIntervalMs = config.getInt(ANNOUNCE_INTERVAL_MS);
    mergeDelaySeconds = config.getInt(MERGE_DELAY_SECONDS);
    name = config.getString(NAME);
    secret = config.getString(SECRET);
    tls = config.getBoolean(TLS);
    tlsCertPath = config.getString(TLS_CERT_PATH);
    tlsKeyPath = config.getString(TLS_KEY_PATH);
    tlsCaPath = config.getString(TLS_CA_PATH);
    if (name.isBlank()) {
      throw new io.odin.ws.config.ConfigException(NAME.name() + ": must not be empty");
    }
    if (tls) {
      for (ConfigKey k : List.of(TLS_CERT_PATH, TLS_KEY_PATH, TLS_CA_PATH)) {
        String path = config.getString(k);
        if (path.isEmpty() || !java.nio.file.Files.isReadable(java.nio.file.Path.of(path))) {
          throw new io.odin.ws.config.ConfigException(k.name() + ": a readable PEM file is required when cluster.tls is on, got \"" + path + "\"");
        }
      }
    }
  }

  /**
   * The Hazelcast cluster name: {@code cluster.name}, and with a secret, the name plus a SHA-256 digest of
   * name and secret. Hazelcast admits only members that present the same name, so a node without the secret
   * is refused at join, while the secret itself never goes on the wire.
   */
  public String hazelcastClusterName() {
    if (secret.isEmpty()) {
      return name;
    }
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
        .digest((name + "\u0000" + secret).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return name + "-" + java.util.HexFormat.of().formatHex(digest);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The event bus over mutual TLS (cluster.tls): PEM key and certificate, peers checked against the CA. */
  public void applyEventBusTls(io.vertx.core.eventbus.EventBusOptions eventBus) {
    if (!tls) {
      return;
    }
    eventBus.setSsl(true)
      .setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(tlsCertPath).setKeyPath(tlsKeyPath))
      .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tlsCaPath))
      .setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
  }

  public String host() {
    return host;
  }

  public int eventBusPort() {
    return eventBusPort;
  }
}
