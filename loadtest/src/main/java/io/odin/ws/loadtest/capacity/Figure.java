package io.odin.ws.loadtest.capacity;

import java.util.Locale;

/**
 * Every figure the capacity model reads from the figures file (docs/benchmarks/figures.json), with its unit and what it
 * means. {@code scripts/benchmarks figures} measures the node, Redis and history figures on the machine it runs on; the
 * others are assumptions or come from other measurements (their {@code source} in the file says which), and a
 * measurement that replaces one (issue 28's ops per Redis master, for one) writes the same key.
 */
public enum Figure {

  IDLE_RSS("node.idleRssMiB", "MiB", "resident memory of an idle node on the run command's JVM options"),
  RSS_PER_CONNECTION("node.rssBytesPerIdleConnection", "bytes", "resident memory per idle connection, after a full GC"),
  HEAP_PER_CONNECTION("node.heapBytesPerIdleConnection", "bytes", "live heap per idle connection"),
  KERNEL_PER_CONNECTION("node.kernelBytesPerConnection", "bytes",
    "kernel memory per open TCP connection (socket, file, epoll entry; buffers are empty while idle), not in RSS"),
  CPU_PER_CONNECTION_SECOND("node.cpuMicrosPerConnectionSecond", "µs",
    "gateway CPU per held connection per second: the pings (every ws.pingIntervalMs, 30 s) and their pongs"),
  CPU_PER_HANDSHAKE("node.cpuMicrosPerHandshake", "µs",
    "gateway CPU per WebSocket handshake, its registration in Redis included"),
  CPU_PER_TARGETED_HTTP("node.cpuMicrosPerTargetedDeliveryHttp", "µs",
    "gateway CPU per targeted delivery published through the HTTP API (batches of 50), pings excluded"),
  CPU_PER_TARGETED_KAFKA("node.cpuMicrosPerTargetedDeliveryKafka", "µs",
    "gateway CPU per targeted delivery consumed from Kafka and looked up in Redis, pings excluded"),
  CPU_PER_BROADCAST("node.cpuMicrosPerBroadcastDelivery", "µs", "gateway CPU per broadcast delivery, pings excluded"),

  REDIS_TARGETED("redis.commandsPerTargetedMessage", "commands",
    "Redis commands per targeted message, history on (stored, looked up, in batches)"),
  REDIS_BROADCAST("redis.commandsPerBroadcastMessage", "commands", "Redis commands per broadcast, history on"),
  REDIS_CONNECT("redis.commandsPerConnect", "commands", "Redis commands per new connection (registration), history on"),
  REDIS_HEARTBEAT("redis.commandsPerHeartbeatPerToken", "commands",
    "Redis commands per held token at each registry heartbeat (registry.heartbeat, 30 s), history on"),
  REDIS_RECONNECT("redis.commandsPerReconnect", "commands",
    "Redis commands per client of a drained node coming back elsewhere with since= (its old entry removed, the new one"
      + " registered, what it missed read), history on"),
  REDIS_TARGETED_NO_HISTORY("redis.commandsPerTargetedMessageWithoutHistory", "commands",
    "the same per targeted message with history.enabled false"),
  REDIS_BROADCAST_NO_HISTORY("redis.commandsPerBroadcastMessageWithoutHistory", "commands",
    "the same per broadcast with history.enabled false"),
  REDIS_CONNECT_NO_HISTORY("redis.commandsPerConnectWithoutHistory", "commands",
    "the same per new connection with history.enabled false"),
  REDIS_HEARTBEAT_NO_HISTORY("redis.commandsPerHeartbeatPerTokenWithoutHistory", "commands",
    "the same per held token and heartbeat with history.enabled false"),
  REDIS_RECONNECT_NO_HISTORY("redis.commandsPerReconnectWithoutHistory", "commands",
    "the same per client coming back with history.enabled false (nothing to read)"),
  REDIS_BYTES_PER_CONNECTION("redis.bytesPerConnection", "bytes", "Redis memory per registered connection"),
  REDIS_BYTES_PER_STORED_MESSAGE("redis.bytesPerStoredMessage", "bytes",
    "Redis memory per message kept in the history, at the frame size of redis.storedFrameBytes"),
  REDIS_STORED_FRAME_BYTES("redis.storedFrameBytes", "bytes",
    "size of the frames the stored-message figure was measured with (the planner scales to --message-bytes)"),
  REDIS_COMMANDS_PER_MASTER("redis.commandsPerSecondPerMaster", "commands/s",
    "Redis commands per second one master (one main thread) runs at full load for the gateway's mix of scripts"),

  KAFKA_BYTES_PER_PARTITION("kafka.bytesPerSecondPerPartition", "bytes/s",
    "what one partition carries comfortably (producer, replication, the one consumer reading it)"),
  KAFKA_BYTES_PER_BROKER("kafka.bytesPerSecondPerBroker", "bytes/s",
    "what one broker VM writes comfortably, replicas' copies included"),
  RELAY_OVERHEAD_BYTES("cluster.relayBytesPerMessage", "bytes",
    "event-bus bytes a message costs beyond its frame when it is relayed to another node (NodeBatch)");

  /** The key in the figures file. */
  public final String key;
  public final String unit;
  public final String meaning;

  Figure(String key, String unit, String meaning) {
    this.key = key;
    this.unit = unit;
    this.meaning = meaning;
  }

  /** The figure of this key, or null. */
  public static Figure of(String key) {
    for (Figure f : values()) {
      if (f.key.equals(key)) {
        return f;
      }
    }
    return null;
  }

  /** The known key nearest to {@code key} (edit distance, case-insensitive), for "did you mean". */
  public static String nearest(String key) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (Figure f : values()) {
      int d = distance(key.toLowerCase(Locale.ROOT), f.key.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        bestDistance = d;
        best = f.key;
      }
    }
    return bestDistance <= Math.max(3, key.length() / 4) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
