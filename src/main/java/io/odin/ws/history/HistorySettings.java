package io.odin.ws.history;

import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;

import java.util.List;

/**
 * Message history for recovery on reconnect (docs/protocol.md, "Reconnecting without loss"): every message is
 * stored in its streams before any shard writes it, so a client that reconnects with the {@code id} of the last
 * message it received gets what it missed.
 */
public final class HistorySettings {

  public static final ConfigKey ENABLED = ConfigKey.bool("history.enabled", true,
    "Store every message (in Redis with redis.url, else in this node's memory) so that a client reconnecting with"
      + " since=<last id> gets what it missed; off: since= is always answered recovered:false");
  public static final ConfigKey SIZE = ConfigKey.integer("history.size", 300, 1, 1_000_000,
    "Messages kept per stream (each token's targeted messages; all broadcasts); a cursor older than them is answered"
      + " recovered:false");
  public static final ConfigKey TTL_MS = ConfigKey.integer("history.ttlMs", 300_000, 1_000, 86_400_000,
    "How long a stream is kept at least after its last message and after its token's last connection (Redis: up to"
      + " 1.25 times as long); a client away for longer is answered recovered:false");
  public static final ConfigKey MAX_REPLAY = ConfigKey.integer("history.maxReplay", 1000, 1, 1_000_000,
    "Most messages replayed to one connection (token and broadcast streams together); a client that missed more is"
      + " answered recovered:false. Also the most live messages held for a connection while its replay is written:"
      + " beyond it the client is closed as slow (1013)");
  public static final ConfigKey GAP_WAIT_MS = ConfigKey.integer("history.gapWaitMs", 250, 1, 60_000,
    "How long a shard holds a message that arrived before one of its stream's earlier messages (two dispatchers"
      + " raced) before it reads the missing ones from the history");

  public static final ConfigKey UNSTORED_WINDOW_MS = ConfigKey.integer("history.unstoredWindowMs", 10_000, 1_000, 600_000,
    "How long after a message went out unstored (Redis slow or down) a shard it reached answers recovered:false to a"
      + " reconnect whose cursor covers its stream (its token's, its channel's; after a broadcast every reconnect): the"
      + " time the sending node needs to open new epochs for it and tell the cluster, with room for load");
  public static final ConfigKey MAX_UNSTORED_STREAMS = ConfigKey.integer("history.maxUnstoredStreams", 50_000, 1,
    10_000_000,
    "Streams a shard remembers for history.unstoredWindowMs after an unstored message of theirs"
      + " (odin_history_unstored_streams); beyond it the oldest is dropped and every reconnect on that shard is answered"
      + " recovered:false until its window ends (odin_history_unstored_overflow_total)");

  public static final List<ConfigKey> KEYS = List.of(ENABLED, SIZE, TTL_MS, MAX_REPLAY, GAP_WAIT_MS, UNSTORED_WINDOW_MS,
    MAX_UNSTORED_STREAMS);

  /** Messages per read of a replay or a gap: a replay is read and written in pages of this size. */
  public static final int PAGE = 100;

  public final boolean enabled;
  public final int size;
  public final long ttlMillis;
  public final int maxReplay;
  public final long gapWaitMillis;
  public final long unstoredWindowMillis;
  public final int maxUnstoredStreams;

  public HistorySettings(GatewayConfig config) {
    this(config.getBoolean(ENABLED), config.getInt(SIZE), config.getInt(TTL_MS), config.getInt(MAX_REPLAY),
      config.getInt(GAP_WAIT_MS), config.getInt(UNSTORED_WINDOW_MS), config.getInt(MAX_UNSTORED_STREAMS));
  }

  public HistorySettings(boolean enabled, int size, long ttlMillis, int maxReplay, long gapWaitMillis,
                         long unstoredWindowMillis, int maxUnstoredStreams) {
    this.enabled = enabled;
    this.size = size;
    this.ttlMillis = ttlMillis;
    this.maxReplay = maxReplay;
    this.gapWaitMillis = gapWaitMillis;
    this.unstoredWindowMillis = unstoredWindowMillis;
    this.maxUnstoredStreams = maxUnstoredStreams;
  }
}
