package io.odin.ws.registry;

import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.MemoryHistory;
import io.odin.ws.history.Registered;
import io.odin.ws.protocol.Envelope;
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
 * <p>Alone, it keeps the node's {@link MemoryHistory}: a batch is stored before its lookup, and a registration reads
 * the streams' positions after it is visible, so every message stored after that position is routed to the shard.
 */
public final class InMemoryConnectionRegistry implements ConnectionRegistry {

  /** Token to shard address (a String) or to addresses (an immutable List of two or more). */
  private final ConcurrentHashMap<String, Object> shardsByToken = new ConcurrentHashMap<>();
  private final boolean authoritative;
  /** Null without history. */
  private final MemoryHistory history;
  /** Channel to shard address to its subscriber count there (only shards with subscribers). */
  private final ConcurrentHashMap<String, Map<String, Integer>> subscribers = new ConcurrentHashMap<>();

  public InMemoryConnectionRegistry(boolean authoritative) {
    this(authoritative, null);
  }

  public InMemoryConnectionRegistry(boolean authoritative, MemoryHistory history) {
    this.authoritative = authoritative;
    this.history = history;
  }

  @Override
  public Future<Registered> register(String token, String shardAddress) {
    boolean[] added = new boolean[1];
    shardsByToken.compute(token, (t, shards) -> {
      if (shards == null) {
        added[0] = true;
        return shardAddress;
      }
      List<String> all = shardsOf(shards);
      if (all.contains(shardAddress)) {
        return shards;
      }
      added[0] = true;
      List<String> more = new ArrayList<>(all);
      more.add(shardAddress);
      return List.copyOf(more);
    });
    if (history == null) {
      return Future.succeededFuture(Registered.UNKNOWN);
    }
    // read after the entry is visible: every message stored after these positions is routed to the shard
    return Future.succeededFuture(added[0] ? history.register(token) : history.positions(token));
  }

  @Override
  public void unregister(String token, String shardAddress) {
    boolean[] removed = new boolean[1];
    shardsByToken.computeIfPresent(token, (t, shards) -> {
      if (shards instanceof String) {
        removed[0] = shards.equals(shardAddress);
        return removed[0] ? null : shards;
      }
      List<String> fewer = new ArrayList<>(shardsOf(shards));
      removed[0] = fewer.remove(shardAddress);
      return fewer.isEmpty() ? null : fewer.size() == 1 ? fewer.get(0) : List.copyOf(fewer);
    });
    if (removed[0] && history != null) {
      // the stream is kept history.ttlMs from now, for the client to come back
      history.unregister(token);
    }
  }

  @Override
  public void removeShard(String shardAddress) {
    for (String token : shardsByToken.keySet()) {
      unregister(token, shardAddress);
    }
    for (String channel : subscribers.keySet()) {
      subscribers(channel, shardAddress, 0);
    }
  }

  @Override
  public void subscribers(String channel, String shardAddress, int count) {
    subscribers.compute(channel, (c, shards) -> {
      Map<String, Integer> next = shards == null ? new HashMap<>() : new HashMap<>(shards);
      if (count > 0) {
        next.put(shardAddress, count);
      } else {
        next.remove(shardAddress);
      }
      return next.isEmpty() ? null : Map.copyOf(next);
    });
  }

  /** Alone, the node's own counts; in a cluster it knows only its own shards, so it does not answer. */
  @Override
  public Future<Long> subscriberCount(String channel) {
    if (!authoritative) {
      return Future.failedFuture(new IllegalStateException(
        "a cluster without Redis keeps no shared subscriber counts: set redis.url"));
    }
    long n = 0;
    for (int count : subscribers.getOrDefault(channel, Map.of()).values()) {
      n += count;
    }
    return Future.succeededFuture(n);
  }

  @Override
  public Future<RegistryLookup> lookup(Collection<String> tokens, List<Envelope> toStore) {
    if (history != null && toStore != null) {
      history.append(toStore);
    }
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
  public HistoryStore history() {
    return history != null ? history : HistoryStore.none(authoritative ? "history.enabled is false"
      : "a cluster without Redis keeps no history (each node's memory would disagree): set redis.url");
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
