package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The gateway's own meters, created once per node so that the hot path only increments pre-built counters
 * (no lookup, no tag allocation per message). Prometheus names: dots become underscores, counters get
 * {@code _total}, e.g. {@code odin.dispatch} becomes {@code odin_dispatch_total}.
 */
public final class GatewayMetrics {

  /** How a message was routed. */
  public enum DispatchType { TARGETED, BROADCAST, FALLBACK }

  /** Why a message did not reach a connection. */
  public enum DropReason { SLOW_CLIENT, NO_CONNECTION, OVERLOAD }

  /** Why a connection closed. */
  public enum DisconnectReason { CLIENT, PING_TIMEOUT, SLOW_CLIENT, SHUTDOWN, ERROR }

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
  private final Counter kafkaRecords;
  private final java.util.concurrent.ConcurrentMap<String, Counter> kafkaBadRecords = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong kafkaLag = new java.util.concurrent.atomic.AtomicLong();

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
    kafkaRecords = Counter.builder("odin.kafka.records").description("Kafka records consumed").register(registry);
    Gauge.builder("odin.kafka.lag", kafkaLag, java.util.concurrent.atomic.AtomicLong::get)
      .description("Records behind the end of this node's assigned Kafka partitions").register(registry);
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
    deliveryLatency.record(Math.max(0, millis), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** {@code odin_kafka_records_total}: {@code n} records were consumed. */
  public void kafkaRecords(long n) {
    if (n > 0) {
      kafkaRecords.increment(n);
    }
  }

  /** {@code odin_kafka_bad_records_total{reason}}: a record was skipped; reasons are a small fixed set. */
  public void kafkaBadRecord(String reason) {
    kafkaBadRecords.computeIfAbsent(reason, r -> Counter.builder("odin.kafka.bad.records").tag("reason", r)
      .description("Kafka records skipped, by reason").register(registry)).increment();
  }

  /** {@code odin_kafka_lag}: records behind the end of this node's assigned partitions. */
  public void kafkaLag(long records) {
    kafkaLag.set(Math.max(0, records));
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

  // ---- Redis registry (docs/registry.md); built on first use so the meters above stay as they are

  private volatile Timer redisLookup;
  private final Map<String, Counter> redisErrors = new java.util.concurrent.ConcurrentHashMap<>();

  /** One registry lookup round trip to Redis: {@code odin_redis_lookup_duration_seconds}. */
  public void redisLookup(long nanos) {
    Timer t = redisLookup;
    if (t == null) {
      t = Timer.builder("odin.redis.lookup.duration")
        .description("Redis round trip resolving the tokens of one dispatched batch")
        .publishPercentileHistogram()
        .publishPercentiles(0.5, 0.99)
        .minimumExpectedValue(Duration.ofNanos(100_000))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
      redisLookup = t;
    }
    t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** A failed or timed-out Redis call: {@code odin_redis_errors_total{op=lookup|write|probe}}. */
  public void redisError(String operation) {
    redisErrors.computeIfAbsent(operation, op -> Counter.builder("odin.redis.errors").tag("op", op)
      .description("Redis calls of the registry that failed or timed out").register(registry)).increment();
  }

  public Timer redisLookupTimer() {
    return redisLookup;
  }

  public double redisErrorCount() {
    return redisErrors.values().stream().mapToDouble(Counter::count).sum();
  }

  private static String label(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
