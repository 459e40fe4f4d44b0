package io.odin.ws.ingest;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.logging.RateLimitedLog;
import org.apache.kafka.common.utils.Utils;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Kafka as the main way in: one shared consumer pool per node, in one consumer group across the cluster. */
public final class KafkaSettings {

  public static final ConfigKey BOOTSTRAP_SERVERS = ConfigKey.string("kafka.bootstrapServers", "",
    "Kafka brokers (host:port,...); empty runs the node on the publish API alone");
  public static final ConfigKey TOPICS = ConfigKey.stringList("kafka.topics", List.of("odin-events"),
    "Topics whose records are publish envelopes");
  public static final ConfigKey GROUP_ID = ConfigKey.string("kafka.groupId", "odin-ws",
    "Consumer group shared by every node, so the cluster reads each record once");
  public static final ConfigKey CONSUMERS = ConfigKey.integer("kafka.consumers", 1, 1, 64,
    "Consumers per node (the node's pool); partitions are shared among all consumers of the group");
  public static final ConfigKey MAX_POLL_RECORDS = ConfigKey.integer("kafka.maxPollRecords", 500, 1, 100_000,
    "Records per poll, handed to dispatch as one batch per dispatcher");
  public static final ConfigKey MAX_IN_FLIGHT = ConfigKey.integer("kafka.maxInFlightBatches", 64, 1, 10_000,
    "Batches (one per dispatcher per poll) per consumer not yet handed to the shards; at it the partitions are paused."
      + " A backstop: kafka.maxInFlightRecords is the bound that normally applies");
  public static final ConfigKey MAX_IN_FLIGHT_RECORDS = ConfigKey.integer("kafka.maxInFlightRecords", 20_000, 1, 10_000_000,
    "Records per consumer polled and not yet handed to the shards; at it the partitions are paused, under half they"
      + " resume. A consumer's throughput is at most this over a batch's round trip (odin_ingest_stage_seconds{stage=\"roundtrip\"});"
      + " memory holds up to consumers x this records (odin_kafka_inflight_records)");
  public static final ConfigKey AUTO_OFFSET_RESET = ConfigKey.string("kafka.autoOffsetReset", "latest",
    "Where a group without committed offsets starts: latest (push only what is new) or earliest");
  public static final ConfigKey DEAD_LETTER_TOPIC = ConfigKey.string("kafka.deadLetterTopic", "",
    "Topic that receives a copy of every record skipped as bad (header odin-error says why); empty: none");
  public static final ConfigKey TYPE_HEADER = ConfigKey.string("kafka.typeHeader", "type",
    "Record header that supplies the message type when the envelope has none");
  public static final ConfigKey CHANNEL_TOPICS = ConfigKey.stringList("kafka.channelTopics", List.of(),
    "Topics whose records go to a channel: entries topic=channel, where {key} in the channel stands for the record key"
      + " (prices=prices:{key}). A record of such a topic whose envelope names neither a token nor a channel goes to that"
      + " channel's subscribers (its key is then not a token)");
  public static final ConfigKey RECONNECT_BACKOFF_MAX_MS = ConfigKey.integer("kafka.reconnectBackoffMaxMs", 10_000, 50, 600_000,
    "Longest wait between reconnection attempts while Kafka is unreachable");

  public static final ConfigKey COMMIT_INTERVAL_MS = ConfigKey.integer("kafka.commitIntervalMs", 1_000, 0, 60_000,
    "Least time between two offset commits of a consumer (what was handed to the shards since joins the next one); a"
      + " commit holds the consumer's next poll for a broker round trip. A node that crashes has this much more to read"
      + " again (at-least-once); 0: a commit after every hand-over");

  public static final ConfigKey SESSION_TIMEOUT_MS = ConfigKey.integer("kafka.sessionTimeoutMs", 10_000, 3_000, 300_000,
    "A crashed node's partitions go to the others after this long (Kafka's default, 45 s, stalls them that long)");

