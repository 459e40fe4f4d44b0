package io.odin.ws.dispatch;

import io.odin.ws.protocol.Envelope;

import java.util.List;

/**
 * Messages handed to a dispatcher in one event-bus message (a publish request, a Kafka poll). The dispatcher
 * replies with its {@link RoutingPlan} once every shard message is sent, which is when the producer may
 * acknowledge (answer 202, commit offsets). Node-local: it travels by reference.
 */
public final class DispatchBatch {

  private final List<Envelope> envelopes;
  private final long sentAtNanos;

  public DispatchBatch(List<Envelope> envelopes) {
    this(envelopes, 0);
  }

  /** @param sentAtNanos when it was sent (System.nanoTime), for odin_ingest_stage_seconds{stage="dispatch"}; 0: unknown */
  public DispatchBatch(List<Envelope> envelopes, long sentAtNanos) {
    this.envelopes = envelopes;
    this.sentAtNanos = sentAtNanos;
  }

  public long sentAtNanos() {
    return sentAtNanos;
  }

  public List<Envelope> envelopes() {
    return envelopes;
  }
}
