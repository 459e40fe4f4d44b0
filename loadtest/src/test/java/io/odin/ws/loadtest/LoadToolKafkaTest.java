package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.odin.ws.loadtest.testsupport.KafkaBroker;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --publish kafka} end to end: the load tool produces to a real KRaft broker, a real node (the gateway's jar in
 * a child JVM) consumes the topic
 * and delivers to the tool's WebSocket clients; every delivery is verified. Slow (the broker takes a while to
 * start here); in loadtest/: {@code mvn test -Dtest=LoadToolKafkaTest -Dexcluded.test.groups=none}.
 */
@Tag("slow")
class LoadToolKafkaTest {

  @Test
  void producedMessagesReachExactlyTheirConnections() throws Exception {
    try (KafkaBroker broker = KafkaBroker.create().start()) {
      String topic = "lt-" + UUID.randomUUID().toString().substring(0, 6);
      broker.createTopic(topic, 3);
      Map<String, String> env = Map.of(
        "ODIN_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers(),
        "ODIN_KAFKA_TOPICS", topic,
        "ODIN_KAFKA_GROUP_ID", "g-" + topic,
        "ODIN_KAFKA_AUTO_OFFSET_RESET", "earliest");
      try (GatewayProcess gateway = GatewayProcess.start(2, env)) {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(gateway::kafkaAssigned);
        LoadTestOptions o = LoadTestOptions.parse("--url", gateway.wsUrl(),
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
