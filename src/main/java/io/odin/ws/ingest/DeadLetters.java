package io.odin.ws.ingest;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Copies skipped records to {@code kafka.deadLetterTopic}: the original key, value and headers, plus
 * {@code odin-error} (the reason label), {@code odin-error-message} and {@code odin-source} (topic-partition@offset).
 * The producer is asynchronous and thread-safe; a failed copy is logged, never retried in the consumer path.
 */
final class DeadLetters implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

  private final KafkaProducer<String, byte[]> producer;
  private final String topic;

  DeadLetters(String bootstrapServers, String topic, String clientId, Map<String, String> clientProperties) {
    this.topic = topic;
    Map<String, Object> config = new java.util.HashMap<>(Map.of(
      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
      ProducerConfig.CLIENT_ID_CONFIG, clientId + "-dlq",
      ProducerConfig.ACKS_CONFIG, "all",
      ProducerConfig.LINGER_MS_CONFIG, 20));
    // the same security settings as the consumers (kafka.properties.*), consumer-only ones left out
    clientProperties.forEach((k, v) -> {
      if (ProducerConfig.configNames().contains(k)) {
        config.put(k, v);
      }
    });
    this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
  }

  void send(ConsumerRecord<String, byte[]> bad, String reason, String message) {
    ProducerRecord<String, byte[]> copy = new ProducerRecord<>(topic, null, bad.key(), bad.value());
    for (Header h : bad.headers()) {
      copy.headers().add(h);
    }
    copy.headers().add("odin-error", reason.getBytes(StandardCharsets.UTF_8));
    copy.headers().add("odin-error-message", message.getBytes(StandardCharsets.UTF_8));
    copy.headers().add("odin-source", (bad.topic() + "-" + bad.partition() + "@" + bad.offset()).getBytes(StandardCharsets.UTF_8));
    producer.send(copy, (meta, error) -> {
      if (error != null) {
        log.warn("could not copy a bad record to {}: {}", topic, error.toString());
      }
    });
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
