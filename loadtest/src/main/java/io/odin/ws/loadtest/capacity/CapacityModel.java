package io.odin.ws.loadtest.capacity;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The capacity model of docs/scale.md: from connections and message rates, with the measured per-node figures, how
 * many gateway nodes, Redis masters, Kafka partitions and brokers, and what they cost. Pure arithmetic, no I/O.
 * <ul>
 *   <li>Gateway CPU is the sum of its causes: deliveries (targeted by the ingest's figure, broadcasts), held
 *       connections (pings), handshakes (connections / session). Nodes: enough that it stays under
 *       {@code cpuTarget} of their vCPUs, and that a zone's loss leaves memory for its connections under
 *       {@code memoryTarget}; at least one per zone, and a multiple of the zones so each zone holds as many.</li>
 *   <li>Redis commands per second: per message, per connect, per held token and heartbeat; masters keep that under
 *       {@code redisTarget} of a master's commands per second, and the steady load plus a lost node's reconnects under
 *       {@value #STORM_CEILING}; and hold the registry and the history in {@value #REDIS_MEMORY_SHARE} of their writable
 *       memory. Each master has one replica.</li>
 *   <li>Kafka: two partitions per consumer at least (a departing node's partitions spread over the others), enough for
 *       the bytes, never fewer than {@value #MIN_PARTITIONS}; three brokers at least, replication factor
 *       {@value #REPLICATION}.</li>
 * </ul>
 */
public final class CapacityModel {

  /** kafka.maxInFlightRecords (gateway default): records a consumer holds in memory at most. */
  static final int KAFKA_IN_FLIGHT_RECORDS = 20_000;
  /** Heap an in-flight record costs beyond its bytes (record, envelope, batch objects): an assumption. */
  static final int IN_FLIGHT_RECORD_OVERHEAD = 512;
  /** A Kafka record's bytes beyond the message (key, headers, batch framing): an assumption. */
  static final int KAFKA_RECORD_OVERHEAD = 100;
  static final int REPLICATION = 3;
  static final int MIN_PARTITIONS = 12;
  /** cluster.announceIntervalMs (gateway default): each node tells every other its shards. */
  static final double ANNOUNCE_INTERVAL_SECONDS = 5;
  /** Bytes on the wire per delivery beyond the frame (WebSocket header, TCP/IP headers): an assumption. */
  static final int WIRE_OVERHEAD = 60;
  /** ws.pingIntervalMs (gateway default): a ping and its pong per connection per interval. */
  static final double PING_INTERVAL_SECONDS = 30;
  /** Share of a Redis node's writable memory the plan fills. */
  static final double REDIS_MEMORY_SHARE = 0.8;
  /** Redis commands per master while a node's clients come back, steady load included, at most this share. */
  static final double STORM_CEILING = 0.9;
  /** Heap kept free beyond the connections' (garbage, bursts): the plan's suggestion for -Xmx. */
  static final double HEAP_BASE_GIB = 0.25;
  /** Members a Hazelcast cluster of this gateway is planned for before its full mesh is the first thing to watch. */
  static final int MEMBERS_WATCH = 100;

  private CapacityModel() {
  }

  public static Plan plan(PlanInputs in, Figures f, Prices prices) {
    in.check();
    Prices.Machine machine = prices.machine(in.machine);
    Prices.RedisNode redisNode = prices.redisNode(in.redisNode);
    boolean kafka = in.ingest == PlanInputs.Ingest.KAFKA;
    Prices.Machine broker = kafka ? prices.machine(in.kafkaBroker) : null;
    boolean history = in.history > 0;

    double c = in.connections;
    long tokens = (long) Math.ceil(c / in.connectionsPerToken);
    double targeted = in.targetedPerSecond();
    double broadcasts = in.broadcastRate;
    double targetedDeliveries = targeted * in.connectionsPerToken;
    double broadcastDeliveries = broadcasts * c;
    double connects = c / in.sessionSeconds;

    Map<String, Double> cpu = new LinkedHashMap<>();
    cpu.put("targeted deliveries", targetedDeliveries
      * f.get(kafka ? Figure.CPU_PER_TARGETED_KAFKA : Figure.CPU_PER_TARGETED_HTTP));
    cpu.put("broadcast deliveries", broadcastDeliveries * f.get(Figure.CPU_PER_BROADCAST));
    cpu.put("held connections (pings)", c * f.get(Figure.CPU_PER_CONNECTION_SECOND));
    cpu.put("handshakes", connects * f.get(Figure.CPU_PER_HANDSHAKE));
    double cpuMicros = cpu.values().stream().mapToDouble(Double::doubleValue).sum();
    Plan.Load load = new Plan.Load(targeted, broadcasts, targetedDeliveries, broadcastDeliveries, connects, tokens, cpu);

    // gateway nodes
    double nodeMicros = machine.vcpus() * 1e6;
    int zones = in.zones;
    double zoneLossFactor = zones > 1 ? (double) zones / (zones - 1) : 1;
    int forCpu = (int) Math.ceil(cpuMicros / (nodeMicros * in.cpuTarget));
    double perConnection = f.get(Figure.RSS_PER_CONNECTION) + f.get(Figure.KERNEL_PER_CONNECTION);
    double baseBytes = f.get(Figure.IDLE_RSS) * MIB
      + (kafka ? (double) KAFKA_IN_FLIGHT_RECORDS * (in.messageBytes + IN_FLIGHT_RECORD_OVERHEAD) : 0);
    double usable = machine.memoryGiB() * GIB * in.memoryTarget - baseBytes;
    if (usable <= perConnection) {
      throw new IllegalArgumentException("--machine " + machine.name() + ": " + fmt(machine.memoryGiB()) + " GiB leave no room"
        + " for connections at --memory-target " + in.memoryTarget + " (an idle node alone takes "
        + String.format(Locale.ROOT, "%.0f MiB", baseBytes / MIB) + "): pick a machine with more memory");
    }
    // after a zone's loss the others hold its connections
    int forMemory = (int) Math.ceil(c * perConnection * zoneLossFactor / usable);
    int nodes = Math.max(zones, Math.max(forCpu, forMemory));
    nodes = (int) (Math.ceil((double) nodes / zones) * zones);
    String boundBy = forCpu > zones && forCpu >= forMemory ? "cpu" : forMemory > zones ? "memory" : "zones";
    double survivors = zones > 1 ? nodes - (double) nodes / zones : nodes;
    double perNode = c / nodes;
    double perNodeAfterLoss = c / survivors;
    double cpuShare = cpuMicros / (nodes * nodeMicros);
    double cpuShareAfterLoss = cpuMicros / (survivors * nodeMicros);
    double memPerNode = (baseBytes + perNode * perConnection) / GIB;
    double memAfterLoss = (baseBytes + perNodeAfterLoss * perConnection) / GIB;
    double heap = HEAP_BASE_GIB + perNodeAfterLoss * f.get(Figure.HEAP_PER_CONNECTION) * 2 / GIB
      + (kafka ? (double) KAFKA_IN_FLIGHT_RECORDS * (in.messageBytes + IN_FLIGHT_RECORD_OVERHEAD) / GIB : 0);
    double spread = perNode * f.get(Figure.CPU_PER_BROADCAST) / nodeMicros;
    Plan.Gateway gateway = new Plan.Gateway(nodes, machine, boundBy, forCpu, forMemory, perNode, perNodeAfterLoss,
      cpuShare, cpuShareAfterLoss, memPerNode, memAfterLoss, heap, spread);

    // Redis
    Map<String, Double> commands = new LinkedHashMap<>();
    commands.put("targeted messages", targeted * f.get(history ? Figure.REDIS_TARGETED : Figure.REDIS_TARGETED_NO_HISTORY));
    commands.put("broadcasts", broadcasts * f.get(history ? Figure.REDIS_BROADCAST : Figure.REDIS_BROADCAST_NO_HISTORY));
    commands.put("connects", connects * f.get(history ? Figure.REDIS_CONNECT : Figure.REDIS_CONNECT_NO_HISTORY));
    commands.put("heartbeats", tokens * f.get(history ? Figure.REDIS_HEARTBEAT : Figure.REDIS_HEARTBEAT_NO_HISTORY)
      / in.heartbeatSeconds);
    double steady = commands.values().stream().mapToDouble(Double::doubleValue).sum();
    double stormClients = perNode;
    double stormHandshakes = stormClients / in.reconnectWindowSeconds;
    double storm = stormHandshakes * f.get(history ? Figure.REDIS_RECONNECT : Figure.REDIS_RECONNECT_NO_HISTORY);
    double masterCapacity = f.get(Figure.REDIS_COMMANDS_PER_MASTER);
    int forCommands = (int) Math.ceil(Math.max(steady / (masterCapacity * in.redisTarget),
      (steady + storm) / (masterCapacity * STORM_CEILING)));
    double registryBytes = c * f.get(Figure.REDIS_BYTES_PER_CONNECTION);
    double retained = 0;
    double historyBytes = 0;
    if (history) {
      double entry = f.get(Figure.REDIS_BYTES_PER_STORED_MESSAGE) - f.get(Figure.REDIS_STORED_FRAME_BYTES)
        + in.messageBytes;
      // a token's stream lives while the token is connected and history.ttlMs after: it keeps what came in that time,
      // up to history.size
      double perToken = targeted / tokens;
      retained = Math.min(in.history, perToken * (in.sessionSeconds + in.historyTtlSeconds));
      historyBytes = tokens * retained * entry + Math.min(in.history, broadcasts * in.historyTtlSeconds + in.history) * entry;
    }
    int forMemoryRedis = (int) Math.ceil((registryBytes + historyBytes) / (redisNode.writableGiB() * GIB * REDIS_MEMORY_SHARE));
    int masters = Math.max(1, Math.max(forCommands, forMemoryRedis));
    String redisBound = forCommands >= forMemoryRedis ? (forCommands > 1 ? "commands" : "one master suffices")
      : "memory";
    Plan.Redis redis = new Plan.Redis(masters, masters, redisNode, redisBound, forCommands, forMemoryRedis, steady,
      commands, storm, registryBytes / GIB, historyBytes / GIB, retained, tokens / (double) masters);

    // Kafka
    double recordsPerSecond = kafka ? targeted + broadcasts : 0;
    double kafkaBytes = recordsPerSecond * (in.messageBytes + KAFKA_RECORD_OVERHEAD);
    int consumers = kafka ? nodes : 0;
    int partitions = 0;
    int brokers = 0;
    double diskPerBroker = 0;
    if (kafka) {
      partitions = Math.max(MIN_PARTITIONS, Math.max(2 * consumers,
        (int) Math.ceil(kafkaBytes / f.get(Figure.KAFKA_BYTES_PER_PARTITION))));
      partitions = (int) (Math.ceil(partitions / 6.0) * 6);
      brokers = Math.max(REPLICATION, (int) Math.ceil(kafkaBytes * REPLICATION / f.get(Figure.KAFKA_BYTES_PER_BROKER)));
      // retention, with half again for segments not yet deleted
      diskPerBroker = kafkaBytes * REPLICATION * in.kafkaRetentionSeconds * 1.5 / brokers / GIB;
    }
    Plan.Kafka kafkaPlan = new Plan.Kafka(kafka, partitions, consumers, brokers, kafkaBytes, diskPerBroker, broker);

    Plan.NodeLoss loss = new Plan.NodeLoss(stormClients, stormHandshakes,
      nodes > 1 ? (cpuMicros / (nodes - 1) + stormHandshakes / (nodes - 1) * f.get(Figure.CPU_PER_HANDSHAKE)) / nodeMicros
        : Double.NaN,
      storm, kafka ? (double) partitions / nodes : 0);

    // event bus: a targeted message consumed on one node is for a token on another (n - 1) / n of the time; a
    // broadcast goes from the node that consumed it to every other
    double relayed = in.messageBytes + f.get(Figure.RELAY_OVERHEAD_BYTES);
    double relayPerNode = nodes > 1 ? (targeted / nodes * (nodes - 1) / nodes + broadcasts / nodes * (nodes - 1)) * relayed
      : 0;
    Plan.EventBus bus = new Plan.EventBus((long) nodes * (nodes - 1), (long) nodes * (nodes - 1) / 2, relayPerNode,
      nodes * (nodes - 1) / ANNOUNCE_INTERVAL_SECONDS);

    // cost
    double hours = prices.hoursPerMonth();
    double egressBytes = load.deliveriesPerSecond() * (in.messageBytes + WIRE_OVERHEAD)
      + c / PING_INTERVAL_SECONDS * WIRE_OVERHEAD;
    double egressGiB = egressBytes * hours * 3600 / GIB;
    Plan.Cost cost = new Plan.Cost(nodes * machine.perHour() * hours,
      (masters + masters) * redisNode.perHour() * hours,
      kafka ? brokers * broker.perHour() * hours + brokers * diskPerBroker * prices.diskPerGiBMonth() : 0,
      prices.egressPerMonth(egressGiB), egressGiB);

    List<String> limits = limits(in, f, gateway, redis, kafkaPlan, loss, commands, masterCapacity, perConnection,
      baseBytes, machine);
    return new Plan(in, f, prices, load, gateway, loss, redis, kafkaPlan, bus, cost, limits);
  }

  /**
   * What this plan runs out of first as the load grows with the resources fixed, each with the growth it allows and
   * what lifts it, lowest first: the plan's "first limit".
   */
  private static List<String> limits(PlanInputs in, Figures f, Plan.Gateway g, Plan.Redis r, Plan.Kafka k,
                                     Plan.NodeLoss loss, Map<String, Double> commands, double masterCapacity,
                                     double perConnection, double baseBytes, Prices.Machine machine) {
    record Limit(double factor, String text) {
    }
    List<Limit> out = new ArrayList<>();
    out.add(new Limit(1 / g.cpuShareAfterZoneLoss(), "gateway CPU (all of it busy after a zone's loss): add nodes;"
      + " deliveries cost the same on every node, so CPU grows with them and nodes divide it"));
    double memoryFactor = (machine.memoryGiB() * GIB * 0.9 - baseBytes) / (g.connectionsPerNodeAfterZoneLoss() * perConnection);
    out.add(new Limit(memoryFactor, "gateway memory (90% of " + fmt(machine.memoryGiB()) + " GiB per node after a zone's"
      + " loss): more nodes, or a machine with more memory per vCPU"));
    out.add(new Limit(r.masters() * masterCapacity / Math.max(1e-9, r.commandsPerSecond()),
      "Redis commands (every master busy): more masters (Redis Cluster spreads tokens by hash slot)"));
    if (r.memoryGiB() > 0) {
      out.add(new Limit(r.masters() * r.node().writableGiB() / r.memoryGiB(), "Redis memory (the masters' writable memory"
        + " full): " + (r.historyGiB() > r.registryGiB() ? "the history holds most of it: a smaller --history"
        + " (history.size) or --history-ttl, or more masters" : "more masters")));
    }
    if (k.used()) {
      out.add(new Limit((double) k.partitions() / k.consumers(), "Kafka partitions (one consumer per node: nodes beyond"
        + " the partition count sit idle): create the topic with more partitions before it is needed (adding"
        + " partitions later moves keys, and a token's order with them)"));
    }
    out.add(new Limit((double) MEMBERS_WATCH / g.nodes(), "cluster membership (Hazelcast's full mesh and the event bus's,"
      + " " + MEMBERS_WATCH + " members; measured here up to 8): fewer, bigger nodes"));
    List<String> text = new ArrayList<>();
    out.sort((a, b) -> Double.compare(a.factor(), b.factor()));
    for (Limit l : out) {
      text.add(String.format(Locale.ROOT, "%s at %.1fx this load: %s", l.factor() < 1 ? "ALREADY EXCEEDED" : "binds",
        l.factor(), l.text()));
    }
    double heartbeatShare = commands.get("heartbeats") / Math.max(1e-9, r.commandsPerSecond());
    if (heartbeatShare > 0.3) {
      text.add(String.format(Locale.ROOT, "registry heartbeats are %.0f%% of Redis commands: every held token is"
        + " re-asserted every %s s; a longer registry.heartbeat (and registry.ttl) lowers it in proportion",
        100 * heartbeatShare, fmt(in.heartbeatSeconds)));
    }
    if (g.broadcastSpreadSeconds() > 1) {
      text.add(String.format(Locale.ROOT, "a broadcast takes about %.1f s of a node's %d vCPUs to reach its last"
        + " connection (%.0f connections per node): more nodes or vCPUs shorten it", g.broadcastSpreadSeconds(),
        machine.vcpus(), g.connectionsPerNode()));
    }
    if (loss.survivorCpuShare() > 1) {
      text.add(String.format(Locale.ROOT, "a lost node's clients coming back within %s s would need %.0f%% of the"
        + " others' CPU: the reconnect storm lasts longer than that (clients back off)", fmt(in.reconnectWindowSeconds),
        100 * loss.survivorCpuShare()));
    }
    return text;
  }

  static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
  }

  static final double MIB = 1024.0 * 1024;
  static final double GIB = 1024.0 * 1024 * 1024;
}
