package io.odin.ws.dispatch;

import io.odin.ws.node.DispatchSetting;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.protocol.EnvelopeParser;

import java.util.HashSet;
import java.util.List;

/** How published messages are parsed and routed. */
public final class DispatchSettings {

  public static final ConfigKey INSTANCES = ConfigKey.integer("dispatch.instances", 1, 1, 64,
    "Dispatcher verticles per node; each Kafka partition always goes through the same one");
  public static final ConfigKey BROADCAST_TYPES = ConfigKey.stringList("dispatch.broadcastTypes",
    List.of("system-announcement", "maintenance-notify"),
    "Message types that go to every connection when the envelope names no token (besides channel global and \"broadcast\": true); with a token, only that token's connections get it; an envelope with no token and none of these is refused");
  public static final ConfigKey MAX_ENVELOPE_BYTES = ConfigKey.integer("dispatch.maxEnvelopeBytes", 65_536, 64, 16 << 20,
    "Largest envelope accepted from any source; larger ones are refused as oversized");
  public static final ConfigKey MAX_TOKENS_PER_ENVELOPE = ConfigKey.integer("dispatch.maxTokensPerEnvelope",
    EnvelopeParser.DEFAULT_MAX_TOKENS, 1, 100_000,
    "Most tokens one envelope may name (HTTP: 400, Kafka: bad record too_many_tokens)");
  public static final ConfigKey HANDOFF_TIMEOUT_MS = ConfigKey.integer("dispatch.handoffTimeoutMs", 10_000, 100, 600_000,
    "How long a producer (publish API, Kafka pool) waits for a dispatcher to hand a batch to the shards");

  public static final ConfigKey MODE = ConfigKey.string("dispatch.mode", DispatchSetting.TARGETED,
    "targeted (messages with tokens go to the shards the registry names) or broadcast (every message to every shard,"
      + " each filtering by token: the old system's behaviour); changed at run time with PUT /api/dispatch (docs/rollout.md)");
  public static final ConfigKey TARGETED_PERCENT = ConfigKey.integer("dispatch.targetedPercent", 100, 0, 100,
    "In targeted mode, the share of tokens (by a stable hash of the token) that use targeted dispatch; the others"
      + " take the broadcast path. The cluster's current value (PUT /api/dispatch) supersedes this one");

  public static final List<ConfigKey> KEYS = List.of(INSTANCES, BROADCAST_TYPES, MAX_ENVELOPE_BYTES, MAX_TOKENS_PER_ENVELOPE,
    HANDOFF_TIMEOUT_MS, MODE, TARGETED_PERCENT);

  private DispatchSettings() {
  }

  /** The node's rollout setting from its configuration, until the cluster's current one supersedes it. */
  public static DispatchSetting initialSetting(GatewayConfig config) {
    try {
      return DispatchSetting.fromConfig(config.getString(MODE), config.getInt(TARGETED_PERCENT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(MODE.name() + ": must be targeted or broadcast, got \"" + config.getString(MODE) + "\"");
    }
  }

  /** The envelope parser every source of messages uses, so HTTP and Kafka accept exactly the same envelopes. */
  public static EnvelopeParser parser(GatewayConfig config) {
    return new EnvelopeParser(new HashSet<>(config.getStringList(BROADCAST_TYPES)), config.getInt(MAX_ENVELOPE_BYTES),
      config.getInt(MAX_TOKENS_PER_ENVELOPE));
  }
}