  /** Any Kafka client property (security.protocol, sasl.*, ssl.*), given to the consumers, the dead-letter producer and the health admin client. */
  public static final io.odin.ws.config.ConfigPrefix PROPERTIES = io.odin.ws.config.ConfigPrefix.of("kafka.properties.",
    "Any Kafka client property, passed through: kafka.properties.security.protocol, kafka.properties.sasl.jaas.config, ...;"
      + " ODIN_KAFKA_PROPERTIES_SASL_JAAS_CONFIG sets sasl.jaas.config (keep secrets in the environment); they override odin-ws's own settings");

  public static final List<ConfigKey> KEYS = List.of(BOOTSTRAP_SERVERS, TOPICS, GROUP_ID, CONSUMERS,
    MAX_POLL_RECORDS, MAX_IN_FLIGHT, MAX_IN_FLIGHT_RECORDS, AUTO_OFFSET_RESET, DEAD_LETTER_TOPIC, TYPE_HEADER, CHANNEL_TOPICS,
    RECONNECT_BACKOFF_MAX_MS, COMMIT_INTERVAL_MS, SESSION_TIMEOUT_MS);

  final String bootstrapServers;
  final List<String> topics;
  final String groupId;
  final int maxPollRecords;
  final int maxInFlight;
  final int maxInFlightRecords;
  final String autoOffsetReset;
  final String deadLetterTopic;
  final String typeHeader;
  final int reconnectBackoffMaxMs;
  final int commitIntervalMs;
  final int sessionTimeoutMs;
  /** Topic to the channel its records go to ({@code {key}}: the record key), from kafka.channelTopics. */
  final java.util.Map<String, String> channelTopics;
  /** The pass-through client properties (kafka.properties.*, prefix removed). */
  final java.util.Map<String, String> properties;

  public KafkaSettings(GatewayConfig config) {
    bootstrapServers = config.getString(BOOTSTRAP_SERVERS);
    topics = config.getStringList(TOPICS);
    groupId = config.getString(GROUP_ID);
    maxPollRecords = config.getInt(MAX_POLL_RECORDS);
    maxInFlight = config.getInt(MAX_IN_FLIGHT);
    maxInFlightRecords = config.getInt(MAX_IN_FLIGHT_RECORDS);
    autoOffsetReset = config.getString(AUTO_OFFSET_RESET);
    deadLetterTopic = config.getString(DEAD_LETTER_TOPIC);
    typeHeader = config.getString(TYPE_HEADER);
    reconnectBackoffMaxMs = config.getInt(RECONNECT_BACKOFF_MAX_MS);
    commitIntervalMs = config.getInt(COMMIT_INTERVAL_MS);
    sessionTimeoutMs = config.getInt(SESSION_TIMEOUT_MS);
    properties = config.getPrefixed(PROPERTIES);
    channelTopics = channelTopics(config);
  }

  /** The placeholder of kafka.channelTopics for the record key. */
  static final String KEY_PLACEHOLDER = "{key}";

