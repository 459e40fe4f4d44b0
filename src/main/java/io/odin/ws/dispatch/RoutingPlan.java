package io.odin.ws.dispatch;

import io.odin.ws.protocol.Envelope;

import java.util.List;
import java.util.Map;

/**
 * The outcome of routing one batch: for each shard address, the envelopes it must deliver in publish order,
 * and how each message was routed.
 */
public final class RoutingPlan {

  /** How one message was routed. */
  public enum Route {
    /** To the live shards the registry names for its tokens. */
    TARGETED,
    /** A broadcast: to every shard. */
    BROADCAST,
    /** Targeted, but the registry could not say where its tokens are: to every shard. */
    FALLBACK,
    /** On the targeted path, and none of its tokens has a connection anywhere (offline), or a channel message with no
     *  subscriber anywhere: sent nowhere (stored in the history all the same). */
    UNDELIVERABLE,
    /** Targeted, registry names only shards of a node this dispatcher does not know yet: to every shard. */
    UNKNOWN_NODE,
    /** Has tokens but took the broadcast path (dispatch.mode / targetedPercent): to every shard, each filtering. */
    FILTERED,
    /** A channel message: to the live shards the registry names as having subscribers of its channel. */
    CHANNEL
  }

  private static final Route[] ROUTES = Route.values();

  private final Map<String, List<Envelope>> byShard;
  private final int[] fanout;
  private final byte[] routes;
  final int targeted;
  final int broadcast;
  final int fallback;
  final int undeliverable;
  final int unknownNode;
  final int filtered;
  final int channel;

  /** @param routes each envelope's {@link Route} (its ordinal), by position in the batch */
  RoutingPlan(Map<String, List<Envelope>> byShard, int[] fanout, byte[] routes) {
    this.byShard = byShard;
    this.fanout = fanout;
    this.routes = routes;
    this.targeted = count(Route.TARGETED, 0, routes.length);
    this.broadcast = count(Route.BROADCAST, 0, routes.length);
    this.fallback = count(Route.FALLBACK, 0, routes.length);
    this.undeliverable = count(Route.UNDELIVERABLE, 0, routes.length);
    this.unknownNode = count(Route.UNKNOWN_NODE, 0, routes.length);
    this.filtered = count(Route.FILTERED, 0, routes.length);
    this.channel = count(Route.CHANNEL, 0, routes.length);
  }

  /** How the envelope at {@code index} of the batch was routed. */
  public Route route(int index) {
    return ROUTES[routes[index]];
  }

  /** Envelopes at positions {@code [from, to)} of the batch routed as {@code route} (one publish request's share). */
  public int count(Route route, int from, int to) {
    int n = 0;
    byte r = (byte) route.ordinal();
    for (int i = from; i < to; i++) {
      if (routes[i] == r) {
        n++;
      }
    }
    return n;
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

  /** Channel messages sent to the shards with subscribers of their channel. */
  public int channel() {
    return channel;
  }

  public int size() {
    return fanout.length;
  }
}
