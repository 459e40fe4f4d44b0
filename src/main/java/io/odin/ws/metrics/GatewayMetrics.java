package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.odin.ws.logging.AcceptErrorLog;
import io.odin.ws.logging.ClusterPortLog;
import io.odin.ws.protocol.DispatchPath;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.IntSupplier;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The gateway's own meters, created once per node so that the hot path only increments pre-built counters
 * (no lookup, no tag allocation per message). Prometheus names: dots become underscores, counters get
 * {@code _total}, timers get {@code _seconds}, e.g. {@code odin.dispatch} becomes {@code odin_dispatch_total} and
 * {@code odin.delivery.latency} becomes {@code odin_delivery_latency_seconds}. Every meter named in the
 * observability issue (and the Grafana dashboard) is registered here up front, Redis and Kafka ones included,
 * so that a scrape always shows them, at zero until their role runs. docs/observability.md lists them.
 */
public final class GatewayMetrics {

  /**
   * How a message was routed. {@code UNKNOWN_NODE}: the registry put a token only on shards of a node this
   * dispatcher has no shards for (it joined and has not announced them yet, or it left); the message went to
   * every known shard like a fallback, but most likely reached nobody.
   */
  public enum DispatchType { TARGETED, BROADCAST, FALLBACK, UNKNOWN_NODE, CHANNEL }

  /**
   * Why a message did not reach a connection: {@code SLOW_CLIENT} the socket's write queue was full or it was
   * closing; {@code NO_CONNECTION} its tokens have no connection; {@code OVERLOAD} dispatch did not take it in
   * time (HTTP 503); {@code DISPATCH_FAILED} dispatch refused or failed it (HTTP 503, or a Kafka batch that will be
   * read again); {@code NODE_UNREACHABLE} the node holding its shard could not be reached.
   */
  public enum DropReason { SLOW_CLIENT, NO_CONNECTION, OVERLOAD, DISPATCH_FAILED, NODE_UNREACHABLE }

  /**
   * The {@code reason} labels of {@code odin_http_rejected_total} registered up front: management requests
   * refused at the edge. Envelope problems use {@code EnvelopeException.Reason} labels (no_target, not_json, ...).
   */
  public static final java.util.List<String> HTTP_REJECT_REASONS = java.util.List.of(
    "malformed_http", "unsupported_media_type", "body_too_large", "in_flight_bytes", "request_timeout",
    "no_target", "conflicting_target", "too_many_tokens", "too_many_envelopes", "not_json");

  /**
   * The stages of a message's way through the node, for {@code odin_ingest_stage_seconds{stage}}: where the time
   * between the record's timestamp (or the publish request) and the socket write goes.
   * <ul>
   *   <li>{@code fetch}: the Kafka record's timestamp to the poll that returned it (producer linger, broker, fetch);
   *       per record, millisecond resolution, across machines' clocks</li>
   *   <li>{@code queue}: the poll's return to the pool verticle handling it (waiting for its event loop)</li>
   *   <li>{@code dispatch}: a batch sent to a dispatcher to the dispatcher handling it (event bus, its event loop)</li>
   *   <li>{@code lookup}: the batch's registry lookup (Redis round trip included)</li>
   *   <li>{@code handover}: the lookup's answer to the batch being sent to the shards (waiting for earlier batches)</li>
   *   <li>{@code shard}: the batch sent to a shard to the shard handling it (its event loop)</li>
   *   <li>{@code write}: the shard writing the batch to its sockets</li>
   *   <li>{@code roundtrip}: a Kafka batch sent to a dispatcher to its confirmation back at the pool; the pool's
   *       throughput is at most the records in flight over this</li>
   * </ul>
   * Each is recorded once per batch (per record for {@code fetch}).
   */
  public enum IngestStage { FETCH, DISPATCH, LOOKUP, HANDOVER, SHARD, WRITE, ROUNDTRIP }

  /** Why a connection closed. */
  public enum DisconnectReason { CLIENT, PING_TIMEOUT, SLOW_CLIENT, SHUTDOWN, ERROR, FLOOD, TOKEN_EXPIRED }

