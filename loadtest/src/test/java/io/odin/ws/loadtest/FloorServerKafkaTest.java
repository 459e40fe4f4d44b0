package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.odin.ws.loadtest.testsupport.KafkaBroker;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Kafka floor of {@code scripts/benchmarks kafka-pair}: {@code FloorServer --kafka BOOTSTRAP TOPIC} consumes what
 * the load tool produces to a real broker and delivers each message to exactly the connections of its token (broadcasts
 * to all), every delivery verified. Slow (the broker); in loadtest/:
 * {@code mvn test -Dtest=FloorServerKafkaTest -Dexcluded.test.groups=none}.
 */
@Tag("slow")
class FloorServerKafkaTest {

  @Test
  void theFloorDeliversWhatIsProducedToExactlyItsConnections() throws Exception {
    try (KafkaBroker broker = KafkaBroker.create().start()) {
      String topic = "floor-" + UUID.randomUUID().toString().substring(0, 6);
      broker.createTopic(topic, 3);
      try (GatewayProcess floor = GatewayProcess.startFloor("--kafka", broker.bootstrapServers(), topic)) {
        // a group of its own that starts at the end of the topic: nothing is produced before the assignment
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
          .until(() -> floor.health().getJsonArray("assigned").size() == 3);
        LoadTestOptions o = LoadTestOptions.parse("--url", floor.wsUrl(),
          "--publish", "kafka", "--kafka-bootstrap", broker.bootstrapServers(), "--topic", topic,
          "--connections", "200", "--connections-per-token", "2", "--ramp", "2000",
          "--duration", "3s", "--rate", "300", "--mix", "80:20", "--drain", "10s", "--verify-routing", "--quiet");
        LoadTest.LoadReport report = new LoadTest(o).run();
        RoutingVerifier.Result v = report.verification();
        assertEquals(0, v.violations(), String.join("\n", v.allExamples()));
        assertEquals(0, report.exitCode(), report.summary());
        assertEquals(900, v.messages());
        assertEquals(v.requiredDeliveries(), v.deliveries());
      }
    }
  }
}
