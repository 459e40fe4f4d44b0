package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What scripts/benchmarks figures recorded becomes figures: Redis commands per event out of a once-a-second INFO series
 * with heartbeats falling where they fall, and the per-node figures out of the load tool's reports; the figures nothing
 * measured keep the base file's values and sources.
 */
class FiguresReportTest {

  static final int TOKENS = 2000;

  /**
   * A synthetic run, second by second: 2,000 connects at 8 commands (seconds 3 to 5), 20,000 targeted messages at 6
   * (12,000 a second over 10 s, one second twice as busy), 100 broadcasts at 10, the idle hold with two heartbeats of 8
   * per token (the second one split over two seconds), 2,000 reconnects at 12. Every sample's INFO call counts one
   * command in the next.
   */
  static String samples() {
    long[] add = new long[130];
    for (int s = 3; s <= 5; s++) {
      add[s] += 16_000 / 3;
    }
    add[5] += 16_000 - 3 * (16_000 / 3);
    for (int s = 11; s <= 20; s++) {
      add[s] += s == 15 ? 24_000 : s == 16 ? 0 : 12_000;
    }
    for (int s = 26; s <= 30; s++) {
      add[s] += 200;
    }
    add[45] += 16_000;
    add[75] += 8_000;
    add[76] += 8_000;
    for (int s = 111; s <= 115; s++) {
      add[s] += 24_000 / 5;
    }
    StringBuilder sb = new StringBuilder();
    long commands = 0;
    long memory = 1_000_000;
    double cpu = 1;
    for (int s = 0; s < add.length; s++) {
      commands += add[s] + (s > 0 ? 1 : 0);
      if (s >= 3 && s <= 5) {
        memory += 868_000 / 3;
      }
      if (s >= 11 && s <= 20) {
        memory += 500_000;
        cpu += 0.05;
      }
      if (s >= 26 && s <= 30) {
        cpu += 0.002;
      }
      sb.append("@ ").append(s * 1000L).append('\n')
        .append("# Memory\nused_memory:").append(memory).append('\n')
        .append("# CPU\nused_cpu_sys:").append(cpu / 2).append("\nused_cpu_user:").append(cpu / 2).append('\n')
        .append("# Commandstats\ncmdstat_evalsha:calls=").append(commands / 2).append(",usec=1,usec_per_call=1.00\n")
        .append("cmdstat_info:calls=").append(commands - commands / 2).append(",usec=1,usec_per_call=1.00\n");
    }
    return sb.toString();
  }

  static final String PHASES = String.join("\n",
    "connect 2000 5000 2000",
    "targeted 10000 20000 20000",
    "broadcast 25000 30000 100",
    "idle 35000 100000 2000",
    "reconnect 110000 115000 2000");

  @Test
  void redisCommandsPerEventComeOutOfTheSeriesHeartbeatsTakenOut() {
    RedisCosts.Result r = RedisCosts.attribute(RedisCosts.parseSamples(samples()), RedisCosts.parsePhases(PHASES));
    assertEquals(8, r.perConnect(), 1e-9);
    assertEquals(6, r.perTargeted(), 1e-9);
    assertEquals(10, r.perBroadcast(), 1e-9);
    assertEquals(8, r.perHeartbeatToken(), 1e-9);
    assertEquals(2, r.heartbeatsSeen());
    assertEquals(12, r.perReconnect(), 1e-9);
    assertEquals(434, r.bytesPerConnection(), 1);
    assertEquals(250, r.bytesPerStoredMessage(), 1e-9);
    assertEquals(121_000 / 0.51, r.commandsPerCpuSecond(), 1);
    assertEquals(List.of("idle: 2 heartbeats of 16000 commands each"), r.notes());
  }

