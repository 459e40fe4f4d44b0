package io.odin.ws.registry;

import io.vertx.core.Future;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry of a single node without Redis: exact, because every shard that could hold a token registers
 * here. Shards call it from their own event loops, dispatchers from theirs, so it is a concurrent map.
 */
public final class InMemoryConnectionRegistry implements ConnectionRegistry {

  private final ConcurrentHashMap<String, Set<String>> shardsByToken = new ConcurrentHashMap<>();

  @Override
  public Future<Void> register(String token, String shardAddress) {
    shardsByToken.computeIfAbsent(token, t -> ConcurrentHashMap.newKeySet(2)).add(shardAddress);
    return Future.succeededFuture();
  }

  @Override
  public void unregister(String token, String shardAddress) {
    shardsByToken.computeIfPresent(token, (t, shards) -> {
      shards.remove(shardAddress);
      return shards.isEmpty() ? null : shards;
    });
  }

  @Override
  public void removeShard(String shardAddress) {
    for (String token : shardsByToken.keySet()) {
      unregister(token, shardAddress);
    }
  }

  @Override
  public Future<RegistryLookup> lookup(Collection<String> tokens) {
    Map<String, List<String>> found = new HashMap<>(tokens.size() * 2);
    for (String token : tokens) {
      Set<String> shards = shardsByToken.get(token);
      if (shards != null && !shards.isEmpty()) {
        found.put(token, List.copyOf(shards));
      }
    }
    return Future.succeededFuture(new RegistryLookup(found, true));
  }

  /** Number of tokens with at least one connection. */
  public int size() {
    return shardsByToken.size();
  }

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public Future<Void> close() {
    shardsByToken.clear();
    return Future.succeededFuture();
  }
}
