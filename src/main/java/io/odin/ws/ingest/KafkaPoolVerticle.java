package io.odin.ws.ingest;

import io.odin.ws.config.ConfigException;
import io.odin.ws.node.NodeContext;
import io.odin.ws.dispatch.DispatchBatch;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.logging.RateLimitedLog;
import io.odin.ws.protocol.EnvelopeParser;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DropReason;
import io.odin.ws.metrics.GatewayMetrics.IngestStage;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.kafka.admin.KafkaAdminClient;
import io.vertx.kafka.client.consumer.KafkaReadStream;
import io.vertx.kafka.client.producer.KafkaWriteStream;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.Set;

/**
 * One consumer of the node's Kafka pool ({@code kafka.consumers} instances), in the consumer group every node
 * shares. Each poll becomes one {@link DispatchBatch} per dispatcher (all records of a partition go through
 * the same dispatcher, in order), sent over the event bus by reference. Offsets are committed once the
 * dispatcher answers that the batch reached the shards. The Kafka clients are vertx-kafka-client's: its consumer in
 * pull mode ({@link KafkaPoller}: one poll's records at a time on this verticle's event loop, the next poll
 * overlapping the dispatch of the last), its producer for dead letters ({@link DeadLetters}) and its admin client for
 * Kafka's reachability and the lag ({@link KafkaLag}). With {@code kafka.maxInFlightRecords} records (or
 * {@code kafka.maxInFlightBatches} batches) not yet handed over, the assigned partitions are paused (the consumer
 * keeps polling, so it stays in the group) and resumed when dispatch catches up: memory stays bounded at any
 * producer rate.
 */
