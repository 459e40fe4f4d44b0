package io.odin.ws.loadtest;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes at a steady rate from one thread: each message gets the next sequence number and the current time,
 * is logged in the {@link MessageLog}, then handed to the {@link Sink} (HTTP or Kafka) in batches of up to
 * {@code --batch} envelopes, with at most {@code --max-in-flight} batches awaiting an answer. When the sink
 * cannot keep up the publisher falls behind instead of queueing: the report shows the rate achieved.
 */
public final class Publisher implements AutoCloseable {

  /** A message on its way out. */
  public record Out(int seq, int[] tokens, String key, byte[] envelope) {
  }

  /**
   * What message number {@code seq} is at the --mix shares: 0 targeted, 1 broadcast, 2 channel. Without a channel share
   * exactly as {@link #isBroadcast}; with one, by where {@code seq} times the golden ratio falls in [0, 1): a
   * low-discrepancy sequence, so each kind keeps its share over any stretch of messages.
   */
  static int kindOf(long seq, int targetedShare, int broadcastShare, int channelShare) {
    if (channelShare == 0) {
      return isBroadcast(seq, targetedShare, broadcastShare) ? 1 : 0;
    }
    int total = targetedShare + broadcastShare + channelShare;
    double at = (seq * 0.6180339887498949) % 1.0 * total;
    return at < targetedShare ? 0 : at < targetedShare + broadcastShare ? 1 : 2;
  }

  /** Where messages go. {@code send} must resolve each message's status in the log and then call {@code done}. */
  public interface Sink extends AutoCloseable {
    void send(List<Out> batch, Publisher publisher, Runnable done);

    @Override
    void close();
  }

  /** A partial batch is sent once its oldest message has waited this long. */
  static final long LINGER_NANOS = 5_000_000;
  /** After the duration, messages that fell due within it are still sent for this long (then counted as lag). */
  static final long CATCH_UP_NANOS = 1_000_000_000L;

  private final MessageLog log;
  private final EnvelopeFactory envelopes;
  private final Sink sink;
  private double rate;
  private final int batch;
  private final int maxInFlight;
  private final int mixTargeted;
  private final int mixBroadcast;
  private final int mixChannel;
  private final int channelCount;
  private final int tokensPerMessage;
  private final int tokenCount;
  private final Random random;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final Recorder ackLatency = new Recorder(3_600_000_000L, 3);
  private final Histogram ackTotal = FleetStats.newHistogram();
  private final Map<String, Long> errors = new TreeMap<>();
  private volatile boolean stopped;
  private long maxBacklog;
  private long startedNanos;
  private long endedNanos;

  public Publisher(LoadTestOptions o, TokenPlan plan, MessageLog log, Sink sink) {
    this.log = log;
    this.envelopes = new EnvelopeFactory(o.type, o.channel, o.runId, plan, o.payloadBytes);
    this.sink = sink;
    this.rate = o.rate;
    this.batch = o.batch;
    this.maxInFlight = o.maxInFlight;
    this.mixTargeted = o.mixTargeted;
    this.mixBroadcast = o.mixBroadcast;
    this.mixChannel = o.mixChannel;
    this.channelCount = plan.channelCount();
    this.tokensPerMessage = o.tokensPerMessage;
    this.tokenCount = plan.tokenCount();
    this.random = new Random(o.seed);
  }

  /** True when message number {@code seq} is a broadcast: spreads broadcasts evenly at the --mix share. */
  static boolean isBroadcast(long seq, int targetedShare, int broadcastShare) {
    int total = targetedShare + broadcastShare;
    return (seq + 1) * broadcastShare / total > seq * broadcastShare / total;
  }

  /** Publishes for {@code durationMillis} at the configured rate; returns when the last message was handed to the sink. */
  public void run(long durationMillis) {
    run(List.of(new LoadTestOptions.Phase(rate, durationMillis)), i -> { });
  }

  /**
   * Publishes each phase's rate for its duration, back to back; {@code onPhase} is called (on this thread) with
   * each phase's index as it starts, and with the number of phases once the last is done.
   */
  public void run(List<LoadTestOptions.Phase> phases, java.util.function.IntConsumer onPhase) {
    startedNanos = System.nanoTime();
    long produced = 0;
    for (int i = 0; i < phases.size() && !stopped; i++) {
      onPhase.accept(i);
      produced = runPhase(phases.get(i), produced);
    }
    endedNanos = System.nanoTime();
    onPhase.accept(phases.size());
  }

