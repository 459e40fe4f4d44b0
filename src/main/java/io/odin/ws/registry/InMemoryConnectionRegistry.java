package io.odin.ws.registry;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry of a node without Redis. Alone, it is exact (authoritative): every shard that could hold a
 * token registers here. In a cluster it cannot know the other nodes' connections (a token held here may also
 * have devices there), so it answers no lookup and every targeted message falls back to every shard of the
 * cluster: correct, but not targeted; a cluster wants the Redis registry. Shards call it from their own event
 * loops, dispatchers from theirs, so it is a concurrent map. Each token maps to an immutable list, replaced
 * whole on every change: a lookup hands out the stored list as it is, with no copy per token.
 */
public final class InMemoryConnectionRegistry implements ConnectionRegistry {

  private final ConcurrentHashMap<String, List<String>> shardsByToken = new ConcurrentHashMap<>();
  private final boolean authoritative;

  public InMemoryConnectionRegistry(boolean authoritative) {
    this.authoritative = authoritative;
  }

  @Override
  public Future<Void> register(String token, String shardAddress) {
    shardsByToken.compute(token, (t, shards) -> {
      if (shards == null) {
        return List.of(shardAddress);
      }
      if (shards.contains(shardAddress)) {
        return shards;
      }
      List<String> more = new ArrayList<>(shards);
      more.add(shardAddress);
      return List.copyOf(more);
    });
    return Future.succeededFuture();
  }

  @Override
  public void unregister(String token, String shardAddress) {
    shardsByToken.computeIfPresent(token, (t, shards) -> {
      if (!shards.contains(shardAddress)) {
        return shards;
      }
      List<String> fewer = new ArrayList<>(shards);
      fewer.remove(shardAddress);
      return fewer.isEmpty() ? null : List.copyOf(fewer);
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
    if (!authoritative) {
      return Future.succeededFuture(new RegistryLookup(Map.of(), false));
    }
    Map<String, List<String>> found = new HashMap<>(tokens.size() * 2);
    for (String token : tokens) {
      List<String> shards = shardsByToken.get(token);
      if (shards != null) {
        found.put(token, shards);
      }
    }
    return Future.succeededFuture(new RegistryLookup(found, authoritative));
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
