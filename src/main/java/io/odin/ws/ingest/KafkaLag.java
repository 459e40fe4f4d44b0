package io.odin.ws.ingest;

import io.odin.ws.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.kafka.admin.KafkaAdminClient;
import io.vertx.kafka.admin.ListOffsetsResultInfo;
import io.vertx.kafka.admin.OffsetSpec;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The lag of one consumer's assigned partitions: for each, its end (latest offset) less the group's committed offset,
 * that is the records not yet handed to the shards, as {@code kafka-consumer-groups.sh --describe} shows them. Both are
 * asked of the broker with vertx-kafka-client's admin client at each {@link #refresh()}; the answers become
 * {@code odin_kafka_partition_lag{topic,partition}} (and their sum, {@code odin_kafka_lag}). A partition the group
 * has not committed yet counts 0 (a new group starts at the end). Used on the pool verticle's event loop.
 */
final class KafkaLag {

  private final KafkaAdminClient admin;
  private final String groupId;
  private final GatewayMetrics metrics;
  /** Read by the gauges at each scrape. */
  private final Map<TopicPartition, AtomicLong> lags = new ConcurrentHashMap<>();

  KafkaLag(KafkaAdminClient admin, String groupId, GatewayMetrics metrics) {
    this.admin = admin;
    this.groupId = groupId;
    this.metrics = metrics;
  }

  void assigned(Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      AtomicLong lag = new AtomicLong();
      if (lags.putIfAbsent(tp, lag) == null) {
        metrics.kafkaPartitionLag(tp.topic(), tp.partition(), lag::get);
      }
    }
  }

  void revoked(Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      if (lags.remove(tp) != null) {
        metrics.removeKafkaPartition(tp.topic(), tp.partition());
      }
    }
  }

  /** This consumer's partitions and their lag at the last refresh. */
  Map<TopicPartition, Long> lags() {
    Map<TopicPartition, Long> out = new HashMap<>();
    lags.forEach((tp, lag) -> out.put(tp, lag.get()));
    return out;
  }

  /** The lag of every assigned partition summed, as of the last refresh. */
  long total() {
    long sum = 0;
    for (AtomicLong lag : lags.values()) {
      sum += lag.get();
    }
    return sum;
  }

  /** Asks the broker for the committed offsets and the ends of the assigned partitions (two requests). */
  Future<Void> refresh() {
    if (lags.isEmpty()) {
      return Future.succeededFuture();
    }
    Map<io.vertx.kafka.client.common.TopicPartition, OffsetSpec> ends = new HashMap<>();
    for (TopicPartition tp : lags.keySet()) {
      ends.put(new io.vertx.kafka.client.common.TopicPartition(tp.topic(), tp.partition()), OffsetSpec.LATEST);
    }
    // the whole group's committed offsets: asking for some partitions only takes an option kafka-clients 4 no longer
    // has (vertx-kafka-client is built against 3.x)
    return admin.listConsumerGroupOffsets(groupId)
      .compose(committed -> admin.listOffsets(ends).map(latest -> {
        update(committed, latest);
        return null;
      }));
  }

  private void update(Map<io.vertx.kafka.client.common.TopicPartition, OffsetAndMetadata> committed,
                      Map<io.vertx.kafka.client.common.TopicPartition, ListOffsetsResultInfo> latest) {
    latest.forEach((p, end) -> {
      AtomicLong lag = lags.get(new TopicPartition(p.getTopic(), p.getPartition()));
      OffsetAndMetadata done = committed.get(p);
      if (lag != null) {
        lag.set(done == null ? 0 : Math.max(0, end.getOffset() - done.getOffset()));
      }
    });
  }
}
