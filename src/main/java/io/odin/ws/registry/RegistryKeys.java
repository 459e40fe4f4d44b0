package io.odin.ws.registry;

/**
 * The Redis keys of the registry (see docs/registry.md). With the default prefix {@code odin:}:
 * <ul>
 *   <li>{@code odin:t:<token>}: sorted set, member = shard address, score = the entry's deadline (epoch ms, Redis
 *       clock); the key expires with its latest deadline;</li>
 *   <li>{@code odin:s:<shard>:tokens}: set of the tokens a shard registered (to clean its entries when it is gone);</li>
 *   <li>{@code odin:s:<shard>:sync}: the same set while a heartbeat rebuilds it;</li>
 *   <li>{@code odin:s:<shard>:live}: the shard's marker: present while its entries are complete in Redis (written by
 *       each heartbeat, with the TTL). Lookups trust Redis only while every live shard's marker exists.</li>
 *   <li>{@code odin:h:{<stream>}}: a stream's history (a Redis stream, entry ids {@code <seq>-0}, fields {@code o}
 *       dispatch order and {@code f} frame), {@code odin:h:{<stream>}:m} its position (hash: {@code e} epoch,
 *       {@code s} last sequence number, {@code i} the store identity it belongs to); {@code <stream>} is
 *       {@code t:<token>} or {@code b} (broadcasts), in braces so a stream and its position share a cluster slot;</li>
 *   <li>{@code odin:h:gen}: the history generation, raised when messages were dispatched without being stored, so
 *       that every stream takes a new epoch.</li>
 * </ul>
 */
public final class RegistryKeys {

  private final String prefix;
  private final String tokenPrefix;

  public RegistryKeys(String prefix) {
    this.prefix = prefix;
    this.tokenPrefix = prefix + "t:";
  }

  public String token(String token) {
    return tokenPrefix + token;
  }

  /** The prefix of token keys: {@code token(t) == tokenPrefix() + t}. */
  public String tokenPrefix() {
    return tokenPrefix;
  }

  public String index(String shard) {
    return prefix + "s:" + shard + ":tokens";
  }

  public String syncIndex(String shard) {
    return prefix + "s:" + shard + ":sync";
  }

  public String marker(String shard) {
    return prefix + "s:" + shard + ":live";
  }

  /** The history of stream {@code stream} (a Redis stream). */
  public String history(String stream) {
    return prefix + "h:{" + stream + "}";
  }

  /** The position of stream {@code stream} (a hash: epoch, last sequence number, store identity). */
  public String historyPosition(String stream) {
    return prefix + "h:{" + stream + "}:m";
  }

  /** The history generation (see the class comment). */
  public String historyGeneration() {
    return prefix + "h:gen";
  }
}
