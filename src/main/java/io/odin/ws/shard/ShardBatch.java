package io.odin.ws.shard;

import io.odin.ws.protocol.Envelope;

import java.util.List;

/**
 * Everything one dispatched batch holds for one shard, in publish order: one event-bus message per shard
 * per batch, never one per client. It is always sent within the node and travels by reference; batches for
 * another node's shards cross the cluster as one {@link io.odin.ws.cluster.NodeBatch} per node.
 */
public final class ShardBatch {

  private final List<Envelope> envelopes;
  private final long sentAtNanos;

  public ShardBatch(List<Envelope> envelopes) {
    this(envelopes, 0);
  }

  /** @param sentAtNanos when the dispatcher sent it (System.nanoTime), for odin_ingest_stage_seconds; 0: unknown */
  public ShardBatch(List<Envelope> envelopes, long sentAtNanos) {
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
