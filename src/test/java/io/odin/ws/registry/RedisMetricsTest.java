package io.odin.ws.registry;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.metrics.GatewayMetrics;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Redis meters under the names operators scrape. */
class RedisMetricsTest {

  @Test
  void prometheusNames() {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    GatewayMetrics metrics = new GatewayMetrics(prometheus);
    metrics.redisLookup(1_500_000);
    metrics.redisLookup(700_000);
    metrics.redisError("lookup");
    metrics.redisError("write");
    metrics.redisError("lookup");
    String scrape = prometheus.scrape();
    assertTrue(scrape.contains("odin_redis_lookup_duration_seconds_count 2"), scrape);
    assertTrue(scrape.contains("odin_redis_lookup_duration_seconds_bucket{le="), scrape);
    assertTrue(scrape.contains("odin_redis_errors_total{op=\"lookup\"} 2.0"), scrape);
    assertTrue(scrape.contains("odin_redis_errors_total{op=\"write\"} 1.0"), scrape);
    assertEquals(3, metrics.redisErrorCount());
  }
}
