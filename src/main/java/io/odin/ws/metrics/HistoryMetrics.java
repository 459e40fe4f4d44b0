package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Meters of the message history and of recovery on reconnect (docs/observability.md), registered up front so a
 * scrape shows them at zero before the first reconnect.
 */
public final class HistoryMetrics {

  /**
   * How a reconnect with {@code since=} ended: {@code RECOVERED} (everything missed replayed), or why not:
   * {@code EPOCH_CHANGED} the store lost the stream since (restart, failover, expiry, unstored messages) or the cursor
   * is another token's; {@code TOO_OLD} the messages after the cursor were trimmed ({@code history.size});
   * {@code TOO_MANY} more than {@code history.maxReplay} were missed; {@code MALFORMED} not a cursor;
   * {@code UNAVAILABLE} the store could not be read; {@code ABORTED} the replay could not be finished (the client read
   * too slowly, or the store dropped messages while they were replayed: closed with 1013).
   */
  public enum RecoveryResult { RECOVERED, EPOCH_CHANGED, TOO_OLD, TOO_MANY, MALFORMED, UNAVAILABLE, ABORTED }

  /**
   * How a shard's wait for a message that arrived after a later one of its stream ended: {@code ARRIVED} it came,
   * {@code FILLED} it was read from the history, {@code LOST} the history no longer had it (the stream's connections
   * were closed with 1013, to recover or learn they cannot).
   */
  public enum GapResult { ARRIVED, FILLED, LOST }

  private final Map<RecoveryResult, Counter> recoveries = new EnumMap<>(RecoveryResult.class);
  private final Map<GapResult, Counter> gaps = new EnumMap<>(GapResult.class);
  private final Counter replayed;
  private final Counter unstored;
  private final Counter duplicates;
  private final Counter readFailures;
  private final Counter unstoredStreamsPushedOut;
  private final Timer append;
  private final MeterRegistry registry;

  HistoryMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (RecoveryResult r : RecoveryResult.values()) {
      recoveries.put(r, Counter.builder("odin.recovery").tag("result", r.name().toLowerCase(Locale.ROOT))
        .description("Reconnects with since=, by result (recovered, or why not)").register(registry));
    }
    for (GapResult r : GapResult.values()) {
      gaps.put(r, Counter.builder("odin.history.gaps").tag("result", r.name().toLowerCase(Locale.ROOT))
        .description("Messages a shard waited for because a later one of the same stream came first, by outcome")
        .register(registry));
    }
    replayed = Counter.builder("odin.history.replayed.messages")
      .description("Stored messages written to reconnecting clients (replays and filled gaps)").register(registry);
    unstored = Counter.builder("odin.history.unstored.messages")
      .description("Messages dispatched without being stored (Redis down or slow): clients that missed them get recovered:false")
      .register(registry);
    duplicates = Counter.builder("odin.history.duplicates")
      .description("Messages a shard did not write because the connection already had them (replay overlap, a late copy)")
      .register(registry);
    readFailures = Counter.builder("odin.history.read.failures")
      .description("History reads (replays, gaps) that failed or timed out").register(registry);
    unstoredStreamsPushedOut = Counter.builder("odin.history.unstored.overflow")
      .description("Streams a shard stopped remembering inside history.unstoredWindowMs because it held"
        + " history.maxUnstoredStreams: until that window ends every reconnect there is answered recovered:false")
      .register(registry);
    append = Timer.builder("odin.history.append")
      .description("Storing a batch in the history, together with its registry lookup (one round trip)")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofNanos(100_000))
      .maximumExpectedValue(Duration.ofSeconds(10))
      .register(registry);
  }

  public void recovery(RecoveryResult result) {
    recoveries.get(result).increment();
  }

  public double recoveries(RecoveryResult result) {
    return recoveries.get(result).count();
  }

  public void gap(GapResult result) {
    gaps.get(result).increment();
  }

  public double gaps(GapResult result) {
    return gaps.get(result).count();
  }

  public void replayed(long messages) {
    replayed.increment(messages);
  }

  public double replayedCount() {
    return replayed.count();
  }

  public void unstored(long messages) {
    unstored.increment(messages);
  }

  public double unstoredCount() {
    return unstored.count();
  }

  /**
   * A shard's count of streams an unstored message passed in the last {@code history.unstoredWindowMs} (reconnects
   * whose cursors cover one are answered recovered:false there meanwhile).
   */
  public void unstoredStreams(String shard, Supplier<Number> count) {
    Gauge.builder("odin.history.unstored.streams", count).tag("shard", shard)
      .description("Streams (tokens, channels, broadcast) an unstored message passed in the last"
        + " history.unstoredWindowMs, per shard (at most history.maxUnstoredStreams)")
      .register(registry);
  }

  public void unstoredStreamsPushedOut(int streams) {
    if (streams > 0) {
      unstoredStreamsPushedOut.increment(streams);
    }
  }

  void removeShard(String shard) {
    registry.find("odin.history.unstored.streams").tag("shard", shard).meters().forEach(registry::remove);
  }

  public void duplicate() {
    duplicates.increment();
  }

  public void readFailed() {
    readFailures.increment();
  }

  public void appendSeconds(long nanos) {
    append.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }
}
