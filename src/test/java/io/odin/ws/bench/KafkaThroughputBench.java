package io.odin.ws.bench;

import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Records per second from Kafka to WebSocket clients on this machine: a real broker (child JVM), one node
 * (4 shards, 2 dispatchers, in this JVM), real clients; targeted records keyed by token, produced as fast as the
 * producer goes; the clock runs from the first send to the last frame received.
 * <pre>mvn -q -B test -Dtest=KafkaThroughputBench -Dodin.bench=true -Dexcluded.test.groups=none -Dbench.records=200000</pre>
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class KafkaThroughputBench {

  @Test
  void recordsPerSecondFromKafkaToClients() throws Exception {
    int records = Integer.getInteger("bench.records", 200_000);
    int tokens = Integer.getInteger("bench.tokens", 1_000);
    try (KafkaBroker broker = KafkaBroker.create().start()) {
      broker.createTopic("bench", 6);
      try (TestNode node = TestNode.start(4, new JsonObject()
             .put("kafka.bootstrapServers", broker.bootstrapServers())
             .put("kafka.topics", new JsonArray().add("bench"))
             .put("kafka.autoOffsetReset", "earliest")
             .put("dispatch.instances", 2));
           WsClients clients = new WsClients(node.wsPort);
           KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
             ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
             ProducerConfig.LINGER_MS_CONFIG, 5,
             ProducerConfig.BATCH_SIZE_CONFIG, 65_536), new StringSerializer(), new StringSerializer())) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < tokens; i++) {
          names.add("t" + i);
        }
        List<Conn> conns = clients.connectAll(names);
        await().atMost(Duration.ofSeconds(60)).until(() ->
          !node.node().dependencies().get("kafka-0").get().getJsonArray("assigned").isEmpty());
        long t0 = System.nanoTime();
        for (int n = 0; n < records; n++) {
          String token = "t" + (n % tokens);
          producer.send(new ProducerRecord<>("bench", token,
            "{\"type\":\"tick\",\"data\":{\"n\":" + n + ",\"price\":101.25,\"symbol\":\"ODIN\"}}"));
        }
        producer.flush();
        double produced = (System.nanoTime() - t0) / 1e9;
        await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> conns.stream().mapToLong(c -> c.frames.size()).sum() >= records);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("kafka -> clients: %d records to %d clients in %.2f s: %.0f records/s end to end "
          + "(producer done after %.2f s)%n", records, tokens, seconds, records / seconds, produced);
        assertEquals(records, conns.stream().mapToLong(c -> c.frames.size()).sum());
        var latency = node.node().metrics().registry().find("odin.delivery.latency").timer();
        if (latency != null) {
          var snapshot = latency.takeSnapshot();
          for (var p : snapshot.percentileValues()) {
            System.out.printf("delivery latency p%.0f: %.1f ms%n", p.percentile() * 100, p.value(java.util.concurrent.TimeUnit.MILLISECONDS));
          }
          System.out.printf("delivery latency mean %.1f ms, max %.1f ms%n",
            snapshot.mean(java.util.concurrent.TimeUnit.MILLISECONDS), snapshot.max(java.util.concurrent.TimeUnit.MILLISECONDS));
        }
      }
    }
  }
}
