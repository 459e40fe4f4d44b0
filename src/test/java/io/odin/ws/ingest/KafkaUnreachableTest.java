package io.odin.ws.ingest;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kafka out of reach, as an operator meets it on the first day, against the real launcher in a child JVM whose
 * name resolution reads a hosts file of the test's own (-Djdk.net.hosts.file), so a broker name can be made to
 * resolve while the node runs:
 * <ol>
 *   <li>a broker name that does not resolve (a typo, a DNS entry not published yet) is Kafka down: the node starts
 *       and serves clients, /health says why, the log says it in one line naming kafka.bootstrapServers (it used to
 *       exit 15 with a stack trace);</li>
 *   <li>once the name resolves but nothing listens there, the log says Kafka is unreachable (it used to say nothing
 *       while /health showed "down");</li>
 *   <li>once the broker is up the log says it is reachable again and its records reach the clients, with no restart.</li>
 * </ol>
 */
class KafkaUnreachableTest {

  private static final String BROKER_NAME = "odin-test-broker.invalid";

  @Test
  void anUnresolvableThenUnreachableBrokerIsKafkaDownSaidInTheLogAndRecoveredWithoutARestart() throws Exception {
    Path hosts = Files.createTempFile("odin-hosts", ".txt");
    String localHost = InetAddress.getLocalHost().getHostName();
    List<String> known = List.of("127.0.0.1 localhost", "127.0.0.1 " + localHost);
    Files.write(hosts, known);
    String topic = "unreachable";
    try (KafkaBroker broker = KafkaBroker.create();
         ChildNode node = ChildNode.launch("kafka-dns", 1, Map.of(
           "ODIN_KAFKA_BOOTSTRAP_SERVERS", BROKER_NAME + ":" + broker.port(),
           "ODIN_KAFKA_TOPICS", topic,
           "ODIN_KAFKA_AUTO_OFFSET_RESET", "earliest",
           "ODIN_KAFKA_RECONNECT_BACKOFF_MAX_MS", "1000"),
           List.of("-Xmx256m", "-XX:+UseSerialGC", "-Djdk.net.hosts.file=" + hosts, "-Dsun.net.inetaddr.negative.ttl=0"))) {
      // 1. the name does not resolve: the node is up anyway and says why Kafka is down
      node.awaitReady();
      JsonObject kafka = node.health().getJsonObject("dependencies").getJsonObject("kafka-0");
      assertEquals("down", kafka.getString("status"), kafka.encode());
      assertTrue(kafka.getString("error", "").contains("no broker name of kafka.bootstrapServers resolves: " + BROKER_NAME),
        kafka.encode());
      await().atMost(Duration.ofSeconds(30)).until(() -> node.logText().contains("kafka unreachable: no broker name of"
        + " kafka.bootstrapServers resolves: " + BROKER_NAME));
      assertTrue(node.isAlive());
      assertFalse(node.logText().contains("\tat "), "no stack trace: " + node.logText());
      assertEquals(202, node.api().post("{\"type\":\"t\",\"token\":\"u\",\"data\":1}").status, "the publish API serves");

      // 2. it resolves, nothing listens: the consumer starts, and the log says Kafka is unreachable
      Files.write(hosts, List.of(known.get(0), known.get(1), "127.0.0.1 " + BROKER_NAME));
      await().atMost(Duration.ofSeconds(30)).until(() -> node.logText().contains("kafka broker names of " + BROKER_NAME
        + ":" + broker.port() + " resolve now"));
      await().atMost(Duration.ofSeconds(30)).until(() -> node.logText().contains("kafka unreachable at " + BROKER_NAME));
      assertEquals("down", node.health().getJsonObject("dependencies").getJsonObject("kafka-0").getString("status"));
      assertFalse(node.health().getJsonObject("dependencies").getJsonObject("kafka-0").containsKey("error"));

      // 3. the broker comes up: reachable again, and its records are delivered
      broker.start();
      broker.createTopic(topic, 1);
      await().atMost(Duration.ofSeconds(60)).until(() ->
        "up".equals(node.health().getJsonObject("dependencies").getJsonObject("kafka-0").getString("status")));
      await().atMost(Duration.ofSeconds(10)).until(() -> node.logText().contains("kafka reachable again at " + BROKER_NAME));
      try (WsClients ws = new WsClients(node.wsPort)) {
        Conn c = ws.connect("user-1");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
          ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer())) {
          producer.send(new ProducerRecord<>(topic, "user-1", "{\"type\":\"t\",\"data\":{\"n\":1}}")).get();
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> c.frames.size() == 1);
        assertEquals("{\"type\":\"t\",\"data\":{\"n\":1}}", c.bodies().get(0));
      }
      assertTrue(node.isAlive());
    } finally {
      Files.deleteIfExists(hosts);
    }
  }
}
