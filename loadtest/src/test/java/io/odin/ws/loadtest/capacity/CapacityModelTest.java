package io.odin.ws.loadtest.capacity;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Known inputs give known plans: every expected number below is worked out by hand from {@link TestFigures}' round
 * figures (per connection 3,000 bytes resident + 1,000 in the kernel; 25 µs per targeted delivery from Kafka, 10 per
 * broadcast delivery, 1 per held connection and second, 100 per handshake; Redis 6 commands per targeted message, 8 per
 * held token and heartbeat, 100,000 per master and second) on 8-vCPU, 32 GiB machines.
 */
class CapacityModelTest {

  static final double DELTA = 1e-6;

  private static PlanInputs inputs(String... args) {
    // the test's own options come last, so they win
    String[] all = new String[args.length + 6];
    System.arraycopy(new String[] {"--machine", "t-8", "--redis-node", "r-10", "--kafka-broker", "t-4"}, 0, all, 0, 6);
    System.arraycopy(args, 0, all, 6, args.length);
    return PlanInputs.parse(all);
  }

  private static Plan plan(String... args) {
    return CapacityModel.plan(inputs(args), TestFigures.figures(), TestFigures.prices());
  }

  /**
   * A million connections, 10 targeted messages per connection per minute (166,667/s) and a broadcast a minute:
   * CPU 166,667 x 25 + 16,667 x 10 + 1,000,000 x 1 + 278 x 100 = 5.36 vCPU, 2 nodes at half their 8 vCPUs; memory
   * 1,000,000 x 4,000 bytes x 1.5 (a zone lost) fits in one; three zones: 3 nodes. Redis: 166,667 x 6 + 278 x 8 +
   * 1,000,000 x 8 / 30 = 1,268,889 commands/s, 26 masters at half their 100,000; history 1,000,000 tokens x 300
   * messages (0.17/s over an hour's session is more than 300) x 456 bytes = 137 GB, 16 masters of 8 GiB usable.
   */
  @Test
  void aMillionConnectionsAtTenMessagesAMinute() {
    Plan p = plan("--connections", "1M", "--targeted-per-connection", "10/min", "--broadcast-rate", "1/min");
    assertEquals(166_666.6667, p.load().targetedPerSecond(), 1e-3);
    assertEquals(5.3611, p.load().vcpus(), 1e-4);
    assertEquals(2, p.gateway().nodesForCpu());
    assertEquals(1, p.gateway().nodesForMemory());
    assertEquals(3, p.gateway().nodes());
    assertEquals("zones", p.gateway().boundBy());
    assertEquals(1_000_000 / 3.0, p.gateway().connectionsPerNode(), DELTA);
    assertEquals(500_000, p.gateway().connectionsPerNodeAfterZoneLoss(), DELTA);
    assertEquals(5.3611e6 / 24e6, p.gateway().cpuShare(), 1e-5);

    assertEquals(1_268_889, p.redis().commandsPerSecond(), 1);
    assertEquals(26, p.redis().mastersForCommands());
    assertEquals(16, p.redis().mastersForMemory());
    assertEquals(26, p.redis().masters());
    assertEquals(26, p.redis().replicas());
    assertEquals("commands", p.redis().boundBy());
    assertEquals(300, p.redis().retainedPerStream(), DELTA);

    // 166,667 records/s x 356 bytes = 59.3 MB/s: 12 partitions for the bytes, 6 for 3 consumers; 6 brokers for 3 copies
    assertEquals(12, p.kafka().partitions());
    assertEquals(3, p.kafka().consumers());
    assertEquals(6, p.kafka().brokers());

    assertEquals(6, p.eventBus().connections());
    assertEquals(3, p.eventBus().hazelcastConnections());
    // a node lost: 333,333 clients back within 60 s = 5,556 handshakes/s, 12 commands each in Redis
    assertEquals(5_555.5556, p.nodeLoss().handshakesPerSecond(), 1e-3);
    assertEquals(66_666.667, p.nodeLoss().redisCommandsPerSecond(), 1e-2);

    assertEquals(3 * 0.25 * 730, p.cost().gateway(), DELTA);
    assertEquals(52 * 0.2 * 730, p.cost().redis(), DELTA);
  }

  /** Ten million at the same rates: 53.6 vCPU is 14 nodes at half their CPU, 15 to fill three zones alike. */
  @Test
  void tenMillionConnectionsAreBoundByCpu() {
    Plan p = plan("--connections", "10M", "--targeted-per-connection", "10/min", "--broadcast-rate", "1/min");
    assertEquals(53.611, p.load().vcpus(), 1e-3);
    assertEquals(14, p.gateway().nodesForCpu());
    assertEquals(3, p.gateway().nodesForMemory());
    assertEquals(15, p.gateway().nodes());
    assertEquals("cpu", p.gateway().boundBy());
    // 593 MB/s over 5 MB/s partitions: 119, rounded up to a multiple of 6
    assertEquals(120, p.kafka().partitions());
    assertEquals(15, p.kafka().consumers());
    assertEquals(15 * 14, p.eventBus().connections());
  }

