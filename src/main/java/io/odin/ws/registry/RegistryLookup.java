package io.odin.ws.registry;

import java.util.Collection;
import java.util.Map;

/**
 * The answer to a batch lookup. A token missing from the map is either known to have no connection
 * ({@link #authoritative()} registries, which see every registration) or unknown, in which case dispatch
 * falls back to every shard.
 */
public final class RegistryLookup {

  private final Map<String, ? extends Collection<String>> shardsByToken;
  private final boolean authoritative;

  public RegistryLookup(Map<String, ? extends Collection<String>> shardsByToken, boolean authoritative) {
    this.shardsByToken = shardsByToken;
    this.authoritative = authoritative;
  }

  /** The shard addresses holding {@code token}, or null when the registry has no entry for it. */
  public Collection<String> shardsOf(String token) {
    Collection<String> shards = shardsByToken.get(token);
    return shards == null || shards.isEmpty() ? null : shards;
  }

  /** True when a missing token certainly has no connection anywhere. */
  public boolean authoritative() {
    return authoritative;
  }
}
