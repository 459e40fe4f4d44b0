package io.odin.ws.ingest;

import io.vertx.core.Future;
import io.vertx.kafka.client.producer.KafkaWriteStream;
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
import java.util.HashMap;
import java.util.Map;

/**
 * Copies skipped records to {@code kafka.deadLetterTopic}: the original key, value and headers, plus
 * {@code odin-error} (the reason label), {@code odin-error-message} and {@code odin-source} (topic-partition@offset).
 * Sent with vertx-kafka-client's producer, which runs the Kafka producer's {@code send} (it may block for metadata
 * while Kafka is out of reach) on a worker, never on the event loop; a failed copy is logged, never retried in the
 * consumer path.
 */
final class DeadLetters {

  private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

  private final KafkaWriteStream<String, byte[]> producer;
  private final String topic;

  DeadLetters(KafkaWriteStream<String, byte[]> producer, String topic) {
    this.producer = producer;
    this.topic = topic;
  }

  /** The Kafka producer of the copies (blocking to build: not on an event loop). */
  static KafkaProducer<String, byte[]> producer(String bootstrapServers, String clientId, Map<String, String> clientProperties) {
    Map<String, Object> config = new HashMap<>(Map.of(
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
    return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
  }

  void send(ConsumerRecord<String, byte[]> bad, String reason, String message) {
    ProducerRecord<String, byte[]> copy = new ProducerRecord<>(topic, null, bad.key(), bad.value());
    for (Header h : bad.headers()) {
      copy.headers().add(h);
    }
    copy.headers().add("odin-error", reason.getBytes(StandardCharsets.UTF_8));
    copy.headers().add("odin-error-message", message.getBytes(StandardCharsets.UTF_8));
    copy.headers().add("odin-source", (bad.topic() + "-" + bad.partition() + "@" + bad.offset()).getBytes(StandardCharsets.UTF_8));
    producer.send(copy).onFailure(error -> log.warn("could not copy a bad record to {}: {}", topic, error.toString()));
  }

  /** Sends what is buffered (for at most 5 s) and closes the producer. */
  Future<Void> close() {
    return producer.close(5_000);
  }
}