public final class KafkaPoolVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(KafkaPoolVerticle.class);
  /** How often Kafka's reachability (for /health) and the consumer lag (for metrics) are refreshed. */
  static final long HEALTH_INTERVAL_MS = 2_000;

  private final NodeContext node;
  private final int index;
  private final KafkaSettings settings;
  private final EnvelopeParser parser;
  private final OffsetTracker offsets = new OffsetTracker();
  private final RateLimitedLog badRecordLog = new RateLimitedLog(log, 10_000);
  private final RateLimitedLog dispatchLog = new RateLimitedLog(log, 10_000);
  /** Kafka out of reach: said at once, then at most once a minute while it lasts (with how often it was seen). */
  private final RateLimitedLog reachabilityLog = new RateLimitedLog(log, 60_000);
  /** Null until the clients exist (a broker name may not resolve yet); read by /health from other threads. */
  private volatile KafkaPoller poller;
  private volatile KafkaLag lag;
  private DeadLetters deadLetters;
  private KafkaAdminClient admin;
  private Set<String> missingTopics = Set.of();
  private DeliveryOptions handoff;
  private boolean commitRunning;
  /** Completed once this consumer has stopped: the node's dispatchers wait for it ({@link NodeContext#feedersStopped}). */
  private final Promise<Void> stopped = Promise.promise();
  /** When the last commit was sent (System.nanoTime), and the timer of the next one, for kafka.commitIntervalMs. */
  private long lastCommitNanos;
  private long commitTimer = -1;
  /** This consumer's share of odin_kafka_inflight_records. */
  private long inFlightRecords;
  private volatile boolean reachable;
  /** Whether the operator was told Kafka is out of reach, so its return is said too. */
  private boolean saidUnreachable;
  private long unreachableSinceMillis;
  /** Why the Kafka clients do not exist yet (/health's "error"); empty once they do. */
  private volatile String notStarted = "";
  private long createRetryMillis;
  private long createTimer = -1;
  private boolean stopping;
  private long healthTimer = -1;

  public KafkaPoolVerticle(NodeContext node, int index) {
    this.node = node;
    this.index = index;
    this.settings = new KafkaSettings(node.config());
    this.parser = DispatchSettings.parser(node.config());
    // the first commit goes at once
    this.lastCommitNanos = System.nanoTime() - java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(settings.commitIntervalMs);
  }

  private String clientId() {
    return "odin-ws-" + node.nodeId() + "-" + index;
  }

  @Override
  public Future<?> start() {
    node.feeder(stopped.future());
    handoff = new DeliveryOptions().setSendTimeout(node.config().getInt(DispatchSettings.HANDOFF_TIMEOUT_MS));
    node.dependency("kafka-" + index, this::health);
    createRetryMillis = Math.min(1_000, settings.reconnectBackoffMaxMs);
    return createClients();
  }

  /**
   * Builds the Kafka clients, on a worker, and starts the poll loop. A bootstrap list none of whose names resolves
   * (a broker's DNS name not published yet, a typo) is Kafka down, not a failed start: the node runs without the
   * clients, /health says why, and they are built as soon as a name resolves. What else the Kafka client refuses is
   * a configuration error, said in one line with the keys that hold it.
   */
  private Future<Void> createClients() {
    // Building Kafka clients loads and initialises hundreds of classes (seconds on a loaded machine at start-up):
    // on the event loop this stalled the shard sharing it and timed out its Redis writes. Built on a worker.
    return vertx.executeBlocking(this::buildClients)
      .compose(clients -> {
        if (stopping) {
          // stopped while they were being built
          return clients == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
            clients.close();
            return null;
          });
        }
        if (clients == null) {
          reachabilityLog.warn("unresolved", "kafka unreachable: {}; the node serves WebSockets and the publish API"
            + " without Kafka, /health shows kafka-{} down, and the consumer starts once a name resolves", notStarted, index);
          saidUnreachable = true;
          if (unreachableSinceMillis == 0) {
            unreachableSinceMillis = System.currentTimeMillis();
          }
          createTimer = vertx.setTimer(createRetryMillis, id -> createClients().onFailure(t -> {
            // at start this fails the node; later it can only be said, and shown in /health
            notStarted = t.getMessage();
            log.error("kafka consumer {} cannot start: {}", clientId(), t.getMessage());
          }));
          createRetryMillis = Math.min(createRetryMillis * 2, settings.reconnectBackoffMaxMs);
          return Future.succeededFuture();
        }
        if (!notStarted.isEmpty()) {
          log.info("kafka broker names of {} resolve now: starting the consumer", settings.bootstrapServers);
          notStarted = "";
        }
        return subscribe(clients);
      });
  }

  /** The clients, or null while no bootstrap name resolves ({@link #notStarted} says so). */
  private Clients buildClients() {
    String unresolved = KafkaSettings.unresolvedBootstrap(settings.bootstrapServers);
    if (unresolved != null) {
      notStarted = unresolved;
      return null;
    }
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId);
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId());
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, settings.autoOffsetReset);
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords);
    config.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, settings.reconnectBackoffMaxMs);
    config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, settings.sessionTimeoutMs);
    config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Math.max(1_000, settings.sessionTimeoutMs / 3));
    // topics are the operators' to create, with the partitions they choose; subscribing must not create them
    config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    // kafka.properties.*: security (SASL_SSL, SCRAM, mTLS) and anything else the operator's Kafka needs
    config.putAll(settings.properties);
    Map<String, Object> adminConfig = new HashMap<>(Map.of(
      AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers,
      AdminClientConfig.CLIENT_ID_CONFIG, clientId() + "-health",
      AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000,
      AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000,
      AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, settings.reconnectBackoffMaxMs));
    adminConfig.putAll(settings.adminProperties());
    KafkaConsumer<String, byte[]> consumer = null;
    AdminClient admin = null;
    try {
      consumer = new KafkaConsumer<>(config);
      admin = AdminClient.create(adminConfig);
      return new Clients(consumer, admin, settings.deadLetterTopic.isEmpty() ? null
        : DeadLetters.producer(settings.bootstrapServers, clientId(), settings.properties));
    } catch (KafkaException e) {
      new Clients(consumer, admin, null).close();
      unresolved = KafkaSettings.unresolvedBootstrap(settings.bootstrapServers);
      if (unresolved != null) {
        // resolved a moment ago, not any more: still waiting
        notStarted = unresolved;
        return null;
      }
      Throwable cause = e;
      while (cause.getCause() != null) {
        cause = cause.getCause();
      }
      throw new ConfigException(KafkaSettings.BOOTSTRAP_SERVERS.name() + " / " + KafkaSettings.PROPERTIES
        + ": the Kafka client refuses this configuration: " + RateLimitedLog.describe(cause));
    }
  }

  /**
   * The blocking-to-build Kafka clients of one pool member (building one loads and initialises hundreds of classes),
   * wrapped in vertx-kafka-client's once back on the event loop.
   */
  private record Clients(KafkaConsumer<String, byte[]> consumer, AdminClient admin, KafkaProducer<String, byte[]> deadLetters) {
    /** Closes what was built (blocking). */
    void close() {
      if (deadLetters != null) {
        deadLetters.close(Duration.ofSeconds(2));
      }
      if (admin != null) {
        admin.close(Duration.ofSeconds(2));
      }
      if (consumer != null) {
        consumer.close(Duration.ofSeconds(2));
      }
    }
  }

  /**
   * Back on the verticle's event loop: wraps the clients in vertx-kafka-client's (whose answers come back to this
   * context) and starts the poll loop, which subscribes (that needs no broker).
   */
  private Future<Void> subscribe(Clients clients) {
    admin = KafkaAdminClient.create(vertx, clients.admin());
    lag = new KafkaLag(admin, settings.groupId, node.metrics());
    deadLetters = clients.deadLetters() == null ? null
      : new DeadLetters(KafkaWriteStream.create(vertx, clients.deadLetters()), settings.deadLetterTopic);
    KafkaReadStream<String, byte[]> consumer = KafkaReadStream.create(vertx, clients.consumer());
    poller = new KafkaPoller(consumer, vertx, new KafkaPoller.Listener() {
      @Override
      public void onRecords(ConsumerRecords<String, byte[]> records) {
        onPoll(records);
      }

      @Override
      public void onAssigned(Set<TopicPartition> partitions) {
        KafkaPoolVerticle.this.onAssigned(partitions);
      }

      @Override
      public void onRevoked(Set<TopicPartition> partitions) {
        KafkaPoolVerticle.this.onRevoked(partitions);
      }
      // a short poll timeout: commits and the close wait for the poll on the consumer's thread
    }, Duration.ofMillis(100), settings.maxInFlightRecords, settings.maxInFlight, node.metrics()::kafkaPaused);
    healthTimer = vertx.setPeriodic(0, HEALTH_INTERVAL_MS, id -> refreshHealth());
    // the consumer connects, and reconnects, by itself
    return poller.start(settings.topics)
      .onSuccess(v -> log.info("kafka consumer {} subscribed to {} in group {}", clientId(), settings.topics, settings.groupId));
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(healthTimer);
    vertx.cancelTimer(commitTimer);
    vertx.cancelTimer(createTimer);
    if (poller == null) {
      stopped.tryComplete();
      return Future.succeededFuture();
    }
    // commit what was handed over, then leave the group
    Map<TopicPartition, Long> due = offsets.takeCommittable();
    node.metrics().kafkaInFlightRecords(-inFlightRecords);
    inFlightRecords = 0;
    return poller.close(toCommit(due))
      .eventually(() -> deadLetters == null ? Future.succeededFuture() : deadLetters.close())
      .eventually(() -> admin.close(2_000))
      .andThen(ar -> log.info("kafka consumer {} closed", clientId()))
      .andThen(ar -> stopped.tryComplete());
  }

  private void onAssigned(Set<TopicPartition> partitions) {
    offsets.assigned(partitions);
    lag.assigned(partitions);
    log.info("kafka consumer {} assigned {}", clientId(), partitions);
  }

  private void onRevoked(Set<TopicPartition> partitions) {
    Map<TopicPartition, Long> last = offsets.revoked(partitions);
    lag.revoked(partitions);
    log.info("kafka consumer {} revoked {}", clientId(), partitions);
    if (!last.isEmpty()) {
      // what was handed over is committed; in-flight work of these partitions will commit nothing
      poller.commit(toCommit(last)).onFailure(t -> log.debug("commit on revoke failed: {}", t.toString()));
    }
  }

  private void onPoll(ConsumerRecords<String, byte[]> records) {
    GatewayMetrics metrics = node.metrics();
    long polledAtMillis = System.currentTimeMillis();
    for (ConsumerRecord<String, byte[]> r : records) {
      metrics.ingestStage(IngestStage.FETCH, (polledAtMillis - r.timestamp()) * 1_000_000);
    }
    int count = records.count();
    metrics.kafkaInFlightRecords(count);
    inFlightRecords += count;
    PolledBatch batch = PolledBatch.of(records, parser, settings.typeHeader, settings.channelTopics, node.dispatcherCount());
    metrics.kafkaRecords(batch.records());
    for (PolledBatch.BadRecord bad : batch.bad()) {
      skip(bad);
    }
    // records that go to no dispatcher (bad ones) are out of flight at once
    long dispatched = 0;
    List<PolledBatch.Part> parts = batch.parts();
    int sending = 0;
    for (PolledBatch.Part part : parts) {
      if (!part.envelopes.isEmpty()) {
        sending++;
        dispatched += part.envelopes.size();
      }
    }
    poller.batches(sending);
    handedOver(count - dispatched, 0);
    for (PolledBatch.Part part : parts) {
      if (part.envelopes.isEmpty()) {
        // only bad records for this dispatcher: nothing to wait for
        offsets.handedOver(part.commitOffsets);
        continue;
      }
      long sentAt = System.nanoTime();
      vertx.eventBus().request(NodeContext.dispatcherAddress(part.dispatcher), new DispatchBatch(part.envelopes, sentAt), handoff)
        .onComplete(ar -> {
          metrics.ingestStage(IngestStage.ROUNDTRIP, System.nanoTime() - sentAt);
          handedOver(part.envelopes.size(), 1);
          if (ar.succeeded()) {
            offsets.handedOver(part.commitOffsets);
          } else {
            // not retried: later batches of these partitions are already at the dispatcher, and re-sending this one
            // would break partition order. Never past silently: counted (a timeout may still be delivered late,
            // a failure is not), and what follows on these partitions commits past it.
            boolean timeout = ar.cause() instanceof ReplyException
              && ((ReplyException) ar.cause()).failureType() == ReplyFailure.TIMEOUT;
            metrics.dropped(timeout ? DropReason.OVERLOAD : DropReason.DISPATCH_FAILED, part.envelopes.size());
            dispatchLog.warn(timeout ? "timeout" : "failed", "kafka batch of {} records {} by dispatch, counted in"
                + " odin_messages_dropped_total{reason=\"{}\"}: {}", part.envelopes.size(),
              timeout ? "not confirmed in time" : "refused", timeout ? "overload" : "dispatch_failed", ar.cause().toString());
          }
          commitSoon();
        });
    }
    commitSoon();
  }

  private void handedOver(long records, int batches) {
    if (records > 0 || batches > 0) {
      poller.handedOver(records, batches);
      // after stop() took this consumer's share off the gauge, late confirmations take nothing more
      long share = Math.min(records, inFlightRecords);
      node.metrics().kafkaInFlightRecords(-share);
      inFlightRecords -= share;
    }
  }

  private void skip(PolledBatch.BadRecord bad) {
    String reason = bad.problem.reason().label();
    node.metrics().kafkaBadRecord(reason);
    badRecordLog.warn(reason, "skipped bad record {}-{}@{} ({}): {}", bad.record.topic(), bad.record.partition(),
      bad.record.offset(), reason, bad.problem.getMessage());
    if (deadLetters != null) {
      deadLetters.send(bad.record, reason, bad.problem.getMessage());
    }
  }

  /**
   * Commits what is committable, one commit at a time and at most once per {@code kafka.commitIntervalMs}: a commit
   * runs on the consumer's thread between polls and holds the next poll for a broker round trip. Later hand-overs join
   * the next commit.
   */
  private void commitSoon() {
    if (commitRunning || commitTimer != -1 || stopping) {
      return;
    }
    long waitMillis = settings.commitIntervalMs - (System.nanoTime() - lastCommitNanos) / 1_000_000;
    if (waitMillis > 0) {
      commitTimer = vertx.setTimer(waitMillis, id -> {
        commitTimer = -1;
        commitSoon();
      });
      return;
    }
    commitNow();
  }

  private void commitNow() {
    Map<TopicPartition, Long> due = offsets.takeCommittable();
    if (due.isEmpty()) {
      return;
    }
    commitRunning = true;
    lastCommitNanos = System.nanoTime();
    poller.commit(toCommit(due))
      .onComplete(ar -> {
        commitRunning = false;
        if (ar.failed()) {
          log.debug("kafka commit failed, retried with the next: {}", ar.cause().toString());
          offsets.commitFailed(due);
        } else {
          commitSoon();
        }
      });
  }

  private static Map<TopicPartition, OffsetAndMetadata> toCommit(Map<TopicPartition, Long> offsets) {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    offsets.forEach((tp, o) -> out.put(tp, new OffsetAndMetadata(o)));
    return out;
  }

  private void refreshHealth() {
    admin.describeCluster()
      .onComplete(ar -> {
        boolean up = ar.succeeded() && !ar.result().getNodes().isEmpty();
        if (up) {
          if (!reachable) {
            if (saidUnreachable) {
              log.info("kafka reachable again at {} after {} s", settings.bootstrapServers,
                (System.currentTimeMillis() - unreachableSinceMillis) / 1000);
            } else {
              log.info("kafka reachable at {}", settings.bootstrapServers);
            }
          }
          saidUnreachable = false;
          unreachableSinceMillis = 0;
        } else {
          // from the first check on (the consumer itself retries quietly), then once a minute while it lasts
          if (unreachableSinceMillis == 0) {
            unreachableSinceMillis = System.currentTimeMillis();
          }
          if (reachabilityLog.warn("unreachable", "kafka unreachable at {} for {} s: {}; the consumer reconnects by itself"
              + " (every {} ms at most), /health shows kafka-{} down", settings.bootstrapServers,
            (System.currentTimeMillis() - unreachableSinceMillis) / 1000,
            ar.failed() ? RateLimitedLog.describe(ar.cause()) : "no broker", settings.reconnectBackoffMaxMs, index)) {
            saidUnreachable = true;
          }
        }
        reachable = up;
        if (up) {
          checkTopics();
          lag.refresh().onFailure(t -> log.debug("kafka lag not read: {}", t.toString()));
        }
      });
  }

  /** A subscribed topic missing on the broker is said once (the client's own warning repeats every poll). */
  private void checkTopics() {
    admin.listTopics()
      .onSuccess(names -> {
        Set<String> missing = new TreeSet<>(settings.topics);
        missing.removeAll(names);
        if (!missing.equals(missingTopics)) {
          if (!missing.isEmpty()) {
            log.warn("kafka topics {} do not exist at {}: nothing is consumed from them until they are created"
              + " (odin-ws never creates topics)", missing, settings.bootstrapServers);
          } else if (!missingTopics.isEmpty()) {
            log.info("kafka topics {} exist now", missingTopics);
          }
          missingTopics = missing;
        }
      });
  }

  private JsonObject health() {
    JsonArray assigned = new JsonArray();
    offsets.assignedPartitions().stream().map(TopicPartition::toString).sorted().forEach(assigned::add);
    KafkaPoller poller = this.poller;
    JsonObject health = new JsonObject()
      .put("status", reachable ? "up" : "down")
      .put("bootstrapServers", settings.bootstrapServers)
      .put("topics", new JsonArray(List.copyOf(settings.topics)))
      .put("missingTopics", new JsonArray(List.copyOf(missingTopics)))
      .put("group", settings.groupId)
      .put("assigned", assigned)
      .put("paused", poller != null && poller.paused())
      .put("inFlightBatches", poller == null ? 0 : poller.inFlightBatches())
      .put("inFlightRecords", poller == null ? 0 : poller.inFlightRecords())
      .put("lag", lag == null ? 0 : lag.total())
      .put("lastPollAgoMs", poller == null || poller.lastPollMillis() == 0 ? -1 : System.currentTimeMillis() - poller.lastPollMillis());
    String problem = notStarted;
    if (!problem.isEmpty()) {
      health.put("error", problem);
    }
    return health;
  }
}
