package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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

  /** How a message was routed. */
  public enum DispatchType { TARGETED, BROADCAST, FALLBACK }

  /** Why a message did not reach a connection. */
  public enum DropReason { SLOW_CLIENT, NO_CONNECTION, OVERLOAD }

  /** Why a connection closed. */
  public enum DisconnectReason { CLIENT, PING_TIMEOUT, SLOW_CLIENT, SHUTDOWN, ERROR, TOKEN_EXPIRED }

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
  private final Timer redisLookup;
  /** {@code odin_redis_errors_total{op}}, by the registry operation that failed. */
  private final Map<String, Counter> redisErrors = new ConcurrentHashMap<>();
  private final Counter kafkaRecords;
  private final ConcurrentMap<String, Counter> kafkaBadRecords = new ConcurrentHashMap<>();
  private final AtomicLong kafkaLag = new AtomicLong();
  /** Security (issue 12): refused handshakes by HTTP status, JWT refreshes, management requests without a valid key, JWKS fetches. */
  private final Map<Integer, Counter> handshakesRefused = new ConcurrentHashMap<>();
  private final Counter tokenRefreshes;
  private final Counter apiUnauthorized;
  private final Map<Boolean, Counter> jwksFetches = new ConcurrentHashMap<>();

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
    redisLookup = Timer.builder("odin.redis.lookup.duration")
      .description("One batch lookup in the Redis connection registry, from request to answer")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofNanos(100_000))
      .maximumExpectedValue(Duration.ofSeconds(10))
      .register(registry);
    for (String op : new String[] {"lookup", "write", "probe"}) {
      redisErrors.put(op, Counter.builder("odin.redis.errors").tag("op", op)
        .description("Redis registry calls that failed or timed out (lookups then fall back to every shard)").register(registry));
    }
    kafkaRecords = Counter.builder("odin.kafka.records").description("Kafka records consumed").register(registry);
    kafkaBadRecord(KAFKA_BAD_RECORD_MALFORMED, 0);
    Gauge.builder("odin.kafka.lag", kafkaLag, AtomicLong::get)
      .description("Records behind the end of the assigned Kafka partitions, summed over this node's partitions")
      .register(registry);
    for (int status : new int[] {400, 401, 403}) {
      handshakesRefused.put(status, Counter.builder("odin.ws.handshakes.refused").tag("status", String.valueOf(status))
        .description("WebSocket handshakes refused by authentication: 400 bad token, 401 no or invalid JWT, 403 origin").register(registry));
    }
    tokenRefreshes = Counter.builder("odin.ws.token.refreshes").description("Connections extended by a valid refresh op").register(registry);
    apiUnauthorized = Counter.builder("odin.api.unauthorized")
      .description("Management requests refused with 401 (missing or wrong API key)").register(registry);
    for (boolean ok : new boolean[] {true, false}) {
      jwksFetches.put(ok, Counter.builder("odin.auth.jwks.fetches").tag("result", ok ? "ok" : "error")
        .description("JWKS fetches (auth.jwt.jwksUrl)").register(registry));
    }
    // open and maximum file descriptors (process_files_open_files, process_files_max_files): a node's connection ceiling
    new FileDescriptorMetrics().bindTo(registry);
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
  }

  public void handshakeRefused(int status) {
    Counter c = handshakesRefused.get(status);
    if (c != null) {
      c.increment();
    }
  }

  public void tokenRefreshed() {
    tokenRefreshes.increment();
  }

  public void apiUnauthorized() {
    apiUnauthorized.increment();
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

  /** {@code odin_kafka_lag}: the records behind the end of this node's assigned partitions, summed. */
  public void kafkaLag(long records) {
    kafkaLag.set(Math.max(0, records));
  }

  /**
   * {@code odin_kafka_partition_lag{topic,partition}}: one assigned partition's lag, read from {@code lag} at each
   * scrape. Remove it with {@link #removeKafkaPartition} when the partition is revoked.
   */
  public void kafkaPartitionLag(String topic, int partition, Supplier<Number> lag) {
    Gauge.builder("odin.kafka.partition.lag", lag).tag("topic", topic).tag("partition", Integer.toString(partition))
      .description("Records behind the end of one assigned Kafka partition").register(registry);
  }

  public void removeKafkaPartition(String topic, int partition) {
    registry.find("odin.kafka.partition.lag").tag("topic", topic).tag("partition", Integer.toString(partition))
      .meters().forEach(registry::remove);
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

  public void publishRejected() {
    publishRejected.increment();
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
