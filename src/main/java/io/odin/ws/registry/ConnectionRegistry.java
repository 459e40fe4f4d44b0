package io.odin.ws.registry;

import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.Registered;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.Context;
import io.vertx.core.Future;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Where connections live: for each client token, the addresses of the shards that hold at least one of its
 * connections, and for each channel, the shards that have at least one subscriber (its interest, kept under the key
 * {@link io.odin.ws.protocol.ChannelName#interestKey}: registered, kept alive, cleaned up and looked up exactly as a
 * token is). Shards report the first connection and the last disconnection of each token, the first subscriber and
 * the last unsubscription of each channel, and their subscriber counts; dispatchers resolve a whole batch of tokens
 * and channels at once. The registry also stores each batch's messages in the node's
 * {@link #history() history}, in the same round trip as the lookup, before any shard can be handed them.
 */
public interface ConnectionRegistry {

  /**
   * The shard at {@code shardAddress} now holds a connection of {@code token} (its first one there). The future
   * completes once every lookup, on any node, sees the entry (at once in memory; after the coalesced write reached
   * Redis), or when the registry gives up on it (Redis down: lookups fall back then). It never fails. Shards finish
   * the WebSocket handshake only then, so a connected client is never missed by a lookup. It answers where the
   * token's stream and the broadcast stream stood at that point ({@link Registered#UNKNOWN} without history, or when
   * the registry gave up): every message stored after it is routed to this shard.
   */
  Future<Registered> register(String token, String shardAddress);

  /** The shard at {@code shardAddress} no longer holds any connection of {@code token}. */
  void unregister(String token, String shardAddress);

  /** The shard at {@code shardAddress} is gone: forget every entry that names it. */
  void removeShard(String shardAddress);

  /**
   * A shard of this node: registries that keep entries alive or must re-register them (Redis: heartbeats, Redis
   * restarted empty) call {@code tokens} on the shard's {@code context} to list every token it holds or is
   * registering. The in-memory registry needs none of this.
   */
  default void attachShard(String shardAddress, Context context, Supplier<Collection<String>> tokens) {
    attachShard(shardAddress, context, tokens, Map::of);
  }

  /**
   * Like {@link #attachShard(String, Context, Supplier)}; {@code subscribers} lists the shard's subscriber count of
   * each channel it has subscribers of, re-asserted with its entries (Redis: the counts expire unless re-asserted).
   */
  default void attachShard(String shardAddress, Context context, Supplier<Collection<String>> tokens,
                           Supplier<Map<String, Integer>> subscribers) {
  }

  /**
   * The shard at {@code shardAddress} now has {@code count} subscribers of {@code channel} (0: none left). Written
   * coalesced: the latest count of a shard wins. The channel's interest entry is registered apart ({@link #register}).
   */
  default void subscribers(String channel, String shardAddress, int count) {
  }

  /**
   * How many subscribers {@code channel} has on the live shards of the cluster, in one read of the registry (no node is
   * asked). Fails when the registry cannot say (Redis down; a cluster without Redis keeps no shared counts).
   */
  default Future<Long> subscriberCount(String channel) {
    return Future.failedFuture(new IllegalStateException("this registry keeps no subscriber counts"));
  }

  /**
   * Resolves all {@code tokens} in one round trip. Fails when the registry cannot answer (dispatch falls back).
   * The future completes on the caller's event loop: dispatchers touch their own state in the callback.
   */
  default Future<RegistryLookup> lookup(Collection<String> tokens) {
    return lookup(tokens, null);
  }

  /**
   * Stores {@code toStore} in the history (unless null), then resolves {@code tokens}, in one round trip: every
   * stored envelope gets its {@link Envelope#stored() positions} before the future completes, whether the lookup
   * succeeds or fails; an envelope the history could not store keeps none. Fails when the registry cannot answer.
   */
  Future<RegistryLookup> lookup(Collection<String> tokens, List<Envelope> toStore);

  /**
   * Batches this node dispatched without storing them (Redis down or slow): the cluster announces it with
   * {@link #unstoredSlots()}, and every node's next stored batch then gives the streams of those slots new epochs (a
   * client that missed such a message must not be told it recovered).
   */
  default long unstored() {
    return 0;
  }

  /**
   * The slots ("17,4000-4002") of the streams of messages this node sent unstored whose generations it has not yet
   * raised. "" when there are none.
   */
  default String unstoredSlots() {
    return "";
  }

  /** Where this node reads stored messages back; {@link HistoryStore#none} when it keeps none. */
  default HistoryStore history() {
    return HistoryStore.none("history.enabled is false");
  }

  /**
   * True while every entry of this node's shards is in the registry (Redis: breaker closed, every local shard in
   * sync). The cluster announces it, and dispatchers on other nodes take a token their lookup does not find as
   * offline only while every node's registry is complete (see {@link ShardDirectory#registriesComplete()}).
   */
  default boolean complete() {
    return true;
  }

  /**
   * Slots of a Redis Cluster ("0-5460,6000") where this node's entries may be missing although {@link #complete()} is
   * true: the masters this node cannot reach or is re-registering on. The cluster announces them, and dispatchers on
   * other nodes then fall back for the tokens of those slots that their lookups do not find, and only for those
   * ({@link ShardDirectory#incompleteSlotsElsewhere()}). "" elsewhere.
   */
  default String incompleteSlots() {
    return "";
  }

  /** A short name for /health and logs. */
  String kind();

  Future<Void> close();
}
