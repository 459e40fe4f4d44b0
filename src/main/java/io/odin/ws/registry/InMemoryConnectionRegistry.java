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
 * loops, dispatchers from theirs, so it is a concurrent map. A token's value is its one shard's address (the usual
 * case: no set per connection) or an immutable list of several, replaced on every change.
 */
public final class InMemoryConnectionRegistry implements ConnectionRegistry {

  /** Token to shard address (a String) or to addresses (an immutable List of two or more). */
  private final ConcurrentHashMap<String, Object> shardsByToken = new ConcurrentHashMap<>();
  private final boolean authoritative;

  public InMemoryConnectionRegistry(boolean authoritative) {
    this.authoritative = authoritative;
  }

  @Override
  public Future<Void> register(String token, String shardAddress) {
    shardsByToken.compute(token, (t, shards) -> {
      if (shards == null || shards.equals(shardAddress)) {
        return shardAddress;
      }
      List<String> all = shardsOf(shards);
      if (all.contains(shardAddress)) {
        return shards;
      }
      List<String> more = new ArrayList<>(all);
      more.add(shardAddress);
      return List.copyOf(more);
    });
    return Future.succeededFuture();
  }

  @Override
  public void unregister(String token, String shardAddress) {
    shardsByToken.computeIfPresent(token, (t, shards) -> {
      if (shards instanceof String) {
        return shards.equals(shardAddress) ? null : shards;
      }
      List<String> fewer = new ArrayList<>(shardsOf(shards));
      fewer.remove(shardAddress);
      return fewer.isEmpty() ? null : fewer.size() == 1 ? fewer.get(0) : List.copyOf(fewer);
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
      Object shards = shardsByToken.get(token);
      if (shards != null) {
        found.put(token, shardsOf(shards));
      }
    }
    return Future.succeededFuture(new RegistryLookup(found, authoritative));
  }

  @SuppressWarnings("unchecked")
  private static List<String> shardsOf(Object shards) {
    return shards instanceof String ? List.of((String) shards) : (List<String>) shards;
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