  private final MeterRegistry registry;
  private final Counter connects;
  private final Map<DisconnectReason, Counter> disconnects = new EnumMap<>(DisconnectReason.class);
  private final Map<DispatchType, Counter> dispatched = new EnumMap<>(DispatchType.class);
  private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
  private final DistributionSummary fanout;
  private final DistributionSummary batchSize;
  private final Counter deliveries;
  private final Timer deliveryLatency;
  private final Counter clientErrors;
  private final Counter publishRejected;
  private final ConcurrentMap<String, Counter> httpRejected = new ConcurrentHashMap<>();
  private final AtomicLong inFlightBodyBytes = new AtomicLong();
  private final Timer redisLookup;
  /** {@code odin_redis_errors_total{op}}, by the registry operation that failed. */
  private final Map<String, Counter> redisErrors = new ConcurrentHashMap<>();
  private final Counter kafkaRecords;
  private final ConcurrentMap<String, Counter> kafkaBadRecords = new ConcurrentHashMap<>();
  /** Each assigned partition's lag (odin_kafka_partition_lag), by "topic-partition"; odin_kafka_lag sums them. */
  private final ConcurrentMap<String, Supplier<Number>> kafkaPartitionLags = new ConcurrentHashMap<>();
  private final Timer[] ingestStages = new Timer[IngestStage.values().length];
  private final AtomicLong kafkaInFlightRecords = new AtomicLong();
  private final Counter kafkaPauses;
  private final Counter kafkaRedelivered;
  private final ConcurrentMap<String, Counter> handshakesRefused = new ConcurrentHashMap<>();
  private final Counter handshakeTimeouts;
  private final Counter closeTimeouts;

  /** The {@code reason} labels of {@code odin_ws_handshakes_refused_total} registered up front (shard.HandshakeGate). */
  public static final List<String> HANDSHAKE_REFUSALS =
    List.of("not_found", "bad_token", "unauthorized", "origin", "node_full", "address_full", "token_full", "shutting_down",
      "rate_limited", "starting", "bad_channels", "channel_refused");
  /** Per dispatch path (rollout: canary and control side by side), indexed by {@link DispatchPath#ordinal()}. */
  private final Counter[] pathMessages = new Counter[DispatchPath.values().length];
  private final Counter[] pathDeliveries = new Counter[DispatchPath.values().length];
  private final Counter[][] pathDropped = new Counter[DispatchPath.values().length][DropReason.values().length];
  private final Timer[] pathLatency = new Timer[DispatchPath.values().length];
  private final DistributionSummary[] pathFanout = new DistributionSummary[DispatchPath.values().length];
  /** Security (issue 12): JWT refreshes, management requests without a valid key, JWKS fetches. */
  private final Counter tokenRefreshes;
  private final Counter apiUnauthorized;
  private final Map<Boolean, Counter> jwksFetches = new ConcurrentHashMap<>();
  private final HistoryMetrics history;
  private final ChannelMetrics channels;
  private final ConcurrentMap<String, Counter> jwksFetchErrors = new ConcurrentHashMap<>();

  /** The {@code reason} labels of {@code odin_auth_jwks_fetch_errors_total} (auth.JwksRefresher). */
  public static final List<String> JWKS_FETCH_ERRORS = List.of("timeout", "too_large", "http_status", "invalid", "unreachable");

