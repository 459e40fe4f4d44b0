package io.odin.ws.loadtest;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Publishes by producing to Kafka with the plain kafka-clients producer: one record per envelope, keyed by its
 * (first) token so a token's messages stay in one partition, unkeyed for broadcasts. A batch is answered when
 * Kafka acknowledged (or refused) each of its records.
 */
final class KafkaSink implements Publisher.Sink {

  private final Producer<String, byte[]> producer;
  private final String topic;

  KafkaSink(Producer<String, byte[]> producer, String topic) {
    this.producer = producer;
    this.topic = topic;
  }

  static KafkaSink create(String bootstrap, String topic, String acks) {
    KafkaProducer<String, byte[]> producer = new KafkaProducer<>(properties(bootstrap, acks));
    try {
      // the topic's metadata now, while connections ramp up: otherwise the first sends wait for it and the first
      // messages' latency counts the producer's start-up (a real producer is long running), not the gateway's
      producer.partitionsFor(topic);
    } catch (RuntimeException e) {
      // the first send says what is wrong
    }
    return new KafkaSink(producer, topic);
  }

  static Properties properties(String bootstrap, String acks) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "odin-ws-loadtest");
    p.put(ProducerConfig.ACKS_CONFIG, acks);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "all".equals(acks));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }

  @Override
  public void send(List<Publisher.Out> batch, Publisher publisher, Runnable done) {
    AtomicInteger remaining = new AtomicInteger(batch.size());
    MessageLog log = publisher.log();
    for (Publisher.Out m : batch) {
      try {
        producer.send(new ProducerRecord<>(topic, m.key(), m.envelope()), (metadata, error) -> {
          if (error == null) {
            log.accepted(m.seq(), 1, MicroClock.nowMicros());
          } else {
            log.status(m.seq(), MessageLog.Status.FAILED);
            publisher.error(error.getClass().getSimpleName() + ": " + error.getMessage());
          }
          if (remaining.decrementAndGet() == 0) {
            done.run();
          }
        });
      } catch (RuntimeException e) {
        log.status(m.seq(), MessageLog.Status.FAILED);
        publisher.error(e.getClass().getSimpleName() + ": " + e.getMessage());
        if (remaining.decrementAndGet() == 0) {
          done.run();
        }
      }
    }
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
  }
}
