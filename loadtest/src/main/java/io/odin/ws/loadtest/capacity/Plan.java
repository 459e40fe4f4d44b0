package io.odin.ws.loadtest.capacity;

import java.util.List;
import java.util.Map;

/**
 * A capacity plan: what {@link CapacityModel} computed from the inputs, the figures and the prices. Plain data; the
 * formats ({@link PlanFormat}) render it as text, JSON, or the GCP scripts' variables.
 */
public record Plan(PlanInputs inputs, Figures figures, Prices prices, Load load, Gateway gateway, NodeLoss nodeLoss,
                   Redis redis, Kafka kafka, EventBus eventBus, Cost cost, List<String> limits) {

  /**
   * The load: messages and deliveries per second, new connections per second, and the gateway CPU it takes over the
   * whole cluster ({@code cpuMicros}: microseconds of CPU per second, by cause).
   */
  public record Load(double targetedPerSecond, double broadcastsPerSecond, double targetedDeliveriesPerSecond,
                     double broadcastDeliveriesPerSecond, double connectsPerSecond, long tokens,
                     Map<String, Double> cpuMicros) {

    public double deliveriesPerSecond() {
      return targetedDeliveriesPerSecond + broadcastDeliveriesPerSecond;
    }

    public double vcpus() {
      return cpuMicros.values().stream().mapToDouble(Double::doubleValue).sum() / 1e6;
    }
  }

  /**
   * The gateway nodes: how many and why ({@code boundBy}: cpu, memory or zones), and what each carries in steady state
   * and after a zone's loss (the others take its connections and its share of the work).
   */
  public record Gateway(int nodes, Prices.Machine machine, String boundBy, int nodesForCpu, int nodesForMemory,
                        double connectionsPerNode, double connectionsPerNodeAfterZoneLoss, double cpuShare,
                        double cpuShareAfterZoneLoss, double memoryGiBPerNode, double memoryGiBPerNodeAfterZoneLoss,
                        double heapGiB, double broadcastSpreadSeconds) {
  }

  /**
   * One node lost (crash or drain): its clients come back on the others within the reconnect window, each a handshake,
   * a registration and a recovery read in Redis; its Kafka partitions move to the others.
   */
  public record NodeLoss(double clients, double handshakesPerSecond, double survivorCpuShare,
                         double redisCommandsPerSecond, double partitionsMoved) {
  }

  /**
   * Redis (Cluster): masters (each with one replica) from the commands per second and from the memory, whichever needs
   * more ({@code boundBy}); what one master's loss touches.
   */
  public record Redis(int masters, int replicas, Prices.RedisNode node, String boundBy, int mastersForCommands,
                      int mastersForMemory, double commandsPerSecond, Map<String, Double> commandsByCause,
                      double stormCommandsPerSecond, double registryGiB, double historyGiB, double retainedPerStream,
                      double tokensPerMaster) {

    public double memoryGiB() {
      return registryGiB + historyGiB;
    }
  }

  /** Kafka: partitions of the gateway's topic, the group's consumers, brokers and their disks. */
  public record Kafka(boolean used, int partitions, int consumers, int brokers, double bytesPerSecond,
                      double diskGiBPerBroker, Prices.Machine broker) {
  }

  /**
   * Cluster traffic: event-bus connections (each node's client to every other node's server) and Hazelcast member
   * connections (a full mesh), relayed bytes per node and directory announcements.
   */
  public record EventBus(long connections, long hazelcastConnections, double relayBytesPerSecondPerNode,
                         double announcementsPerSecond) {
  }

  /** Dollars a month at the price file's list prices. */
  public record Cost(double gateway, double redis, double kafka, double egress, double egressGiB) {

    public double total() {
      return gateway + redis + kafka + egress;
    }
  }
}
