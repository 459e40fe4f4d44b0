package io.odin.ws.ingest;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.KafkaBroker;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node drained (SIGTERM) while records keep coming through Kafka: its consumers stop before its dispatchers, so no
 * record is taken off Kafka that nobody can dispatch. They stopped together: the consumer still polled after the
 * dispatchers were gone, and its records were refused ("No handlers for address odin.dispatch.0", counted as
 * dispatch_failed), saved only by the next owner of the partition reading them again.
 */
class KafkaDrainTest {

  static final String TOPIC = "drain-events";

  KafkaBroker kafka;
  ChildNode node;

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void aDrainedNodeRefusesNoRecordItPolled() throws Exception {
    kafka = KafkaBroker.create().start();
    kafka.createTopic(TOPIC, 3);
    node = ChildNode.launch("k", 2, Map.of(
      "ODIN_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
      "ODIN_KAFKA_TOPICS", TOPIC,
      "ODIN_KAFKA_AUTO_OFFSET_RESET", "earliest")).awaitReady();
    AtomicBoolean producing = new AtomicBoolean(true);
    AtomicLong sent = new AtomicLong();
    Thread producer = new Thread(() -> {
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.LINGER_MS_CONFIG, 0), new StringSerializer(), new StringSerializer())) {
        for (int n = 0; producing.get(); n++) {
          p.send(new ProducerRecord<>(TOPIC, "t" + (n % 50), "{\"type\":\"t\",\"token\":\"t" + (n % 50) + "\",\"data\":" + n + "}"));
          sent.incrementAndGet();
          // about 2,000 a second: pacing, not synchronisation
          java.util.concurrent.locks.LockSupport.parkNanos(500_000);
        }
      }
    });
    producer.start();
    // records flow through the node
    await().atMost(Duration.ofSeconds(60)).until(() -> node.logText().contains("assigned") && sent.get() > 4_000);
    node.terminate();
    producing.set(false);
    producer.join();
    String log = node.logText();
    assertTrue(log.contains("stopped in"), "a graceful stop: " + log);
    assertFalse(log.contains("refused by dispatch") || log.contains("No handlers for address odin.dispatch"), log);
  }
}