  private long runPhase(LoadTestOptions.Phase phase, long producedBefore) {
    rate = phase.rate();
    long phaseStart = System.nanoTime();
    long durationNanos = phase.millis() * 1_000_000L;
    long total = phase.messages();
    long produced = 0;
    long lastSend = phaseStart;
    while (!stopped && produced < total) {
      long now = System.nanoTime();
      if (now - phaseStart >= durationNanos + CATCH_UP_NANOS) {
        // a descheduled thread may catch up on what fell due within the duration, but not forever
        break;
      }
      long due = Math.min(total, (long) Math.floor(rate * (now - phaseStart) / 1e9) + 1) - produced;
      maxBacklog = Math.max(maxBacklog, due);
      if (due > 0 && (due >= batch || now - lastSend >= LINGER_NANOS) && inFlight.get() < maxInFlight) {
        int n = (int) Math.min(due, batch);
        sendBatch(n, producedBefore + produced);
        produced += n;
        lastSend = now;
        continue;
      }
      LockSupport.parkNanos(due > 0 ? 50_000 : 200_000);
    }
    // a phase that ends early because of the catch-up limit still lasts its duration: the next starts on time
    long left = phaseStart + durationNanos - System.nanoTime();
    if (left > 0 && !stopped) {
      LockSupport.parkNanos(left);
    }
    return producedBefore + produced;
  }

  private void sendBatch(int n, long firstIndex) {
    long ts = MicroClock.nowMicros();
    List<Out> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int kind = kindOf(firstIndex + i, mixTargeted, mixBroadcast, mixChannel);
      if (kind == 2) {
        int channel = random.nextInt(channelCount);
        int seq = log.addChannel(channel, ts, i == 0);
        out.add(new Out(seq, null, envelopes.channelKey(channel), envelopes.channelEnvelope(seq, channel, ts)));
        continue;
      }
      int[] tokens = kind == 1 ? null : pickTokens();
      int seq = log.add(tokens, ts, i == 0);
      out.add(new Out(seq, tokens, envelopes.key(tokens), envelopes.envelope(seq, tokens, ts)));
    }
    inFlight.incrementAndGet();
    requests.incrementAndGet();
    sent.addAndGet(n);
    try {
      sink.send(out, this, () -> {
        ackLatency.recordValue(Math.max(0, Math.min(MicroClock.nowMicros() - ts, 3_600_000_000L)));
        inFlight.decrementAndGet();
      });
    } catch (RuntimeException e) {
      for (Out m : out) {
        log.status(m.seq(), MessageLog.Status.FAILED);
      }
      error(e.getClass().getSimpleName() + ": " + e.getMessage());
      inFlight.decrementAndGet();
    }
  }

  private int[] pickTokens() {
    if (tokensPerMessage == 1) {
      return new int[] {random.nextInt(tokenCount)};
    }
    int[] tokens = new int[tokensPerMessage];
    for (int i = 0; i < tokens.length; i++) {
      int t;
      boolean again;
      do {
        t = random.nextInt(tokenCount);
        again = false;
        for (int k = 0; k < i; k++) {
          again |= tokens[k] == t;
        }
      } while (again);
      tokens[i] = t;
    }
    return tokens;
  }

  /** Counts a failed publish by its reason (HTTP status, exception). Any thread. */
  public void error(String reason) {
    String r = reason.length() > 120 ? reason.substring(0, 120) : reason;
    synchronized (errors) {
      errors.merge(r, 1L, Long::sum);
    }
  }

  public MessageLog log() {
    return log;
  }

  public void stop() {
    stopped = true;
  }

  /** Waits until every batch handed to the sink was answered; false on timeout. */
  public boolean awaitAnswers(long timeoutMillis) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (inFlight.get() > 0) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(2_000_000);
    }
    return true;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public long sent() {
    return sent.get();
  }

  public long requests() {
    return requests.get();
  }

  public long maxBacklog() {
    return maxBacklog;
  }

  /** Seconds from the first to the last message handed to the sink. */
  public double elapsedSeconds() {
    return endedNanos > startedNanos ? (endedNanos - startedNanos) / 1e9 : 0;
  }

  /** Time from publishing a batch to its answer (HTTP 202, Kafka ack), all batches so far. */
  public synchronized Histogram ackLatency() {
    ackTotal.add(ackLatency.getIntervalHistogram());
    return ackTotal.copy();
  }

  public Map<String, Long> errors() {
    synchronized (errors) {
      return new TreeMap<>(errors);
    }
  }

  @Override
  public void close() {
    stopped = true;
    sink.close();
  }
}
