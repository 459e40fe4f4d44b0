package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What --publish kafka produces, checked with kafka-clients' own in-memory producer (the end-to-end path through a
 * broker is exercised once Kafka ingest lands; see docs/benchmarks.md).
 */
class KafkaSinkTest {

  @Test
  void oneRecordPerEnvelopeKeyedByTokenAndAcknowledgedPerRecord() throws Exception {
    MockProducer<String, byte[]> producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
    LoadTestOptions o = LoadTestOptions.parse("--publish", "kafka", "--topic", "push", "--rate", "100",
      "--connections", "10", "--mix", "50:50", "--batch", "4", "--run-id", "k1");
    MessageLog log = new MessageLog();
    Publisher publisher = new Publisher(o, o.tokenPlan(), log, new KafkaSink(producer, "push"));
    int[] done = {0};
    EnvelopeFactory f = new EnvelopeFactory("loadtest", null, "k1", o.tokenPlan(), 0);
    int s0 = log.add(new int[] {3}, 1);
    int s1 = log.add(null, 1);
    List<Publisher.Out> batch = List.of(
      new Publisher.Out(s0, new int[] {3}, f.key(new int[] {3}), f.envelope(s0, new int[] {3}, 1)),
      new Publisher.Out(s1, null, null, f.envelope(s1, null, 1)));
    new KafkaSink(producer, "push").send(batch, publisher, () -> done[0]++);
    List<ProducerRecord<String, byte[]>> sent = producer.history();
    assertEquals(2, sent.size());
    assertEquals("push", sent.get(0).topic());
    assertEquals("lt-3", sent.get(0).key());
    assertNull(sent.get(1).key());
    assertEquals("lt-3", new JsonObject(new String(sent.get(0).value(), StandardCharsets.UTF_8)).getString("token"));
    assertFalse(new JsonObject(new String(sent.get(1).value(), StandardCharsets.UTF_8)).containsKey("token"));

    assertEquals(0, done[0]);
    assertTrue(producer.completeNext());
    assertEquals(MessageLog.Status.ACCEPTED, log.status(s0));
    assertEquals(0, done[0]);
    assertTrue(producer.errorNext(new RuntimeException("broker gone")));
    assertEquals(MessageLog.Status.FAILED, log.status(s1));
    assertEquals(1, done[0]);
    assertTrue(publisher.errors().keySet().iterator().next().contains("broker gone"));
  }

  @Test
  void producerSettingsAreConsistent() {
    Properties p = KafkaSink.properties("127.0.0.1:9092", "1");
    assertEquals("false", String.valueOf(p.get(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)));
    assertEquals("true", String.valueOf(KafkaSink.properties("127.0.0.1:9092", "all").get(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)));
  }
}
