package io.odin.ws.loadtest;

import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --publish kafka} end to end: the load tool produces to a real KRaft broker, a real node consumes the topic
 * and delivers to the tool's WebSocket clients; every delivery is verified. Slow (the broker takes a while to
 * start here): {@code mvn test -Dtest=LoadToolKafkaTest -Dexcluded.test.groups=none}.
 */
@Tag("slow")
class LoadToolKafkaTest {

  @Test
  void producedMessagesReachExactlyTheirConnections() throws Exception {
    try (KafkaBroker broker = KafkaBroker.create().start()) {
      String topic = "lt-" + UUID.randomUUID().toString().substring(0, 6);
      broker.createTopic(topic, 3);
      JsonObject conf = new JsonObject()
        .put("kafka.bootstrapServers", broker.bootstrapServers())
        .put("kafka.topics", new JsonArray().add(topic))
        .put("kafka.groupId", "g-" + topic)
        .put("kafka.autoOffsetReset", "earliest");
      try (TestNode node = TestNode.start(2, conf)) {
        await().atMost(Duration.ofSeconds(60)).until(() -> {
          var dep = node.node().dependencies().get("kafka-0");
          return dep != null && !dep.get().getJsonArray("assigned").isEmpty();
        });
        LoadTestOptions o = LoadTestOptions.parse("--url", "ws://127.0.0.1:" + node.wsPort + "/ws",
          "--publish", "kafka", "--kafka-bootstrap", broker.bootstrapServers(), "--topic", topic,
          "--connections", "200", "--connections-per-token", "2", "--ramp", "2000",
          "--duration", "3s", "--rate", "300", "--mix", "80:20", "--drain", "10s", "--verify-routing", "--quiet");
        LoadTest.LoadReport report = new LoadTest(o).run();
        RoutingVerifier.Result v = report.verification();
        assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
        assertEquals(0, report.exitCode(), report.summary());
        assertEquals(900, v.messages());
        assertEquals(v.requiredDeliveries(), v.deliveries());
        assertTrue(v.requiredDeliveries() > 900 * 0.2 * 200, v.toString());
        System.out.println("LoadToolKafkaTest: " + report.summary());
      }
    }
  }
}