  /** kafka.channelTopics as topic to channel template, each entry checked (the key's name in every error). */
  static java.util.Map<String, String> channelTopics(GatewayConfig config) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String entry : config.getStringList(CHANNEL_TOPICS)) {
      int eq = entry.indexOf('=');
      String topic = eq < 0 ? "" : entry.substring(0, eq).trim();
      String channel = eq < 0 ? "" : entry.substring(eq + 1).trim();
      String problem = io.odin.ws.protocol.ChannelName.problem(channel.replace(KEY_PLACEHOLDER, "k"));
      if (topic.isEmpty() || problem != null) {
        throw new ConfigException(CHANNEL_TOPICS.name() + ": \"" + entry + "\" is not topic=channel"
          + (topic.isEmpty() ? "" : " (the channel " + problem + "; {key} stands for the record key)"));
      }
      if (!config.getStringList(TOPICS).contains(topic)) {
        throw new ConfigException(CHANNEL_TOPICS.name() + ": topic " + topic + " is not one of kafka.topics");
      }
      if (out.put(topic, channel) != null) {
        throw new ConfigException(CHANNEL_TOPICS.name() + ": topic " + topic + " is named twice");
      }
    }
    return java.util.Map.copyOf(out);
  }

  /** The channel a record of {@code topic} with {@code key} goes to when its envelope names no target, or null. */
  static String channelOf(java.util.Map<String, String> channelTopics, String topic, String key) {
    String template = channelTopics.get(topic);
    if (template == null) {
      return null;
    }
    if (!template.contains(KEY_PLACEHOLDER)) {
      return template;
    }
    // without a key the channel cannot be named: the record is then judged as any other (no_target without a token)
    return key == null ? null : template.replace(KEY_PLACEHOLDER, key);
  }

  /** The pass-through properties an admin client knows (security ones), so it logs no unknown-config warnings. */
  java.util.Map<String, String> adminProperties() {
    java.util.Map<String, String> out = new java.util.HashMap<>();
    properties.forEach((k, v) -> {
      if (org.apache.kafka.clients.admin.AdminClientConfig.configNames().contains(k)) {
        out.put(k, v);
      }
    });
    return out;
  }

  /** True when Kafka ingest is configured. */
  public static boolean enabled(GatewayConfig config) {
    return !config.getString(BOOTSTRAP_SERVERS).isBlank();
  }

  /** The host:port entries of a bootstrap list, as the Kafka client splits it (commas, blanks trimmed). */
  static List<String> bootstrapEntries(String servers) {
    return Arrays.stream(servers.split(",")).map(String::trim).filter(e -> !e.isEmpty()).toList();
  }

  /**
   * Null when some broker name of the list resolves (the Kafka client needs one to be created); otherwise why none
   * does, for /health and the log. A name that does not resolve may yet (a broker's DNS entry not published, a
   * Service not up): the pool waits for it rather than failing the node. Blocking: it asks DNS.
   */
  static String unresolvedBootstrap(String servers) {
    List<String> failures = new ArrayList<>();
    for (String server : bootstrapEntries(servers)) {
      try {
        InetAddress.getAllByName(Utils.getHost(server));
        return null;
      } catch (UnknownHostException e) {
        failures.add(server + " (" + RateLimitedLog.describe(e) + ")");
      }
    }
    return "no broker name of " + BOOTSTRAP_SERVERS.name() + " resolves: " + String.join(", ", failures);
  }

  /** Checks what a key's type cannot say. */
  public static void validate(GatewayConfig config) {
    String servers = config.getString(BOOTSTRAP_SERVERS);
    if (enabled(config)) {
      // what can never work stops the start; a name that does not resolve (yet) is Kafka down (unresolvedBootstrap)
      List<String> entries = bootstrapEntries(servers);
      if (entries.isEmpty()) {
        throw new ConfigException(BOOTSTRAP_SERVERS.name() + ": no host:port in \"" + servers + "\"");
      }
      for (String entry : entries) {
        Integer port;
        try {
          port = Utils.getPort(entry);
        } catch (NumberFormatException e) {
          port = -1;
        }
        String host = Utils.getHost(entry);
        if (host == null || host.isEmpty() || port == null) {
          throw new ConfigException(BOOTSTRAP_SERVERS.name() + ": \"" + entry + "\" is not host:port");
        }
        if (port < 1 || port > 65535) {
          throw new ConfigException(BOOTSTRAP_SERVERS.name() + ": port of \"" + entry + "\" must be between 1 and 65535");
        }
      }
    }
    String reset = config.getString(AUTO_OFFSET_RESET);
    if (!reset.equals("latest") && !reset.equals("earliest")) {
      throw new ConfigException(AUTO_OFFSET_RESET.name() + ": must be latest or earliest, got \"" + reset + "\"");
    }
    channelTopics(config);
    if (enabled(config) && config.getStringList(TOPICS).isEmpty()) {
      throw new ConfigException(TOPICS.name() + ": at least one topic is needed when kafka.bootstrapServers is set");
    }
  }
}
