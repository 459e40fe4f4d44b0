package io.odin.ws.registry;

import io.odin.ws.protocol.ChannelName;

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
 *       {@code t:<token>}, {@code c:<channel>} or {@code b} (broadcasts), in braces so a stream and its position share
 *       a cluster slot;</li>
 *   <li>{@code odin:t:#<channel>}: a channel's interest, kept as a token named {@code #<channel>} is (see
 *       {@link ChannelName#interestKey}); {@code odin:p:{c:<channel>}} its subscriber counts (hash: field = shard
 *       address, value = its subscribers there);</li>
 *   <li>{@code odin:h:gen:{<slot tag>}}: the history generation of the streams whose keys hash to that Redis Cluster
 *       slot (on a standalone Redis too), raised when a message of such a stream was dispatched without being stored,
 *       so that the slot's streams take a new epoch and the others keep theirs.</li>
 * </ul>
 * On a Redis Cluster ({@link #cluster}) the keys are hash-tagged so that what one script must change atomically shares
 * a slot, and what belongs to one master lives in a slot of that master:
 * <ul>
 *   <li>a token's entry is {@code odin:t:{t:<token>}}: the tag is its stream's name, so the entry, the stream, its
 *       position and the stream's generation ({@code odin:h:gen:{<slot tag>}}, one per slot) share a slot and one
 *       script reads or writes them together;</li>
 *   <li>a channel's interest entry is {@code odin:t:{c:<channel>}}: tagged with its stream's name too, so the entry,
 *       the channel's stream, position, generation and subscriber counts ({@code odin:p:{c:<channel>}}) share a slot
 *       (a shard's index still lists it as {@code #<channel>});</li>
 *   <li>a shard's index, sync index and marker exist once per master, tagged with the master's anchor (a tag of the
 *       lowest slot it serves): {@code odin:s:<shard>:live:{<anchor>}} says the shard's entries on that master are
 *       complete.</li>
 * </ul>
 */
public final class RegistryKeys {

  private final String prefix;
  private final String tokenPrefix;
  private final String tokenSuffix;
  private final String channelPrefix;
  /** The master's anchor tag with braces (cluster), or "". */
  private final String anchor;

  private RegistryKeys(String prefix, String anchorTag) {
    this.prefix = prefix;
    boolean cluster = anchorTag != null;
    this.tokenPrefix = prefix + (cluster ? "t:{t:" : "t:");
    this.tokenSuffix = cluster ? "}" : "";
    this.channelPrefix = prefix + (cluster ? "t:{c:" : "t:" + ChannelName.interestKey(""));
    this.anchor = cluster ? ":{" + anchorTag + "}" : "";
  }

  /** The keys of a standalone (or Sentinel-managed) Redis. */
  public RegistryKeys(String prefix) {
    this(prefix, null);
  }

  /** The keys as one master of a Redis Cluster sees them: its per-master keys carry {@code anchorTag}. */
  public static RegistryKeys cluster(String prefix, String anchorTag) {
    return new RegistryKeys(prefix, anchorTag);
  }

  /** True for a Redis Cluster's layout: scripts then get their keys in ARGV ({@link ScriptCall}). */
  public boolean cluster() {
    return !anchor.isEmpty();
  }

  /** The entry of a token, or of a channel's interest ({@link ChannelName#interestKey}). */
  public String token(String token) {
    return ChannelName.isInterestKey(token)
      ? channelPrefix + ChannelName.ofInterestKey(token) + tokenSuffix
      : tokenPrefix + token + tokenSuffix;
  }

  /**
   * The part of a channel's interest entry before the channel's name: {@code token(interestKey(c)) == channelPrefix()
   * + c + tokenSuffix()}.
   */
  public String channelPrefix() {
    return channelPrefix;
  }

  /** The part of a token key before the token: {@code token(t) == tokenPrefix() + t + tokenSuffix()} (not a channel's). */
  public String tokenPrefix() {
    return tokenPrefix;
  }

  /** The part of a token key after the token ("" on a standalone Redis). */
  public String tokenSuffix() {
    return tokenSuffix;
  }

  public String index(String shard) {
    return prefix + "s:" + shard + ":tokens" + anchor;
  }

  public String syncIndex(String shard) {
    return prefix + "s:" + shard + ":sync" + anchor;
  }

  public String marker(String shard) {
    return prefix + "s:" + shard + ":live" + anchor;
  }

  /** The history of stream {@code stream} (a Redis stream). */
  public String history(String stream) {
    return prefix + "h:{" + stream + "}";
  }

  /** The position of stream {@code stream} (a hash: epoch, last sequence number, store identity). */
  public String historyPosition(String stream) {
    return prefix + "h:{" + stream + "}:m";
  }

  /** A channel's subscriber counts per shard (a hash; on a cluster in the slot of the channel's entry and stream). */
  public String subscribers(String channel) {
    return subscribersPrefix() + channel + "}";
  }

  /** {@code subscribers(c) == subscribersPrefix() + c + "}"}: scripts derive the key from an interest entry. */
  public String subscribersPrefix() {
    return prefix + "p:{c:";
  }

  /** The history generation that {@code stream}'s epoch depends on: its slot's. */
  public String historyGeneration(String stream) {
    return generationOfSlot(SlotHash.slot(history(stream)));
  }

  /** The history generation of one slot: raising it gives every stream of the slot a new epoch. */
  public String generationOfSlot(int slot) {
    return prefix + "h:gen:{" + SlotHash.tag(slot) + "}";
  }
}
