package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A plan as text (for people), JSON (for tools) or GCP_* lines (for scripts/gcp, through GCP_PLAN). */
public final class PlanFormat {

  private PlanFormat() {
  }

  public static String render(Plan p) {
    return switch (p.inputs().format) {
      case TEXT -> text(p);
      case JSON -> json(p).encodePrettily() + "\n";
      case ENV -> env(p);
    };
  }

  // ------------------------------------------------------------------ text

  public static String text(Plan p) {
    PlanInputs in = p.inputs();
    Plan.Load l = p.load();
    Plan.Gateway g = p.gateway();
    Plan.Redis r = p.redis();
    Plan.Kafka k = p.kafka();
    Plan.NodeLoss loss = p.nodeLoss();
    Plan.EventBus bus = p.eventBus();
    Plan.Cost cost = p.cost();
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "odin-ws capacity plan: %s connections, %s targeted messages/s%s, %s%n",
      n(in.connections), n(l.targetedPerSecond()), perConnection(in, l), broadcasts(l.broadcastsPerSecond())));
    sb.append("  (").append(String.join(" ", in.commandLine())).append(")\n");
    sb.append("figures: ").append(p.figures().origin()).append(measured(p.figures())).append('\n');
    sb.append("prices:  ").append(p.prices().region()).append(" list prices (").append(p.prices().asOf()).append("), ")
      .append(p.prices().origin()).append('\n');
    sb.append('\n');
    sb.append(String.format(Locale.ROOT, "load           %s deliveries/s (%s targeted + %s broadcast), %s new connections/s"
        + " (sessions of %s)%n", n(l.deliveriesPerSecond()), n(l.targetedDeliveriesPerSecond()),
      n(l.broadcastDeliveriesPerSecond()), n(l.connectsPerSecond()), duration(in.sessionSeconds)));
    sb.append(String.format(Locale.ROOT, "gateway CPU    %.1f vCPU in all: %s%n", l.vcpus(), breakdown(l.cpuMicros(), 1e6, "%.2f")));
    sb.append('\n');
    sb.append(String.format(Locale.ROOT, "gateway        %d x %s (%d vCPU, %s GiB), set by %s (CPU alone needs %d, memory"
        + " %d; at least one per zone, %d zones)%n", g.nodes(), g.machine().name(), g.machine().vcpus(),
      CapacityModel.fmt(g.machine().memoryGiB()), g.boundBy(), g.nodesForCpu(), g.nodesForMemory(), in.zones));
    sb.append(String.format(Locale.ROOT, "  per node     %s connections (%s after a zone's loss), CPU %s (%s), memory %.1f GiB"
        + " (%.1f GiB) of %s%n", n(g.connectionsPerNode()), n(g.connectionsPerNodeAfterZoneLoss()), pct(g.cpuShare()),
      pct(g.cpuShareAfterZoneLoss()), g.memoryGiBPerNode(), g.memoryGiBPerNodeAfterZoneLoss(),
      CapacityModel.fmt(g.machine().memoryGiB()) + " GiB"));
    sb.append(String.format(Locale.ROOT, "  JVM heap     -Xmx%dm is enough (live heap per connection x2, Kafka's in-flight"
        + " records, %s GiB); the image's -XX:MaxRAMPercentage=60 gives more%n", (int) Math.ceil(g.heapGiB() * 1024),
      CapacityModel.fmt(CapacityModel.HEAP_BASE_GIB)));
    sb.append(String.format(Locale.ROOT, "  broadcast    reaches a node's last connection after %.2f s of all its vCPUs%n",
      g.broadcastSpreadSeconds()));
    sb.append('\n');
    sb.append(String.format(Locale.ROOT, "redis          %d master%s + %d replica%s (%s, %s GiB writable), set by %s (commands"
        + " alone need %d, memory %d)%n", r.masters(), r.masters() == 1 ? "" : "s", r.replicas(),
      r.replicas() == 1 ? "" : "s", r.node().name(), CapacityModel.fmt(r.node().writableGiB()), r.boundBy(),
      r.mastersForCommands(), r.mastersForMemory()));
    double capacity = p.figures().get(Figure.REDIS_COMMANDS_PER_MASTER);
    sb.append(String.format(Locale.ROOT, "  commands     %s/s: %s (%s of the masters' %s/s)%n", n(r.commandsPerSecond()),
      breakdownCounts(r.commandsByCause()), pct(r.commandsPerSecond() / (r.masters() * capacity)),
      n(r.masters() * capacity)));
    sb.append(String.format(Locale.ROOT, "  memory       %.1f GiB: registry %.1f GiB, history %.1f GiB (%s messages kept per"
        + " token stream of --history %d)%n", r.memoryGiB(), r.registryGiB(), r.historyGiB(), n(r.retainedPerStream()),
      in.history));
    sb.append(String.format(Locale.ROOT, "  a master     lost: %s tokens' entries and streams; its replica takes over in"
        + " seconds; until each node's next heartbeat (%s s) lookups of those tokens fall back to every shard, and"
        + " their streams start a new epoch (reconnects there answer recovered:false)%n", n(r.tokensPerMaster()),
      CapacityModel.fmt(in.heartbeatSeconds)));
    if (k.used()) {
      sb.append(String.format(Locale.ROOT, "kafka          %d partitions, %d consumers (one per node), %d brokers (%s, %.0f GiB"
          + " of disk each for %s of retention), %s/s in%n", k.partitions(), k.consumers(), k.brokers(),
        k.broker().name(), Math.ceil(k.diskGiBPerBroker()), duration(in.kafkaRetentionSeconds), bytes(k.bytesPerSecond())));
    } else {
      sb.append("kafka          none (--ingest http)\n");
    }
    sb.append(String.format(Locale.ROOT, "event bus      %s connections (each node's to every other), Hazelcast %s; relayed"
        + " %s/s per node; %s directory announcements/s%n", n(bus.connections()), n(bus.hazelcastConnections()),
      bytes(bus.relayBytesPerSecondPerNode()), n(bus.announcementsPerSecond())));
    if (g.nodes() > 1) {
      sb.append(String.format(Locale.ROOT, "a node lost    %s clients come back within %s: %s handshakes/s on the other %d"
          + " (CPU %s each meanwhile), Redis +%s commands/s (%s while it lasts)%s%n", n(loss.clients()),
        duration(in.reconnectWindowSeconds), n(loss.handshakesPerSecond()), g.nodes() - 1, pct(loss.survivorCpuShare()),
        n(loss.redisCommandsPerSecond()), pct((r.commandsPerSecond() + loss.redisCommandsPerSecond())
          / (r.masters() * capacity)), k.used() ? String.format(Locale.ROOT, "; its %.0f partitions move to the others",
          loss.partitionsMoved()) : ""));
    }
    sb.append('\n');
    sb.append(String.format(Locale.ROOT, "cost per month gateway %s + Redis %s + Kafka %s + egress %s (%s TiB) = %s (%s per"
        + " 1,000 connections)%n", usd(cost.gateway()), usd(cost.redis()), usd(cost.kafka()), usd(cost.egress()),
      CapacityModel.fmt(Math.round(cost.egressGiB() / 1024 * 10) / 10.0), usd(cost.total()),
      usd2(cost.total() / in.connections * 1000)));
    sb.append(String.format(Locale.ROOT, "headroom       CPU at most %s per node (%s after a zone's loss), memory at most %s"
        + " after a zone's loss, Redis at most %s of a master's commands (%s while a node's clients come back) and %s of"
        + " its memory%n", pct(in.cpuTarget), pct(Math.min(1, in.cpuTarget * zoneFactor(in.zones))), pct(in.memoryTarget),
      pct(in.redisTarget), pct(CapacityModel.STORM_CEILING), pct(CapacityModel.REDIS_MEMORY_SHARE)));
    sb.append("first limits   (as the load grows on these resources)\n");
    int i = 1;
    for (String limit : p.limits()) {
      sb.append(String.format(Locale.ROOT, "  %d. %s%n", i++, limit));
    }
    return sb.toString();
  }

  private static double zoneFactor(int zones) {
    return zones > 1 ? (double) zones / (zones - 1) : 1;
  }

  private static String perConnection(PlanInputs in, Plan.Load l) {
    if (l.targetedPerSecond() == 0) {
      return "";
    }
    double perMinute = l.targetedPerSecond() * 60 / in.connections;
    return String.format(Locale.ROOT, " (%s per connection per minute)", CapacityModel.fmt(Math.round(perMinute * 100) / 100.0));
  }

  private static String broadcasts(double perSecond) {
    if (perSecond == 0) {
      return "no broadcasts";
    }
    return perSecond < 1 ? String.format(Locale.ROOT, "%s broadcast%s/min", CapacityModel.fmt(Math.round(perSecond * 6000) / 100.0), perSecond * 60 == 1 ? "" : "s")
      : String.format(Locale.ROOT, "%s broadcasts/s", CapacityModel.fmt(perSecond));
  }

  private static String measured(Figures f) {
    JsonObject m = f.measured();
    List<String> parts = new ArrayList<>();
    if (m.getValue("at") != null) {
      parts.add("measured " + m.getValue("at"));
    }
    if (m.getValue("machine") != null) {
      parts.add("on " + m.getValue("machine"));
    }
    if (m.getValue("command") != null) {
      parts.add("by " + m.getValue("command"));
    }
    return parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")";
  }

  private static String breakdownCounts(Map<String, Double> parts) {
    List<String> out = new ArrayList<>();
    parts.forEach((name, v) -> out.add(name + " " + n(v)));
    return String.join(", ", out);
  }

  private static String breakdown(Map<String, Double> parts, double unit, String format) {
    List<String> out = new ArrayList<>();
    parts.forEach((name, v) -> out.add(name + " " + String.format(Locale.ROOT, format, v / unit)));
    return String.join(", ", out);
  }

  static String n(double v) {
    if (v != 0 && Math.abs(v) < 10 && v != Math.rint(v)) {
      return String.format(Locale.ROOT, "%.2g", v);
    }
    return String.format(Locale.ROOT, "%,.0f", v);
  }

  static String pct(double share) {
    if (Double.isNaN(share)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, share < 0.1 ? "%.1f%%" : "%.0f%%", share * 100);
  }

  static String usd(double v) {
    return String.format(Locale.ROOT, "$%,.0f", v);
  }

  static String usd2(double v) {
    return String.format(Locale.ROOT, "$%,.2f", v);
  }

  static String bytes(double perSecond) {
    if (perSecond >= 1e9) {
      return String.format(Locale.ROOT, "%.1f GB", perSecond / 1e9);
    }
    if (perSecond >= 1e6) {
      return String.format(Locale.ROOT, "%.1f MB", perSecond / 1e6);
    }
    return String.format(Locale.ROOT, "%.0f kB", perSecond / 1e3);
  }

  static String duration(double seconds) {
    if (seconds >= 3600 && seconds % 3600 == 0) {
      return (long) (seconds / 3600) + " h";
    }
    if (seconds >= 60 && seconds % 60 == 0) {
      return (long) (seconds / 60) + " min";
    }
    return CapacityModel.fmt(seconds) + " s";
  }

  // ------------------------------------------------------------------ JSON

  public static JsonObject json(Plan p) {
    PlanInputs in = p.inputs();
    Plan.Load l = p.load();
    Plan.Gateway g = p.gateway();
    Plan.Redis r = p.redis();
    Plan.Kafka k = p.kafka();
    Plan.NodeLoss loss = p.nodeLoss();
    Plan.EventBus bus = p.eventBus();
    Plan.Cost c = p.cost();
    return new JsonObject()
      .put("inputs", new JsonObject()
        .put("commandLine", String.join(" ", in.commandLine()))
        .put("connections", in.connections)
        .put("targetedPerSecond", l.targetedPerSecond())
        .put("broadcastsPerSecond", l.broadcastsPerSecond())
        .put("connectionsPerToken", in.connectionsPerToken)
        .put("ingest", in.ingest.name().toLowerCase(Locale.ROOT))
        .put("history", in.history)
        .put("historyTtlSeconds", in.historyTtlSeconds)
        .put("messageBytes", in.messageBytes)
        .put("sessionSeconds", in.sessionSeconds)
        .put("reconnectWindowSeconds", in.reconnectWindowSeconds)
        .put("heartbeatSeconds", in.heartbeatSeconds)
        .put("zones", in.zones))
      .put("headroom", new JsonObject()
        .put("cpuTarget", in.cpuTarget)
        .put("memoryTarget", in.memoryTarget)
        .put("redisTarget", in.redisTarget)
        .put("redisCeilingDuringReconnects", CapacityModel.STORM_CEILING)
        .put("redisMemoryShare", CapacityModel.REDIS_MEMORY_SHARE))
      .put("figures", new JsonObject().put("origin", p.figures().origin()).put("measured", p.figures().measured()))
      .put("prices", new JsonObject().put("origin", p.prices().origin()).put("region", p.prices().region())
        .put("asOf", p.prices().asOf()))
      .put("load", new JsonObject()
        .put("deliveriesPerSecond", l.deliveriesPerSecond())
        .put("targetedDeliveriesPerSecond", l.targetedDeliveriesPerSecond())
        .put("broadcastDeliveriesPerSecond", l.broadcastDeliveriesPerSecond())
        .put("connectsPerSecond", l.connectsPerSecond())
        .put("tokens", l.tokens())
        .put("vcpus", l.vcpus())
        .put("cpuMicrosPerSecond", new JsonObject(new java.util.LinkedHashMap<>(l.cpuMicros()))))
      .put("gateway", new JsonObject()
        .put("nodes", g.nodes())
        .put("machine", g.machine().name())
        .put("vcpusPerNode", g.machine().vcpus())
        .put("memoryGiBPerMachine", g.machine().memoryGiB())
        .put("boundBy", g.boundBy())
        .put("nodesForCpu", g.nodesForCpu())
        .put("nodesForMemory", g.nodesForMemory())
        .put("connectionsPerNode", g.connectionsPerNode())
        .put("connectionsPerNodeAfterZoneLoss", g.connectionsPerNodeAfterZoneLoss())
        .put("cpuShare", g.cpuShare())
        .put("cpuShareAfterZoneLoss", g.cpuShareAfterZoneLoss())
        .put("memoryGiBPerNode", g.memoryGiBPerNode())
        .put("memoryGiBPerNodeAfterZoneLoss", g.memoryGiBPerNodeAfterZoneLoss())
        .put("heapGiB", g.heapGiB())
        .put("broadcastSpreadSeconds", g.broadcastSpreadSeconds()))
      .put("redis", new JsonObject()
        .put("masters", r.masters())
        .put("replicas", r.replicas())
        .put("nodeType", r.node().name())
        .put("boundBy", r.boundBy())
        .put("mastersForCommands", r.mastersForCommands())
        .put("mastersForMemory", r.mastersForMemory())
        .put("commandsPerSecond", r.commandsPerSecond())
        .put("commandsPerSecondByCause", new JsonObject(new java.util.LinkedHashMap<>(r.commandsByCause())))
        .put("reconnectCommandsPerSecond", r.stormCommandsPerSecond())
        .put("memoryGiB", r.memoryGiB())
        .put("registryGiB", r.registryGiB())
        .put("historyGiB", r.historyGiB())
        .put("retainedPerStream", r.retainedPerStream())
        .put("tokensPerMaster", r.tokensPerMaster()))
      .put("kafka", new JsonObject()
        .put("used", k.used())
        .put("partitions", k.partitions())
        .put("consumers", k.consumers())
        .put("brokers", k.brokers())
        .put("brokerMachine", k.broker() == null ? null : k.broker().name())
        .put("bytesPerSecond", k.bytesPerSecond())
        .put("diskGiBPerBroker", k.diskGiBPerBroker()))
      .put("eventBus", new JsonObject()
        .put("connections", bus.connections())
        .put("hazelcastConnections", bus.hazelcastConnections())
        .put("relayBytesPerSecondPerNode", bus.relayBytesPerSecondPerNode())
        .put("announcementsPerSecond", bus.announcementsPerSecond()))
      .put("nodeLoss", new JsonObject()
        .put("clients", loss.clients())
        .put("handshakesPerSecond", loss.handshakesPerSecond())
        .put("survivorCpuShare", Double.isNaN(loss.survivorCpuShare()) ? null : loss.survivorCpuShare())
        .put("redisCommandsPerSecond", loss.redisCommandsPerSecond())
        .put("partitionsMoved", loss.partitionsMoved()))
      .put("costPerMonth", new JsonObject()
        .put("gateway", c.gateway())
        .put("redis", c.redis())
        .put("kafka", c.kafka())
        .put("egress", c.egress())
        .put("egressGiB", c.egressGiB())
        .put("total", c.total())
        .put("perThousandConnections", c.total() / in.connections * 1000))
      .put("limits", new JsonArray(p.limits()));
  }

  // ------------------------------------------------------------------ GCP_* variables

  /**
   * The plan as the variables scripts/gcp reads (deploy, group, matrix, loadtest): the group's size and machine type,
   * and a capacity load test of the planned load. {@code GCP_PLAN=FILE scripts/gcp/...} takes them (variables set in
   * the environment win).
   */
  public static String env(Plan p) {
    PlanInputs in = p.inputs();
    Plan.Load l = p.load();
    StringBuilder sb = new StringBuilder();
    sb.append("# odin-ws capacity plan: scripts/capacity-plan ").append(String.join(" ", in.commandLine())).append('\n');
    sb.append("# figures: ").append(p.figures().origin()).append("; use: GCP_PLAN=THIS_FILE scripts/gcp/matrix (or deploy, group, loadtest)\n");
    sb.append(String.format(Locale.ROOT, "# redis: %d masters + %d replicas (%s); kafka: %d partitions, %d brokers%n",
      p.redis().masters(), p.redis().replicas(), p.redis().node().name(), p.kafka().partitions(), p.kafka().brokers()));
    sb.append("GCP_MACHINE_TYPE=").append(p.gateway().machine().name()).append('\n');
    sb.append("GCP_SIZE=").append(p.gateway().nodes()).append('\n');
    sb.append("GCP_LOADTEST_CONNECTIONS=").append(in.connections).append('\n');
    double rate = l.targetedPerSecond() + l.broadcastsPerSecond();
    sb.append("GCP_LOADTEST_RATE=").append(new java.math.BigDecimal(rate).setScale(3, java.math.RoundingMode.HALF_UP)
      .stripTrailingZeros().toPlainString()).append('\n');
    sb.append("GCP_LOADTEST_MIX=").append(mix(l.targetedPerSecond(), l.broadcastsPerSecond())).append('\n');
    if (p.redis().masters() == 1) {
      // one master: the standalone Memorystore instance scripts/gcp/redis creates, sized for the plan's memory
      sb.append("GCP_REDIS_SIZE_GB=").append((int) Math.max(1, Math.ceil(p.redis().memoryGiB() / CapacityModel.REDIS_MEMORY_SHARE)))
        .append('\n');
    }
    return sb.toString();
  }

  /** The load tool's --mix (whole-number shares) for these rates: 100:0, 0:100, or T:B with the broadcast share 1. */
  static String mix(double targeted, double broadcasts) {
    if (broadcasts <= 0) {
      return "100:0";
    }
    if (targeted <= 0) {
      return "0:100";
    }
    double ratio = targeted / broadcasts;
    if (ratio >= 1) {
      return Math.round(ratio) + ":1";
    }
    return "1:" + Math.round(1 / ratio);
  }
}
