package io.odin.ws.ingest;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * The poll loop of one pool member, on a thread of its own that alone touches the {@link Consumer}.
 *
 * <p>It polls again as soon as a poll has been handed to the verticle's context, so fetching the next records
 * overlaps dispatching the last ones; what bounds it is the work in flight (records and batches polled and not yet
 * handed to the shards, counted by the verticle with {@link #handedOver}): at {@code maxInFlightRecords} or
 * {@code maxInFlightBatches} it pauses every assigned partition, from this thread and before its next poll, and
 * resumes them once both are back under half. A resume wakes a poll that is waiting, so a pause costs no poll
 * timeout. (vertx-kafka-client's read stream, used before, polled again only after walking each poll's records
 * through the event loop ten at a time, and ran pause, resume and commits behind a blocking poll.)
 *
 * <p>Commits and the final close are queued to this thread and run between polls; the verticle learns of
 * records, assignments and revocations on its own context.
 */
final class KafkaPoller {

  private static final Logger log = LoggerFactory.getLogger(KafkaPoller.class);

  /** What the poll loop tells the verticle, always on the verticle's context. */
  interface Listener {
    /** One non-empty poll; {@code polledAtNanos} is when {@code poll} returned (System.nanoTime). */
    void onRecords(ConsumerRecords<String, byte[]> records, long polledAtNanos);

    void onAssigned(Set<TopicPartition> partitions);

    void onRevoked(Set<TopicPartition> partitions);
  }

  private final Consumer<String, byte[]> consumer;
  private final Context context;
  private final Listener listener;
  private final Duration pollTimeout;
  private final long maxInFlightRecords;
  private final int maxInFlightBatches;
  private final LongConsumer onPause;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicLong inFlightRecords = new AtomicLong();
  private final AtomicInteger inFlightBatches = new AtomicInteger();
  private final Promise<Void> closed;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean paused;
  private volatile long lastPollMillis;

  /**
   * @param onPause called on the poll thread each time the partitions are paused, with the records in flight then
   */
  KafkaPoller(Consumer<String, byte[]> consumer, Context context, Listener listener, String name, Duration pollTimeout,
              long maxInFlightRecords, int maxInFlightBatches, LongConsumer onPause) {
    this.consumer = consumer;
    this.context = context;
    this.listener = listener;
    this.pollTimeout = pollTimeout;
    this.maxInFlightRecords = maxInFlightRecords;
    this.maxInFlightBatches = maxInFlightBatches;
    this.onPause = onPause;
    this.closed = Promise.promise();
    this.thread = new Thread(this::loop, name);
    this.thread.setDaemon(true);
  }

  /** Subscribes (on the poll thread, which needs no broker) and starts polling; done once subscribed. */
  Future<Void> start(Collection<String> topics) {
    Promise<Void> subscribed = Promise.promise();
    tasks.add(() -> {
      consumer.subscribe(topics, new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          Set<TopicPartition> set = Set.copyOf(partitions);
          context.runOnContext(v -> listener.onRevoked(set));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          if (paused && !partitions.isEmpty()) {
            // partitions assigned while dispatch lags start paused too
            consumer.pause(partitions);
          }
          Set<TopicPartition> set = Set.copyOf(partitions);
          context.runOnContext(v -> listener.onAssigned(set));
        }
      });
      context.runOnContext(v -> subscribed.complete());
    });
    thread.start();
    return subscribed.future();
  }

  /**
   * Counts {@code records} records in {@code batches} batches as no longer in flight (handed to the shards, given
   * up, or skipped). Any thread.
   */
  void handedOver(long records, int batches) {
    long r = inFlightRecords.addAndGet(-records);
    int b = inFlightBatches.addAndGet(-batches);
    if (paused && underResumeMark(r, b)) {
      // the poll thread may be waiting out its timeout on paused partitions: let it resume now
      consumer.wakeup();
    }
  }

  /** Adds batches for one poll's records, which {@link #handedOver} later takes back. Any thread. */
  void batches(int batches) {
    inFlightBatches.addAndGet(batches);
  }

  private boolean underResumeMark(long records, int batches) {
    return records <= maxInFlightRecords / 2 && batches <= maxInFlightBatches / 2;
  }

  /** Commits on the poll thread (between polls); completes on the verticle's context. */
  Future<Void> commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Promise<Void> done = Promise.promise();
    tasks.add(() -> consumer.commitAsync(offsets, (result, error) -> context.runOnContext(v -> {
      if (error == null) {
        done.complete();
      } else {
        done.fail(error);
      }
    })));
    return done.future();
  }

  /** Commits {@code finalOffsets} synchronously, leaves the group and ends the thread. */
  Future<Void> close(Map<TopicPartition, OffsetAndMetadata> finalOffsets) {
    tasks.add(() -> {
      running = false;
      for (int attempt = 0; attempt < 2 && !finalOffsets.isEmpty(); attempt++) {
        try {
          consumer.commitSync(finalOffsets, Duration.ofSeconds(5));
          break;
        } catch (WakeupException e) {
          // the wakeup that ended the last poll: once more
        } catch (RuntimeException e) {
          log.debug("final commit failed: {}", e.toString());
          break;
        }
      }
    });
    consumer.wakeup();
    return closed.future();
  }

  boolean paused() {
    return paused;
  }

  long inFlightRecords() {
    return inFlightRecords.get();
  }

  int inFlightBatches() {
    return inFlightBatches.get();
  }

  long lastPollMillis() {
    return lastPollMillis;
  }

  private void loop() {
    try {
      while (running) {
        runTasks();
        if (!running) {
          break;
        }
        adjustPause();
        ConsumerRecords<String, byte[]> records;
        try {
          records = consumer.poll(pollTimeout);
        } catch (WakeupException e) {
          continue;
        } catch (RuntimeException e) {
          log.warn("kafka poll failed: {}", e.toString());
          pauseAfterFailure();
          continue;
        }
        lastPollMillis = System.currentTimeMillis();
        if (!records.isEmpty()) {
          long polledAt = System.nanoTime();
          inFlightRecords.addAndGet(records.count());
          context.runOnContext(v -> listener.onRecords(records, polledAt));
        }
      }
    } catch (Throwable t) {
      log.error("kafka poll loop ended", t);
    } finally {
      try {
        consumer.close(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        log.debug("closing the consumer: {}", e.toString());
      }
      closed.tryComplete();
    }
  }

  private void runTasks() {
    Runnable task;
    while ((task = tasks.poll()) != null) {
      try {
        task.run();
      } catch (WakeupException e) {
        // a wakeup meant for the poll: the task is retried with the next round
        tasks.add(task);
        return;
      } catch (RuntimeException e) {
        log.warn("kafka consumer task failed: {}", e.toString());
      }
    }
  }

  /** Pauses every assigned partition at the in-flight limits, resumes them all under half of both. */
  private void adjustPause() {
    long records = inFlightRecords.get();
    int batches = inFlightBatches.get();
    if (!paused && (records >= maxInFlightRecords || batches >= maxInFlightBatches)) {
      paused = true;
      consumer.pause(consumer.assignment());
      onPause.accept(records);
      log.debug("dispatch lags ({} records, {} batches in flight): partitions paused", records, batches);
    } else if (paused && underResumeMark(records, batches)) {
      paused = false;
      consumer.resume(consumer.paused());
    }
  }

  /** After an unexpected poll failure: a short wait, so a persistent one does not spin the thread. */
  private static void pauseAfterFailure() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
