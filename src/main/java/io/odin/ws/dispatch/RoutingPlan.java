package io.odin.ws.dispatch;

import io.odin.ws.protocol.Envelope;

import java.util.List;
import java.util.Map;

/**
 * The outcome of routing one batch: for each shard address, the envelopes it must deliver in publish order,
 * and how each message was routed.
 */
public final class RoutingPlan {

  private final Map<String, List<Envelope>> byShard;
  private final int[] fanout;
  final int targeted;
  final int broadcast;
  final int fallback;
  final int undeliverable;
  final int unknownNode;
  final int filtered;

  RoutingPlan(Map<String, List<Envelope>> byShard, int[] fanout, int targeted, int broadcast, int fallback,
              int undeliverable, int unknownNode, int filtered) {
    this.byShard = byShard;
    this.fanout = fanout;
    this.targeted = targeted;
    this.broadcast = broadcast;
    this.fallback = fallback;
    this.undeliverable = undeliverable;
    this.unknownNode = unknownNode;
    this.filtered = filtered;
  }

  /** Shard address to the envelopes for it, in the batch's order. */
  public Map<String, List<Envelope>> byShard() {
    return byShard;
  }

  /** Shards each envelope was sent to, by position in the batch. */
  public int[] fanout() {
    return fanout;
  }

  public int targeted() {
    return targeted;
  }

  public int broadcast() {
    return broadcast;
  }

  /** Targeted messages sent to every shard because the registry could not say where their tokens are. */
  public int fallback() {
    return fallback;
  }

  /** Targeted-path messages none of whose tokens has a connection anywhere (offline): sent nowhere. */
  public int undeliverable() {
    return undeliverable;
  }

  /**
   * Targeted messages sent to every shard because the registry put their tokens only on a node this dispatcher
   * does not know yet (not counted in {@link #fallback()}).
   */
  public int unknownNode() {
    return unknownNode;
  }

  /** Messages with tokens that took the broadcast path (dispatch.mode / targetedPercent): to every shard, each filtering. */
  public int filtered() {
    return filtered;
  }

  public int size() {
    return fanout.length;
  }
}
