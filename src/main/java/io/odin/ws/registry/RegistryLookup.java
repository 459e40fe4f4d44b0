package io.odin.ws.registry;

import java.util.Collection;
import java.util.Map;
import java.util.Set;

/**
 * The answer to a batch lookup. A token missing from the map is either known to have no connection
 * ({@link #authoritative()} registries, which see every registration) or unknown, in which case dispatch
 * falls back to every shard. On a Redis Cluster a lookup may answer for some tokens and not for others (their master
 * is down, failing over, being refilled, or their slot is moving): those are {@link #answered(String) unanswered} and
 * fall back alone.
 */
public final class RegistryLookup {

  private final Map<String, ? extends Collection<String>> shardsByToken;
  private final boolean authoritative;
  private final Set<String> unanswered;

  public RegistryLookup(Map<String, ? extends Collection<String>> shardsByToken, boolean authoritative) {
    this(shardsByToken, authoritative, Set.of());
  }

  public RegistryLookup(Map<String, ? extends Collection<String>> shardsByToken, boolean authoritative,
                        Set<String> unanswered) {
    this.shardsByToken = shardsByToken;
    this.authoritative = authoritative;
    this.unanswered = unanswered;
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

  /**
   * False for a token the registry could not answer for: a missing entry then proves nothing (the shards it names,
   * if any, are still right).
   */
  public boolean answered(String token) {
    return !unanswered.contains(token);
  }
}
