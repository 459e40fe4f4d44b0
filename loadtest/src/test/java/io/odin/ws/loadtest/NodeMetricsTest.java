package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.odin.ws.loadtest.testsupport.Ports;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --node-metrics against a real node's /metrics: its cores, the CPU it spent in the measured window and the
 * connections it held end up in the report; a node that cannot be read is named, and the run still completes.
 */
class NodeMetricsTest {

  @Test
  void cpuAndConnectionsPerNodeComeFromEachNodesMetrics(@TempDir Path dir) throws Exception {
    int deadPort = Ports.free();
    try (GatewayProcess node = GatewayProcess.start(2, Map.of())) {
      String live = "http://127.0.0.1:" + node.httpPort + "/metrics";
      String dead = "http://127.0.0.1:" + deadPort + "/metrics";
      LoadTestOptions o = LoadTestOptions.parse(new String[] {
        "--url", node.wsUrl(),
        "--publish-url", node.publishUrl(),
        "--node-metrics", live + "," + dead,
        "--connections", "150", "--ramp", "2000", "--duration", "3s", "--rate", "200", "--mix", "100:0",
        "--drain", "5s", "--quiet", "--report", dir.resolve("run.json").toString()});
      LoadTest.LoadReport report = new LoadTest(o).run();
      assertEquals(0, report.exitCode(), report.summary());

      JsonArray nodes = new JsonObject(Files.readString(dir.resolve("run.json"))).getJsonArray("nodes");
      assertEquals(2, nodes.size());
      JsonObject n = nodes.getJsonObject(0);
      assertEquals(live, n.getString("metricsUrl"));
      assertEquals(Runtime.getRuntime().availableProcessors(), n.getInteger("cores"));
      assertEquals(150L, n.getLong("connectionsAtEnd"), "the node's own count of the tool's connections");
      // the node delivered 600 messages in the window: it used CPU, and no more than all its cores
      assertTrue(n.getDouble("cpuCoresUsed") > 0, n.encode());
      assertTrue(n.getDouble("cpuPct") > 0 && n.getDouble("cpuPct") <= 100.0 * 1.05, n.encode());
      assertTrue(n.getDouble("windowSeconds") >= 2.5, n.encode());
      // without Redis the node makes no lookups: none per batch
      assertTrue(n.getLong("batches") > 0, n.encode());
      assertEquals(0L, n.getLong("redisLookups"), n.encode());

      JsonObject d = nodes.getJsonObject(1);
      assertEquals(dead, d.getString("metricsUrl"));
      assertTrue(d.getString("error") != null && !d.containsKey("cpuPct"), d.encode());
    }
  }

  @Test
  void parsesSummedSamplesAndIgnoresCommentsAndOtherMetrics() {
    String text = "# HELP process_cpu_time_ns_total The \"cpu time\"\n"
      + "# TYPE process_cpu_time_ns_total counter\n"
      + "process_cpu_time_ns_total 4.62E9\n"
      + "process_cpu_time_ns_total_other 7\n"
      + "system_cpu_count 8.0\n"
      + "odin_ws_connections{shard=\"odin.shard.x.0\"} 10.0\n"
      + "odin_ws_connections{shard=\"odin.shard.x.1\",le=\"a b}\"} 15.0 1700000000000\n"
      + "odin_ws_connections_total 99\n"
      + "odin_dispatch_batch_size_count 120.0\n"
      + "odin_redis_lookup_duration_seconds_count 118.0\n"
      + "vertx_eventbus_bytes_written_sum{address=\"odin.node.relay\"} 300.0\n"
      + "vertx_eventbus_bytes_written_sum{address=\"odin.cluster\"} 200.0\n"
      + "vertx_eventbus_bytes_read_sum{address=\"odin.cluster\"} 50.0\n"
      + "vertx_eventbus_sent_total{address=\"odin.node.relay\",side=\"remote\"} 3.0\n"
      + "vertx_eventbus_sent_total{address=\"odin.shard\",side=\"local\"} 1000.0\n"
      + "vertx_eventbus_published_total{address=\"odin.cluster\",side=\"remote\"} 4.0\n";
    NodeMetrics.Snapshot s = NodeMetrics.parse(text, 1L);
    assertEquals(4.62e9, s.cpuNanos());
    assertEquals(8.0, s.cores());
    assertEquals(25.0, s.connections());
    assertEquals(120.0, s.batches());
    assertEquals(118.0, s.lookups());
    assertEquals(500.0, s.busWritten());
    assertEquals(50.0, s.busRead());
    assertEquals(7.0, s.busRemoteMessages(), "messages to other nodes only");
    assertTrue(Double.isNaN(NodeMetrics.parse("up 1\n", 1L).cpuNanos()));
  }
}
