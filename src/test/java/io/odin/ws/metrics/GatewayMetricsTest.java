package io.odin.ws.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.metrics.GatewayMetrics.DispatchType;
import io.odin.ws.metrics.GatewayMetrics.DropReason;
import io.odin.ws.testsupport.Scrape;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gateway's meters render under the Prometheus names the observability issue and the dashboard use. */
class GatewayMetricsTest {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final GatewayMetrics metrics = new GatewayMetrics(registry);

  @Test
  void everyIssueMetricIsExportedUnderItsPrometheusName() {
    metrics.shardConnections("odin.shard.n1.0", () -> 3);
    Scrape s = new Scrape(registry.scrape());
    Map<String, String> families = Map.ofEntries(
      Map.entry("odin_ws_connections", "gauge"),
      Map.entry("odin_ws_connects_total", "counter"),
      Map.entry("odin_ws_disconnects_total", "counter"),
      Map.entry("odin_dispatch_total", "counter"),
      Map.entry("odin_dispatch_fanout_size", "histogram"),
      Map.entry("odin_dispatch_batch_size", "histogram"),
      Map.entry("odin_redis_lookup_duration_seconds", "histogram"),
      Map.entry("odin_redis_errors_total", "counter"),
      Map.entry("odin_kafka_records_total", "counter"),
      Map.entry("odin_kafka_bad_records_total", "counter"),
      Map.entry("odin_kafka_lag", "gauge"),
      Map.entry("odin_delivery_latency_seconds", "histogram"),
      Map.entry("odin_messages_dropped_total", "counter"));
    for (Map.Entry<String, String> f : families.entrySet()) {
      assertEquals(f.getValue(), s.type(f.getKey()), f.getKey() + " type");
      String sample = f.getValue().equals("histogram") ? f.getKey() + "_bucket" : f.getKey();
      assertTrue(s.has(sample), sample + " missing from\n" + s.text);
    }
    assertEquals(3, s.sum("odin_ws_connections", "shard", "odin.shard.n1.0"));
    for (String type : new String[] {"targeted", "broadcast", "fallback"}) {
      assertTrue(!s.samples("odin_dispatch_total", "type", type).isEmpty(), type);
    }
    for (String reason : new String[] {"slow_client", "no_connection", "overload"}) {
      assertTrue(!s.samples("odin_messages_dropped_total", "reason", reason).isEmpty(), reason);
    }
    assertTrue(!s.samples("odin_kafka_bad_records_total", "reason", GatewayMetrics.KAFKA_BAD_RECORD_MALFORMED).isEmpty());
    assertTrue(s.has("process_files_open_files"));
  }

  @Test
  void recordingMethodsMoveTheirMeters() {
    metrics.redisLookup(2_500_000);
    metrics.redisError("lookup");
    metrics.kafkaRecords(42);
    metrics.kafkaBadRecord("malformed");
    metrics.kafkaBadRecord("too_large");
    AtomicInteger partitionLag = new AtomicInteger(7);
    metrics.kafkaPartitionLag("events", 3, partitionLag::get);
    metrics.kafkaPartitionLag("events", 4, () -> 1227);
    metrics.deliveryLatencyMillis(12);
    metrics.dispatched(DispatchType.FALLBACK, 5);
    metrics.dropped(DropReason.SLOW_CLIENT, 2);
    metrics.disconnected(DisconnectReason.PING_TIMEOUT);
    Scrape s = new Scrape(registry.scrape());
    assertEquals(1, s.sum("odin_redis_lookup_duration_seconds_count"));
    assertEquals(0.0025, s.sum("odin_redis_lookup_duration_seconds_sum"), 1e-9);
    assertEquals(1, s.sum("odin_redis_errors_total"));
    assertEquals(42, s.sum("odin_kafka_records_total"));
    assertEquals(1, s.sum("odin_kafka_bad_records_total", "reason", "malformed"));
    assertEquals(1, s.sum("odin_kafka_bad_records_total", "reason", "too_large"));
    // the node's lag is its partitions' summed
    assertEquals(1234, s.sum("odin_kafka_lag"));
    assertEquals(7, s.sum("odin_kafka_partition_lag", "topic", "events", "partition", "3"));
    assertEquals(0.012, s.sum("odin_delivery_latency_seconds_sum"), 1e-9);
    assertEquals(1, s.sum("odin_delivery_latency_seconds_bucket", "le", "0.013981011"));
    assertEquals(5, s.sum("odin_dispatch_total", "type", "fallback"));
    assertEquals(2, s.sum("odin_messages_dropped_total", "reason", "slow_client"));
    assertEquals(1, s.sum("odin_ws_disconnects_total", "reason", "ping_timeout"));
    metrics.removeKafkaPartition("events", 3);
    metrics.removeKafkaPartition("events", 4);
    assertFalse(new Scrape(registry.scrape()).has("odin_kafka_partition_lag"));
    assertEquals(0, new Scrape(registry.scrape()).sum("odin_kafka_lag"));
  }

  /** What shards and dispatchers call per message or per batch must not allocate (no boxing, tags or lookups). */
  @Test
  void hotPathRecordingDoesNotAllocate() {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    Runnable perMessage = () -> {
      for (int i = 0; i < 200_000; i++) {
        metrics.dispatched(DispatchType.TARGETED, 1);
        metrics.fanout(i & 7);
        metrics.deliveryLatencyMillis(i & 1023);
        metrics.delivered(3);
        metrics.batch(100);
        metrics.dropped(DropReason.NO_CONNECTION, 1);
        metrics.redisLookup(i);
        metrics.kafkaRecords(1);
      }
    };
    perMessage.run(); // warm up: JIT, histogram buffers
    long tid = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(tid);
    perMessage.run();
    long allocated = threads.getThreadAllocatedBytes(tid) - before;
    // 1.6 million recordings; one small object each would be > 25 MB
    assertTrue(allocated < 1_000_000, "recording allocated " + allocated + " bytes");
  }
}
