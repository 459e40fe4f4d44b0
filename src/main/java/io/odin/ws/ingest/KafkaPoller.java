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
 * <p>Two polls are kept queued on the consumer thread, so that it polls again as soon as one returns (not once this
 * event loop has taken the records and asked), and fetching overlaps dispatching. What bounds it is the work in
 * flight (records and batches polled and not yet handed to the shards, counted down with {@link #handedOver}): at
 * {@code maxInFlightRecords} or {@code maxInFlightBatches} the assigned partitions are paused, so no more records
 * come (the polls queued before are taken in: two polls over the bound at most), and the consumer keeps polling
 * without waiting (every poll timeout) so that it stays in its group and takes part in rebalances; once both are
 * back under half, the partitions resume and polling follows at once. Commits go to the same consumer thread,
 * between polls.
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
  /**
   * Polls queued on the consumer thread. Two: when one completes the next is already running there, so the consumer
   * never waits for this event loop to ask for it (the loop may be busy with a shard's writes).
   */
  private static final int POLLS_AHEAD = 2;
  private int polls;
  /** The pause or resume of the partitions is under way. */
  private boolean changing;
  /** A poll failed: the next waits a little. */
  private boolean failed;
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

  /** The loop's one step: pause at the limits, resume under half of both, otherwise keep polls queued. */
  private void next() {
    if (!running || changing || failed) {
      // what is under way calls this again when it is done
      return;
    }
    if (!paused && (inFlightRecords >= maxInFlightRecords || inFlightBatches >= maxInFlightBatches)) {
      paused = true;
      onPause.run();
      log.debug("dispatch lags ({} records, {} batches in flight): partitions paused", inFlightRecords, inFlightBatches);
      // after the polls already queued, whose records are taken in: the bound is exceeded by two polls at most
      change(consumer.assignment().compose(consumer::pause), "pausing the partitions");
    } else if (paused && inFlightRecords <= maxInFlightRecords / 2 && inFlightBatches <= maxInFlightBatches / 2) {
      if (polls > 0) {
        // the poll that keeps the consumer in its group comes back without waiting
        return;
      }
      paused = false;
      vertx.cancelTimer(timer);
      timer = -1;
      change(consumer.paused().compose(consumer::resume), "resuming the partitions");
    } else if (paused) {
      if (polls == 0 && timer == -1) {
        // paused partitions return nothing: a poll without waiting keeps the consumer in its group
        timer = vertx.setTimer(pollTimeout.toMillis(), id -> {
          timer = -1;
          if (paused && polls == 0 && !changing && !failed && running) {
            poll(Duration.ZERO);
          }
        });
      }
    } else {
      while (polls < POLLS_AHEAD) {
        poll(pollTimeout);
      }
    }
  }

  private void change(Future<Void> change, String what) {
    changing = true;
    change.onComplete(ar -> {
      changing = false;
      if (ar.failed()) {
        log.warn("kafka consumer: {} failed: {}", what, ar.cause().toString());
      }
      next();
    });
  }

  private void poll(Duration timeout) {
    polls++;
    consumer.poll(timeout).onComplete(ar -> {
      polls--;
      if (ar.failed()) {
        if (!failed) {
          log.warn("kafka poll failed: {}", ar.cause().toString());
          // a short wait, so that a persistent failure does not spin
          failed = true;
          timer = vertx.setTimer(100, id -> {
            timer = -1;
            failed = false;
            next();
          });
        }
        return;
      }
      lastPollMillis = System.currentTimeMillis();
      ConsumerRecords<String, byte[]> records = ar.result();
      if (!records.isEmpty()) {
        inFlightRecords += records.count();
      }
      // the next poll is queued before these records are dispatched
      next();
      if (!records.isEmpty()) {
        listener.onRecords(records);
      }
    });
  }
}