  /**
   * Idle connections on 8 GiB machines: 10,000,000 x 4,000 bytes x 1.5 over 8 GiB x 0.6 less the idle node (100 MiB
   * and 20,000 in-flight Kafka records of 768 bytes) = 11.9, so 12 nodes, while CPU (pings and handshakes, 10.3 vCPU)
   * needs 3.
   */
  @Test
  void idleConnectionsOnSmallMachinesAreBoundByMemory() {
    Plan p = plan("--connections", "10M", "--machine", "t-highcpu-8");
    assertEquals(3, p.gateway().nodesForCpu());
    assertEquals(12, p.gateway().nodesForMemory());
    assertEquals(12, p.gateway().nodes());
    assertEquals("memory", p.gateway().boundBy());
    assertEquals(0, p.kafka().bytesPerSecond(), DELTA);
  }

  /**
   * Without history a targeted message is one command, a connect 5, a heartbeat 5 per token: 166,667 + 1,389 +
   * 166,667 = 334,722/s, 7 masters; the heartbeats are half of it, which the plan says.
   */
  @Test
  void withoutHistoryRedisIsSmallerAndTheHeartbeatsShow() {
    Plan p = plan("--connections", "1M", "--targeted-per-connection", "10/min", "--broadcast-rate", "1/min",
      "--history", "0");
    assertEquals(334_722.2, p.redis().commandsPerSecond(), 0.1);
    assertEquals(7, p.redis().masters());
    assertEquals(0, p.redis().historyGiB(), DELTA);
    assertTrue(p.limits().stream().anyMatch(l -> l.startsWith("registry heartbeats are 50% of Redis commands")),
      String.join("\n", p.limits()));
  }

  /** A short history keeps what a token gets in its session, not history.size: 1/min x (1 h + 5 min) = 65. */
  @Test
  void aStreamKeepsWhatItsTokenGetsWhileConnectedUpToTheHistorySize() {
    Plan p = plan("--connections", "100k", "--targeted-per-connection", "1/min");
    assertEquals(65, p.redis().retainedPerStream(), 1e-9);
    Plan shorter = plan("--connections", "100k", "--targeted-per-connection", "1/min", "--history", "20");
    assertEquals(20, shorter.redis().retainedPerStream(), 1e-9);
    assertTrue(shorter.redis().historyGiB() < p.redis().historyGiB());
  }

  @Test
  void theHttpIngestUsesItsOwnFigureAndNeedsNoKafka() {
    Plan p = plan("--connections", "1M", "--targeted-per-connection", "10/min", "--ingest", "http");
    // 166,667 x 20 + 1,000,000 x 1 + 278 x 100
    assertEquals(4.3611, p.load().vcpus(), 1e-4);
    assertEquals(0, p.kafka().partitions());
    assertEquals(0, p.cost().kafka(), DELTA);
  }

  @Test
  void theGcpVariablesCarryTheGroupAndItsLoadTest() {
    PlanInputs in = inputs("--connections", "1M", "--targeted-per-connection", "10/min", "--broadcast-rate", "1/min",
      "--format", "env");
    String env = PlanFormat.render(CapacityModel.plan(in, TestFigures.figures(), TestFigures.prices()));
    assertTrue(env.contains("\nGCP_MACHINE_TYPE=t-8\n"), env);
    assertTrue(env.contains("\nGCP_SIZE=3\n"), env);
    assertTrue(env.contains("\nGCP_LOADTEST_CONNECTIONS=1000000\n"), env);
    assertTrue(env.contains("\nGCP_LOADTEST_RATE=166666.683\n"), env);
    // 166,667 targeted for each broadcast of a minute's
    assertTrue(env.contains("\nGCP_LOADTEST_MIX=10000000:1\n"), env);
  }

  @Test
  void aMachineThatCannotHoldAnIdleNodeIsRefused() {
    PlanInputs in = inputs("--connections", "1000", "--memory-target", "0.001");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
      () -> CapacityModel.plan(in, TestFigures.figures(), TestFigures.prices()));
    assertTrue(e.getMessage().startsWith("--machine t-8: 32 GiB leave no room"), e.getMessage());
  }

  @Test
  void egressIsPricedTierByTier() {
    Prices prices = TestFigures.prices();
    assertEquals(1024 * 0.12, prices.egressPerMonth(1024), DELTA);
    assertEquals(1024 * 0.12 + 1024 * 0.1, prices.egressPerMonth(2048), DELTA);
  }
}
