package io.odin.ws.cluster;

import io.odin.ws.protocol.Envelope;

import java.util.List;
import java.util.Map;

/**
 * Everything one dispatched batch holds for the shards of one other node: sent once to that node's relay,
 * which hands each shard its part. A message bound for several shards of the node crosses the network once,
 * so cross-node cost grows with the number of nodes a batch touches, not with their shards.
 */
public final class NodeBatch {

  private final Map<String, List<Envelope>> byShard;

  public NodeBatch(Map<String, List<Envelope>> byShard) {
    this.byShard = byShard;
  }

  /** Shard address (of the receiving node) to its envelopes, in publish order. */
  public Map<String, List<Envelope>> byShard() {
    return byShard;
  }
}