  @Test
  void anIdlePhaseWithoutAHeartbeatIsRefused() {
    String phases = PHASES.replace("idle 35000 100000", "idle 50000 70000");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
      () -> RedisCosts.attribute(RedisCosts.parseSamples(samples()), RedisCosts.parsePhases(phases)));
    assertTrue(e.getMessage().startsWith("no heartbeat in the idle phase (20 s)"), e.getMessage());
  }

  private static JsonObject report(String label, long opened, List<double[]> timeline, JsonObject server,
                                   double deliveriesPerSecond) {
    JsonArray tl = new JsonArray();
    for (double[] s : timeline) {
      tl.add(new JsonObject().put("t", s[0]).put("phase", s[1] == 0 ? "ramp" : "publish").put("serverCpuPct", s[2]));
    }
    return new JsonObject().put("label", label).put("finishedAt", "2026-12-07T10:00:00Z")
      .put("machine", new JsonObject().put("cores", 2).put("java", "OpenJDK 17").put("os", "Linux")
        .put("loadAverageAtStart", 1.5).put("loadAverageAtEnd", 2.5))
      .put("otherCpuPctWhileMeasuring", 4.0)
      .put("connections", new JsonObject().put("opened", opened))
      .put("deliveries", new JsonObject().put("perSecond", deliveriesPerSecond))
      .put("server", server)
      .put("timeline", tl);
  }

  @Test
  void theReportsBecomeFiguresAndTheRestIsKept(@TempDir Path dir) throws Exception {
    // idle: 10,000 connections held at 2% of a core (the first and last second, 50%, are left out): 2 µs per
    // connection and second
    List<double[]> idle = new ArrayList<>();
    idle.add(new double[] {1, 0, 80});
    idle.add(new double[] {2, 1, 50});
    for (int t = 3; t <= 12; t++) {
      idle.add(new double[] {t, 1, 2});
    }
    idle.add(new double[] {13, 1, 50});
    Files.writeString(dir.resolve("idle.json"), report("idle", 10_000, idle, new JsonObject()
      .put("rssBeforeKiB", 102_400).put("rssPerConnectionBytesAfterRamp", 3100.4), 0).encode());
    // broadcast: 16 µs per delivery at 20,000 deliveries/s to 10,000 connections, whose pings cost 10,000 x 2 µs a
    // second, 1 µs per delivery: 15 net
    Files.writeString(dir.resolve("broadcast.json"), report("broadcast", 10_000, List.of(), new JsonObject()
      .put("cpuMicrosPerDelivery", 16.0), 20_000).encode());
    // targeted through Kafka: the ramp took 1.5 s at 40% and 0.5 s at 100% of a core for 5,000 connections: 220 µs each
    Files.writeString(dir.resolve("targeted-kafka.json"), report("targeted-kafka", 5_000,
      List.of(new double[] {1.5, 0, 40}, new double[] {2, 0, 100}, new double[] {3, 1, 90}), new JsonObject()
        .put("cpuMicrosPerDelivery", 31.0), 10_000).encode());
    Path redis = Files.createDirectories(dir.resolve("redis-history"));
    Files.writeString(redis.resolve("samples.txt"), samples());
    Files.writeString(redis.resolve("phases.txt"), PHASES);
    Files.writeString(redis.resolve("frame.txt"), "x".repeat(97) + "\n");

    List<String> log = new ArrayList<>();
    Figures f = FiguresReport.assemble(dir, TestFigures.figures(), "v1.2", log);
    assertEquals(100, f.get(Figure.IDLE_RSS), 1e-9);
    assertEquals(3100, f.get(Figure.RSS_PER_CONNECTION), 1e-9);
    assertEquals(2, f.get(Figure.CPU_PER_CONNECTION_SECOND), 1e-9);
    assertEquals(15, f.get(Figure.CPU_PER_BROADCAST), 1e-9);
    assertEquals(30, f.get(Figure.CPU_PER_TARGETED_KAFKA), 1e-9);
    assertEquals(220, f.get(Figure.CPU_PER_HANDSHAKE), 1e-9);
    assertEquals(6, f.get(Figure.REDIS_TARGETED), 1e-9);
    assertEquals(8, f.get(Figure.REDIS_HEARTBEAT), 1e-9);
    assertEquals(97, f.get(Figure.REDIS_STORED_FRAME_BYTES), 1e-9);
    assertEquals(237_000, f.get(Figure.REDIS_COMMANDS_PER_MASTER), 1e-9);
    assertTrue(f.source(Figure.CPU_PER_BROADCAST).startsWith("scripts/benchmarks figures, broadcast scenario: 16 µs of"
      + " the node's CPU per delivery at 20,000 deliveries/s to 10,000 connections, less the connections' pings (1 µs)"),
      f.source(Figure.CPU_PER_BROADCAST));
    // not measured here: kept from the base, value and source
    for (Figure kept : List.of(Figure.CPU_PER_TARGETED_HTTP, Figure.HEAP_PER_CONNECTION, Figure.KERNEL_PER_CONNECTION,
      Figure.KAFKA_BYTES_PER_PARTITION, Figure.REDIS_TARGETED_NO_HISTORY, Figure.RELAY_OVERHEAD_BYTES)) {
      assertEquals(TestFigures.figures().get(kept), f.get(kept), kept.key);
      assertEquals("test", f.source(kept), kept.key);
      assertTrue(log.stream().anyMatch(l -> l.contains(kept.key) && l.contains("kept")), kept.key + " in " + log);
    }
    assertEquals("v1.2", f.measured().getString("gateway"));
    // what it writes parses back
    Figures again = Figures.parse(f.toJson().encode(), "again");
    assertEquals(220, again.get(Figure.CPU_PER_HANDSHAKE), 1e-9);
  }
}