  /** The {@code reason} of {@code odin_kafka_bad_records_total} registered up front; others appear on first use. */
  public static final String KAFKA_BAD_RECORD_MALFORMED = "malformed";

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    connects = Counter.builder("odin.ws.connects").description("WebSocket connections accepted").register(registry);
    for (DisconnectReason r : DisconnectReason.values()) {
      disconnects.put(r, Counter.builder("odin.ws.disconnects").tag("reason", label(r))
        .description("WebSocket connections closed, by reason").register(registry));
    }
    for (DispatchType t : DispatchType.values()) {
      dispatched.put(t, Counter.builder("odin.dispatch").tag("type", label(t))
        .description("Messages routed, by routing type").register(registry));
    }
    for (DropReason r : DropReason.values()) {
      dropped.put(r, Counter.builder("odin.messages.dropped").tag("reason", label(r))
        .description("Messages that did not reach a connection, by reason").register(registry));
    }
    fanout = DistributionSummary.builder("odin.dispatch.fanout.size")
      .description("Shards one message was sent to")
      .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
    batchSize = DistributionSummary.builder("odin.dispatch.batch.size")
      .description("Messages per dispatched batch")
      .serviceLevelObjectives(1, 10, 50, 100, 250, 500, 1000, 5000).register(registry);
    deliveries = Counter.builder("odin.ws.deliveries").description("Frames written to sockets").register(registry);
    deliveryLatency = Timer.builder("odin.delivery.latency")
      .description("From the record's timestamp or the publish time to the socket write")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofMillis(1))
      .maximumExpectedValue(Duration.ofSeconds(30))
      .register(registry);
    clientErrors = Counter.builder("odin.ws.client.errors")
      .description("Client frames answered with an error (malformed, unknown op)").register(registry);
    publishRejected = Counter.builder("odin.publish.rejected")
      .description("Publish API requests refused as malformed").register(registry);
    for (String reason : HTTP_REJECT_REASONS) {
      httpRejectedCounter(reason);
    }
    Gauge.builder("odin.http.inflight.body.bytes", inFlightBodyBytes, AtomicLong::get)
      .description("Bytes of publish bodies being received now (bounded by http.maxInFlightBodyBytes)").register(registry);
    redisLookup = Timer.builder("odin.redis.lookup.duration")
      .description("One batch lookup in the Redis connection registry, from request to answer")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofNanos(100_000))
      .maximumExpectedValue(Duration.ofSeconds(10))
      .register(registry);
    for (String op : new String[] {"lookup", "write", "probe", "history"}) {
      redisErrors.put(op, Counter.builder("odin.redis.errors").tag("op", op)
        .description("Redis registry calls that failed or timed out (lookups then fall back to every shard)").register(registry));
    }
    kafkaRecords = Counter.builder("odin.kafka.records").description("Kafka records consumed").register(registry);
    kafkaBadRecord(KAFKA_BAD_RECORD_MALFORMED, 0);
    Gauge.builder("odin.kafka.lag", kafkaPartitionLags, GatewayMetrics::sum)
      .description("Records of this node's assigned Kafka partitions not yet handed to the shards (end offset less"
        + " committed offset), summed")
      .register(registry);
    for (IngestStage stage : IngestStage.values()) {
      // a handful of fixed buckets per stage: enough to see which stage holds a message up, cheap to scrape
      ingestStages[stage.ordinal()] = Timer.builder("odin.ingest.stage").tag("stage", label(stage))
        .description("Time a message spends in each stage from its record timestamp (or publish) to the socket write,"
          + " per batch (fetch: per record)")
        .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
          Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
          Duration.ofSeconds(1), Duration.ofSeconds(5))
        .register(registry);
    }
    Gauge.builder("odin.kafka.inflight.records", kafkaInFlightRecords, AtomicLong::get)
      .description("Records polled from Kafka and not yet handed to the shards, over the node's consumers"
        + " (bounded by kafka.maxInFlightRecords per consumer)").register(registry);
    kafkaPauses = Counter.builder("odin.kafka.pauses")
      .description("Times a consumer paused its partitions at kafka.maxInFlightRecords or kafka.maxInFlightBatches").register(registry);
    kafkaRedelivered = Counter.builder("odin.kafka.redelivered")
      .description("Kafka records read again (a rebalance, a crash before the commit) that the history had stored in every"
        + " stream already: not dispatched again").register(registry);
    for (String reason : HANDSHAKE_REFUSALS) {
      handshakeRefused(reason, 0);
    }
    handshakeTimeouts = Counter.builder("odin.ws.handshake.timeouts")
      .description("Connections closed because no WebSocket upgrade completed within ws.handshakeTimeoutMs").register(registry);
    closeTimeouts = Counter.builder("odin.ws.close.timeouts")
      .description("Connections torn down because the peer had not closed within ws.closeTimeoutMs of the server's close frame")
      .register(registry);
    FunctionCounter.builder("odin.ws.accept.errors", AcceptErrorLog.class, c -> AcceptErrorLog.count())
      .description("Failures to accept a TCP connection (e.g. the open-file limit), in this process").register(registry);
    FunctionCounter.builder("odin.cluster.bad.connections", ClusterPortLog.class, c -> ClusterPortLog.count())
      .description("Connections to the Hazelcast port closed for not speaking its member protocol, in this process")
      .register(registry);
    for (DispatchPath p : DispatchPath.values()) {
      int i = p.ordinal();
      pathMessages[i] = Counter.builder("odin.path.messages").tag("path", p.label())
        .description("Messages with tokens dispatched, by path (targeted or broadcast, dispatch.mode/targetedPercent)")
        .register(registry);
      pathDeliveries[i] = Counter.builder("odin.path.deliveries").tag("path", p.label())
        .description("Frames written to sockets for messages with tokens, by dispatch path").register(registry);
      for (DropReason r : new DropReason[] {DropReason.NO_CONNECTION, DropReason.SLOW_CLIENT}) {
        pathDropped[i][r.ordinal()] = Counter.builder("odin.path.dropped").tag("path", p.label()).tag("reason", label(r))
          .description("Messages with tokens that did not reach a connection, by dispatch path and reason").register(registry);
      }
      pathLatency[i] = Timer.builder("odin.path.delivery.latency").tag("path", p.label())
        .description("Delivery latency of messages with tokens, by dispatch path")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry);
      pathFanout[i] = DistributionSummary.builder("odin.path.fanout.size").tag("path", p.label())
        .description("Shards one message with tokens was sent to, by dispatch path")
        .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
    }
    tokenRefreshes = Counter.builder("odin.ws.token.refreshes").description("Connections extended by a valid refresh op").register(registry);
    apiUnauthorized = Counter.builder("odin.api.unauthorized")
      .description("Management requests refused with 401 (missing or wrong API key)").register(registry);
    for (boolean ok : new boolean[] {true, false}) {
      jwksFetches.put(ok, Counter.builder("odin.auth.jwks.fetches").tag("result", ok ? "ok" : "error")
        .description("JWKS fetches (auth.jwt.jwksUrl)").register(registry));
    }
    for (String reason : JWKS_FETCH_ERRORS) {
      jwksFetchErrors.put(reason, Counter.builder("odin.auth.jwks.fetch.errors").tag("reason", reason)
        .description("JWKS fetches that failed, by reason (auth.jwt.jwksTimeoutMs, auth.jwt.jwksMaxBytes)").register(registry));
    }
    // open and maximum file descriptors (process_files_open_files, process_files_max_files): a node's connection ceiling
    new FileDescriptorMetrics().bindTo(registry);
    history = new HistoryMetrics(registry);
    channels = new ChannelMetrics(registry);
  }

  /** The history's and recovery's meters. */
  public ChannelMetrics channels() {
    return channels;
  }

  public HistoryMetrics history() {
    return history;
  }

  /** {@code odin_dispatch_targeted_percent}, {@code odin_dispatch_mode{mode}} and the setting's version, read at each scrape. */
  /**
   * {@code odin_dispatch_targeted_percent}, {@code odin_dispatch_mode{mode}} and {@code odin_dispatch_setting_version}:
   * the dispatch setting in force on this node (node.DispatchSetting), read when scraped.
   */
  public void dispatchSetting(List<String> modes, Supplier<String> mode, IntSupplier targetedPercent, LongSupplier version) {
    Gauge.builder("odin.dispatch.targeted.percent", targetedPercent::getAsInt)
      .description("dispatch.targetedPercent in force on this node").register(registry);
    for (String m : modes) {
      Gauge.builder("odin.dispatch.mode", () -> m.equals(mode.get()) ? 1 : 0).tag("mode", m)
        .description("1 for the dispatch.mode in force on this node").register(registry);
    }
    Gauge.builder("odin.dispatch.setting.version", version::getAsLong)
      .description("Version of the dispatch setting in force (0: the configured one; equal on every node once a change spread)")
      .register(registry);
  }

  /** {@code odin_path_messages_total{path}} and {@code odin_path_fanout_size{path}}: one message dispatched on {@code path}. */
  public void pathDispatched(DispatchPath path, int shards) {
    pathMessages[path.ordinal()].increment();
    pathFanout[path.ordinal()].record(shards);
  }

  /** {@code odin_path_deliveries_total{path}}. */
  public void pathDelivered(DispatchPath path, long frames) {
    if (frames > 0) {
      pathDeliveries[path.ordinal()].increment(frames);
    }
  }

  /** {@code odin_path_dropped_total{path,reason}} (no_connection or slow_client). */
  public void pathDropped(DispatchPath path, DropReason reason, long count) {
    Counter c = pathDropped[path.ordinal()][reason.ordinal()];
    if (count > 0 && c != null) {
      c.increment(count);
    }
  }

  /** {@code odin_path_delivery_latency_seconds{path}}. */
  public void pathLatencyMillis(DispatchPath path, long millis) {
    pathLatency[path.ordinal()].record(Math.max(0, millis), TimeUnit.MILLISECONDS);
  }

  public double pathMessagesCount(DispatchPath path) {
    return pathMessages[path.ordinal()].count();
  }

  public double pathDeliveredCount(DispatchPath path) {
    return pathDeliveries[path.ordinal()].count();
  }

  public Timer pathLatency(DispatchPath path) {
    return pathLatency[path.ordinal()];
  }

  public DistributionSummary pathFanout(DispatchPath path) {
    return pathFanout[path.ordinal()];
  }

  public double pathDroppedCount(DispatchPath path, DropReason reason) {
    Counter c = pathDropped[path.ordinal()][reason.ordinal()];
    return c == null ? 0 : c.count();
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Registers the connection gauge of one shard. */
  public void shardConnections(String shard, Supplier<Number> count) {
    Gauge.builder("odin.ws.connections", count).tag("shard", shard)
      .description("Open WebSocket connections per shard").register(registry);
  }

  public void removeShard(String shard) {
    registry.find("odin.ws.connections").tag("shard", shard).meters().forEach(registry::remove);
    history.removeShard(shard);
  }

  public void tokenRefreshed() {
    tokenRefreshes.increment();
  }

  public void apiUnauthorized() {
    apiUnauthorized.increment();
  }

  /** {@code odin_auth_jwks_fetch_errors_total{reason}}: one of {@link #JWKS_FETCH_ERRORS}. */
  public void jwksFetchFailed(String reason) {
    jwksFetchErrors.get(reason).increment();
  }

  public void jwksFetched(boolean ok) {
    jwksFetches.get(ok).increment();
  }

  public void connected() {
    connects.increment();
  }

  public void disconnected(DisconnectReason reason) {
    disconnects.get(reason).increment();
  }

  public void dispatched(DispatchType type, long count) {
    if (count > 0) {
      dispatched.get(type).increment(count);
    }
  }

  public void dropped(DropReason reason, long count) {
    if (count > 0) {
      dropped.get(reason).increment(count);
    }
  }

  public void fanout(int shards) {
    fanout.record(shards);
  }

  public void batch(int messages) {
    batchSize.record(messages);
  }

  public void delivered(long frames) {
    if (frames > 0) {
      deliveries.increment(frames);
    }
  }

  /** One batch's (or record's) time in {@code stage}, in nanoseconds. Any thread. */
  public void ingestStage(IngestStage stage, long nanos) {
    ingestStages[stage.ordinal()].record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
  }

  public Timer ingestStage(IngestStage stage) {
    return ingestStages[stage.ordinal()];
  }

  /** Records polled and not yet handed over: {@code delta} more (or fewer). */
  public void kafkaInFlightRecords(long delta) {
    kafkaInFlightRecords.addAndGet(delta);
  }

  public void kafkaPaused() {
    kafkaPauses.increment();
  }

  public void deliveryLatencyMillis(long millis) {
    deliveryLatency.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
  }

  /** {@code odin_redis_lookup_duration_seconds}: one registry lookup round trip took {@code nanos}. */
  public void redisLookup(long nanos) {
    redisLookup.record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
  }

  /** {@code odin_redis_errors_total{op=lookup|write|probe}}: one Redis call of the registry failed or timed out. */
  public void redisError(String operation) {
    Counter c = redisErrors.get(operation);
    if (c == null) {
      c = redisErrors.computeIfAbsent(operation, op -> Counter.builder("odin.redis.errors").tag("op", op)
        .description("Redis registry calls that failed or timed out (lookups then fall back to every shard)").register(registry));
    }
    c.increment();
  }

  public Timer redisLookupTimer() {
    return redisLookup;
  }

  public double redisErrorCount() {
    return redisErrors.values().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code odin_kafka_redelivered_total}: {@code n} records read again were not dispatched again. */
  public void kafkaRedelivered(long n) {
    if (n > 0) {
      kafkaRedelivered.increment(n);
    }
  }

  /** {@code odin_kafka_records_total}: {@code n} records were consumed. */
  public void kafkaRecords(long n) {
    if (n > 0) {
      kafkaRecords.increment(n);
    }
  }

  /**
   * {@code odin_kafka_bad_records_total{reason}}: a record was skipped. Reasons should be a small fixed set of
   * snake_case words ({@link #KAFKA_BAD_RECORD_MALFORMED}, ...): each one is a time series.
   */
  public void kafkaBadRecord(String reason) {
    kafkaBadRecord(reason, 1);
  }

  private void kafkaBadRecord(String reason, long n) {
    Counter c = kafkaBadRecords.get(reason);
    if (c == null) {
      c = kafkaBadRecords.computeIfAbsent(reason, r -> Counter.builder("odin.kafka.bad.records").tag("reason", r)
        .description("Kafka records skipped, by reason").register(registry));
    }
    if (n > 0) {
      c.increment(n);
    }
  }

  /**
   * {@code odin_kafka_partition_lag{topic,partition}}: one assigned partition's lag, read from {@code lag} at each
   * scrape, and part of {@code odin_kafka_lag}. Remove it with {@link #removeKafkaPartition} when the partition is
   * revoked.
   */
  public void kafkaPartitionLag(String topic, int partition, Supplier<Number> lag) {
    kafkaPartitionLags.put(topic + "-" + partition, lag);
    Gauge.builder("odin.kafka.partition.lag", lag).tag("topic", topic).tag("partition", Integer.toString(partition))
      .description("Records of one assigned Kafka partition not yet handed to the shards (end offset less committed offset)")
      .register(registry);
  }

  public void removeKafkaPartition(String topic, int partition) {
    kafkaPartitionLags.remove(topic + "-" + partition);
    registry.find("odin.kafka.partition.lag").tag("topic", topic).tag("partition", Integer.toString(partition))
      .meters().forEach(registry::remove);
  }

  private static double sum(Map<String, Supplier<Number>> values) {
    double sum = 0;
    for (Supplier<Number> v : values.values()) {
      sum += v.get().doubleValue();
    }
    return sum;
  }

  /** The delivery latency timer, for the status page's percentiles. */
  public Timer deliveryLatency() {
    return deliveryLatency;
  }

  public double connectsCount() {
    return connects.count();
  }

  public double disconnectsCount(DisconnectReason reason) {
    return disconnects.get(reason).count();
  }

  public void clientError() {
    clientErrors.increment();
  }

  /** {@code odin_ws_handshakes_refused_total{reason}}: a WebSocket handshake was answered with an HTTP error. */
  public void handshakeRefused(String reason) {
    handshakeRefused(reason, 1);
  }

  private void handshakeRefused(String reason, long n) {
    Counter c = handshakesRefused.get(reason);
    if (c == null) {
      c = handshakesRefused.computeIfAbsent(reason, r -> Counter.builder("odin.ws.handshakes.refused").tag("reason", r)
        .description("WebSocket handshakes refused, by reason").register(registry));
    }
    if (n > 0) {
      c.increment(n);
    }
  }

  public double handshakesRefusedCount(String reason) {
    Counter c = handshakesRefused.get(reason);
    return c == null ? 0 : c.count();
  }

  public void handshakeTimedOut() {
    handshakeTimeouts.increment();
  }

  public double handshakeTimeoutsCount() {
    return handshakeTimeouts.count();
  }

  public void closeTimedOut() {
    closeTimeouts.increment();
  }

  public double closeTimeoutsCount() {
    return closeTimeouts.count();
  }

  public void publishRejected() {
    publishRejected.increment();
  }

  /** {@code odin_http_rejected_total{reason}}: a management request refused at the edge (malformed, over a limit). */
  public void httpRejected(String reason) {
    httpRejectedCounter(reason).increment();
  }

  public double httpRejectedCount(String reason) {
    return httpRejectedCounter(reason).count();
  }

  private Counter httpRejectedCounter(String reason) {
    Counter c = httpRejected.get(reason);
    if (c == null) {
      c = httpRejected.computeIfAbsent(reason, r -> Counter.builder("odin.http.rejected").tag("reason", r)
        .description("Management requests refused at the edge (malformed, over a limit), by reason").register(registry));
    }
    return c;
  }

  /** {@code odin_http_inflight_body_bytes}: the bytes of publish bodies being received now. */
  public void inFlightBodyBytes(long bytes) {
    inFlightBodyBytes.set(bytes);
  }

  public double dispatchedCount(DispatchType type) {
    return dispatched.get(type).count();
  }

  public double droppedCount(DropReason reason) {
    return dropped.get(reason).count();
  }

  public double deliveredCount() {
    return deliveries.count();
  }

  private static String label(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
