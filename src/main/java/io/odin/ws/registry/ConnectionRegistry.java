package io.odin.ws.registry;

import io.vertx.core.Future;

import java.util.Collection;

/**
 * Where connections live: for each client token, the addresses of the shards that hold at least one of its
 * connections. Shards report the first connection and the last disconnection of each token; dispatchers
 * resolve a whole batch of tokens at once.
 */
public interface ConnectionRegistry {

  /** The shard at {@code shardAddress} now holds a connection of {@code token} (its first one there). */
  void register(String token, String shardAddress);

  /** The shard at {@code shardAddress} no longer holds any connection of {@code token}. */
  void unregister(String token, String shardAddress);

  /** The shard at {@code shardAddress} is gone: forget every entry that names it. */
  void removeShard(String shardAddress);

  /** Resolves all {@code tokens} in one round trip. Fails when the registry cannot answer (dispatch falls back). */
  Future<RegistryLookup> lookup(Collection<String> tokens);

  /** A short name for /health and logs. */
  String kind();

  Future<Void> close();
}
