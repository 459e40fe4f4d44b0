package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Event-bus address labels are grouped by role: bounded whatever the number of nodes, shards and dispatchers. */
class VertxMetricsSetupTest {

  @Test
  void addressesAreGroupedByRole() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    BackendRegistries.registerMatchers(registry, VertxMetricsSetup.options("unit").getLabelMatches());
    Map<String, String> expected = Map.of(
      "odin.shard.node-a.0", "odin.shard",
      "odin.shard.9f3c2e11.15", "odin.shard",
      "odin.dispatch.3", "odin.dispatch",
      "odin.node.node-b.relay", "odin.node.relay",
      "odin.cluster.directory", "odin.cluster",
      "some.other.address", "other",
      "odin.shard", "odin.shard");
    for (Map.Entry<String, String> e : expected.entrySet()) {
      Counter c = Counter.builder("vertx.eventbus.sent").tag("address", e.getKey()).register(registry);
      assertEquals(e.getValue(), c.getId().getTag("address"), e.getKey());
    }
    // only event-bus meters are relabelled
    assertEquals("odin.shard.node-a.0",
      Counter.builder("odin.something").tag("address", "odin.shard.node-a.0").register(registry).getId().getTag("address"));
  }
}
