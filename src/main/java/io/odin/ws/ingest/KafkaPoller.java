package io.odin.ws.ingest;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.consumer.KafkaReadStream;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;

/**
 * The poll loop of one pool member, over vertx-kafka-client's consumer in its pull mode: each
 * {@link KafkaReadStream#poll(Duration)} runs on the client's consumer thread (which alone touches the Kafka consumer)
 * and completes on the verticle's event loop with the poll's records as one batch, no handler per record. Everything
 * here runs on that event loop.
 *
 * <p>The next poll is asked for as soon as one completes, before its records go to dispatch, so fetching overlaps
 * dispatching. What bounds it is the work in flight (records and batches polled and not yet handed to the shards,
 * counted down with {@link #handedOver}): at {@code maxInFlightRecords} or {@code maxInFlightBatches} the assigned
 * partitions are paused, so no more records come, and the consumer keeps polling without waiting (every poll timeout)
 * so that it stays in its group and takes part in rebalances; once both are back under half, the partitions resume and
 * the next poll follows at once. Commits go to the same consumer thread, between polls.
 */
final class KafkaPoller {

  private static final Logger log = LoggerFactory.getLogger(KafkaPoller.class);

  /** What the poll loop tells the verticle, on its event loop. */
  interface Listener {
    /** One non-empty poll. */
    void onRecords(ConsumerRecords<String, byte[]> records);

    void onAssigned(Set<TopicPartition> partitions);

    void onRevoked(Set<TopicPartition> partitions);
  }

  private final KafkaReadStream<String, byte[]> consumer;
  private final Vertx vertx;
  private final Listener listener;
  private final Duration pollTimeout;
  private final long maxInFlightRecords;
  private final int maxInFlightBatches;
  private final Runnable onPause;
  /** Written on the event loop only; volatile because /health reads them from other threads. */
  private volatile long inFlightRecords;
  private volatile int inFlightBatches;
  private volatile boolean paused;
  private volatile long lastPollMillis;
  /** A poll, or the pause or resume of the partitions, is under way on the consumer thread. */
  private boolean busy;
  private boolean running = true;
  private long timer = -1;

  /**
   * @param consumer a consumer created on the verticle's context (its answers come back there)
   * @param onPause  called each time the partitions are paused at the in-flight limits
   */
  KafkaPoller(KafkaReadStream<String, byte[]> consumer, Vertx vertx, Listener listener, Duration pollTimeout,
              long maxInFlightRecords, int maxInFlightBatches, Runnable onPause) {
    this.consumer = consumer;
    this.vertx = vertx;
    this.listener = listener;
    this.pollTimeout = pollTimeout;
    this.maxInFlightRecords = maxInFlightRecords;
    this.maxInFlightBatches = maxInFlightBatches;
    this.onPause = onPause;
  }

  /** Subscribes (which needs no broker) and starts polling; done once subscribed. */
  Future<Void> start(Collection<String> topics) {
    consumer.partitionsAssignedHandler(partitions -> {
      if (paused && !partitions.isEmpty()) {
        // partitions assigned while dispatch lags start paused too
        consumer.pause(partitions);
      }
      listener.onAssigned(partitions);
    });
    consumer.partitionsRevokedHandler(listener::onRevoked);
    consumer.exceptionHandler(t -> log.debug("kafka consumer task failed: {}", t.toString()));
    return consumer.subscribe(Set.copyOf(topics)).onSuccess(v -> next());
  }

  /**
   * Counts {@code records} records in {@code batches} batches as no longer in flight (handed to the shards, given
   * up, or skipped).
   */
  void handedOver(long records, int batches) {
    inFlightRecords -= records;
    inFlightBatches -= batches;
    if (paused) {
      next();
    }
  }

  /** Adds batches for one poll's records, which {@link #handedOver} later takes back. */
  void batches(int batches) {
    inFlightBatches += batches;
  }

  /** Commits on the consumer thread, between polls. */
  Future<Void> commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    return consumer.commit(offsets).mapEmpty();
  }

  /** Commits {@code finalOffsets}, leaves the group and closes the consumer. */
  Future<Void> close(Map<TopicPartition, OffsetAndMetadata> finalOffsets) {
    running = false;
    vertx.cancelTimer(timer);
    Future<Void> committed = finalOffsets.isEmpty() ? Future.succeededFuture()
      : commit(finalOffsets).recover(t -> {
        log.debug("final commit failed: {}", t.toString());
        return Future.succeededFuture();
      });
    return committed.compose(v -> consumer.close());
  }

  boolean paused() {
    return paused;
  }

  long inFlightRecords() {
    return inFlightRecords;
  }

  int inFlightBatches() {
    return inFlightBatches;
  }

  long lastPollMillis() {
    return lastPollMillis;
  }

  /** The loop's one step: pause at the limits, resume under half of both, otherwise poll. */
  private void next() {
    if (!running || busy) {
      // what is under way calls this again when it is done
      return;
    }
    if (!paused && (inFlightRecords >= maxInFlightRecords || inFlightBatches >= maxInFlightBatches)) {
      paused = true;
      onPause.run();
      log.debug("dispatch lags ({} records, {} batches in flight): partitions paused", inFlightRecords, inFlightBatches);
      busy = true;
      consumer.assignment().compose(consumer::pause).onComplete(ar -> done(ar, "pausing the partitions"));
    } else if (paused && inFlightRecords <= maxInFlightRecords / 2 && inFlightBatches <= maxInFlightBatches / 2) {
      paused = false;
      vertx.cancelTimer(timer);
      timer = -1;
      busy = true;
      consumer.paused().compose(consumer::resume).onComplete(ar -> done(ar, "resuming the partitions"));
    } else if (paused) {
      if (timer == -1) {
        // paused partitions return nothing: a poll without waiting keeps the consumer in its group
        timer = vertx.setTimer(pollTimeout.toMillis(), id -> {
          timer = -1;
          poll(Duration.ZERO);
        });
      }
    } else {
      poll(pollTimeout);
    }
  }

  private void done(io.vertx.core.AsyncResult<Void> ar, String what) {
    busy = false;
    if (ar.failed()) {
      log.warn("kafka consumer: {} failed: {}", what, ar.cause().toString());
    }
    next();
  }

  private void poll(Duration timeout) {
    if (!running || busy) {
      return;
    }
    busy = true;
    consumer.poll(timeout).onComplete(ar -> {
      busy = false;
      if (ar.failed()) {
        log.warn("kafka poll failed: {}", ar.cause().toString());
        // a short wait, so that a persistent failure does not spin
        busy = true;
        timer = vertx.setTimer(100, id -> {
          timer = -1;
          busy = false;
          next();
        });
        return;
      }
      lastPollMillis = System.currentTimeMillis();
      ConsumerRecords<String, byte[]> records = ar.result();
      if (!records.isEmpty()) {
        inFlightRecords += records.count();
      }
      // the next poll is on its way before these records are dispatched
      next();
      if (!records.isEmpty()) {
        listener.onRecords(records);
      }
    });
  }
}
