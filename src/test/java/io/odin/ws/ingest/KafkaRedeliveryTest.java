package io.odin.ws.ingest;

import io.odin.ws.testsupport.CursorClients;
import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Kafka record read again (a rebalance, a crash before the commit) is stored once per stream and not dispatched
 * again: a real broker, a real Redis, two nodes reading the same partition. The second node reads every record of
 * the first again, exactly as a consumer that took the partition over from an uncommitted offset does.
 */
class KafkaRedeliveryTest {

  @Test
  void recordsReadAgainAreNotStoredOrDispatchedTwice() throws Exception {
    String topic = "redelivered";
    try (RedisServer redis = RedisServer.start(); KafkaBroker broker = KafkaBroker.create().start();
         KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
           ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all"),
           new StringSerializer(), new StringSerializer());
         CursorClients clients = new CursorClients()) {
      broker.createTopic(topic, 1);
      TestNode first = node(broker, topic, redis);
      try {
        Client alice = clients.client("alice");
        alice.connect(first.wsPort);
        awaitAssigned(first);
        List<String> sent = new ArrayList<>();
        send(producer, topic, sent, 0, 10);
        await().atMost(Duration.ofSeconds(30)).until(() -> alice.received.size() == 10);
        String afterTen = alice.lastId();
        send(producer, topic, sent, 10, 20);
        await().atMost(Duration.ofSeconds(30)).until(() -> alice.received.size() == 20);
        alice.close();

        // the same partition read from its start by another consumer: every record is one the history has
        TestNode second = node(broker, topic, redis);
        try (Publisher api = new Publisher(second.httpPort)) {
          await().atMost(Duration.ofSeconds(60)).until(() -> new Scrape(api.get("/metrics").body).sum("odin_kafka_redelivered_total") == 20);
          assertEquals(0, new Scrape(api.get("/metrics").body).sum("odin_history_unstored_messages_total"));
        } finally {
          second.close();
        }

        // a new record, then alice comes back from her tenth message: the rest once each, in order
        send(producer, topic, sent, 20, 21);
        try (Publisher api = new Publisher(first.httpPort)) {
          await().atMost(Duration.ofSeconds(30)).until(() -> new Scrape(api.get("/metrics").body).sum("odin_kafka_records_total") == 21);
        }
        alice.cursor(afterTen);
        alice.connect(first.wsPort);
        await().atMost(Duration.ofSeconds(30)).until(() -> alice.resumed.size() == 1 && alice.received.size() >= 31);
        assertEquals(true, alice.resumed.get(0).getBoolean("recovered"), alice.toString());
        assertEquals(sent.subList(0, 20), alice.received.subList(0, 20));
        assertEquals(sent.subList(10, 21), alice.received.subList(20, alice.received.size()), "the rest once each, in order");
        assertTrue(alice.other.isEmpty(), alice.toString());
      } finally {
        first.close();
      }
    }
  }

  private static void send(KafkaProducer<String, String> producer, String topic, List<String> sent, int from, int to) {
    for (int i = from; i < to; i++) {
      sent.add("k" + i);
      producer.send(new ProducerRecord<>(topic, "alice", new JsonObject().put("type", "t").put("token", "alice")
        .put("data", new JsonObject().put("id", "k" + i)).encode()));
    }
    producer.flush();
  }

  private static TestNode node(KafkaBroker broker, String topic, RedisServer redis) {
    return TestNode.start(2, new JsonObject()
      .put("kafka.bootstrapServers", broker.bootstrapServers())
      .put("kafka.topics", new JsonArray().add(topic))
      // a group of its own: the node reads the partition from its start
      .put("kafka.groupId", "g-" + UUID.randomUUID())
      .put("kafka.autoOffsetReset", "earliest")
      .put("redis.url", redis.url())
      .put("redis.timeout", 5000));
  }

  private static void awaitAssigned(TestNode node) {
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      var dep = node.node().dependencies().get("kafka-0");
      return dep != null && !dep.get().getJsonArray("assigned").isEmpty();
    });
  }
}
