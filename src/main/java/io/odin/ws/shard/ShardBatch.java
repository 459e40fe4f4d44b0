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

  public ShardBatch(List<Envelope> envelopes) {
    this.envelopes = envelopes;
  }

  public List<Envelope> envelopes() {
    return envelopes;
  }
}
