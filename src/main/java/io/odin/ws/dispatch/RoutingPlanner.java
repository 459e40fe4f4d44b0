package io.odin.ws.dispatch;

import io.odin.ws.node.DispatchSetting;
import io.odin.ws.dispatch.RoutingPlan.Route;
import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.registry.ShardDirectory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides which shards get each message of a batch:
 * <ul>
 *   <li>broadcast messages go to every live shard;</li>
 *   <li>channel messages go to the live shards the registry names for the channel's interest (shards with at least
 *       one subscriber); none, with an authoritative registry: no subscriber anywhere, sent nowhere; the registry
 *       unable to say: every live shard, each delivering to its own subscribers;</li>
 *   <li>messages the {@link DispatchSetting} puts on the broadcast path go to every live shard, each shard
 *       filtering by token (no lookup: the old system's behaviour, the control group of a rollout);</li>
 *   <li>messages on the targeted path go to the live shards the registry names for their tokens;</li>
 *   <li>when the registry failed, or does not know a token and is not authoritative (or could not answer for that
 *       token: its Redis Cluster master is down or its slot is moving), the message falls back to every live shard
 *       (each delivers only to its own connections of the token);</li>
 *   <li>a token an authoritative registry does not know has no connection (offline), as long as no other node
 *       announced connections missing from the registry: it costs nothing, and a message none of whose tokens has
 *       a live shard is undeliverable, sent nowhere. While a node says its connections may be missing, a token the
 *       registry finds also goes to that node's shards (the token may have moved there, its old entry still in
 *       Redis and its new one not yet).</li>
 *   <li>a token the registry puts only on shards of a node this dispatcher does not know (it has just joined and
 *       not announced its shards yet) also falls back, but is counted apart ({@code unknownNode}): the holder is
 *       most likely on that node and the message reaches nobody.</li>
 * </ul>
 * Every path goes through the dispatcher's one ordered stream per shard, so the path of a token may change
 * between batches without reordering, duplicating or losing its messages.
 * Registry entries naming shards that are not live are ignored, so a stale entry never misroutes; for a
 * non-authoritative registry a token left with no live shard is treated as unknown (fallback), never dropped.
 */
public final class RoutingPlanner {

  private RoutingPlanner() {
  }

  /** Every message with tokens on the targeted path, as before rollouts existed. */
  public static final DispatchSetting ALL_TARGETED = DispatchSetting.fromConfig(DispatchSetting.TARGETED, 100);

  /** The distinct tokens of the batch's targeted messages: what to look up. */
  public static Set<String> tokensToLookUp(List<Envelope> envelopes) {
    return tokensToLookUp(envelopes, ALL_TARGETED);
  }

  /**
   * What to look up for the batch under {@code setting}: the distinct tokens of its messages on the targeted path, and
   * the interest key ({@link ChannelName#interestKey}) of each channel its channel messages go to.
   */
  public static Set<String> tokensToLookUp(List<Envelope> envelopes, DispatchSetting setting) {
    Set<String> tokens = new LinkedHashSet<>();
    for (Envelope e : envelopes) {
      if (e.isChannelMessage()) {
        tokens.add(ChannelName.interestKey(e.channel()));
      } else if (!e.isBroadcast() && setting.pathOf(e.tokens()) == DispatchPath.TARGETED) {
        for (String t : e.tokens()) {
          tokens.add(t);
        }
      }
    }
    return tokens;
  }

  /**
   * @param lookup the registry's answer, or null when the registry failed (everything targeted falls back)
   */
  public static RoutingPlan plan(List<Envelope> envelopes, RegistryLookup lookup, ShardDirectory directory) {
    return plan(envelopes, lookup, directory, ALL_TARGETED);
  }

  /**
   * Routes the batch under {@code setting} (the one the batch's lookup was made for) and marks each message with
   * its path ({@link Envelope#path()}, for the per-path metrics).
   *
   * @param lookup the registry's answer, or null when the registry failed (everything targeted falls back)
   */
  public static RoutingPlan plan(List<Envelope> envelopes, RegistryLookup lookup, ShardDirectory directory,
                                 DispatchSetting setting) {
    List<String> live = directory.all();
    Map<String, List<Envelope>> byShard = new HashMap<>(Math.max(4, live.size() * 2));
    int[] fanout = new int[envelopes.size()];
    byte[] routes = new byte[envelopes.size()];
    Set<String> owners = new LinkedHashSet<>();
    // a token the lookup does not find is offline only when the registry saw every registration: its answer is
    // authoritative and no other node has announced connections missing from it (Redis unreachable from there)
    boolean offlineIsKnown = lookup != null && lookup.authoritative() && directory.registriesComplete();
    // and a token it finds may also be connected on such a node (it moved there: its old entry is still in Redis, its
    // new one not yet): those nodes' shards get it too
    List<String> unregisteredShards = directory.registriesComplete() ? List.of() : directory.shardsOfIncompleteRegistries();
    for (int i = 0; i < envelopes.size(); i++) {
      Envelope e = envelopes.get(i);
      if (e.isBroadcast()) {
        routes[i] = (byte) Route.BROADCAST.ordinal();
        e.routedOn(null);
        fanout[i] = addToAll(byShard, live, e);
        continue;
      }
      if (e.isChannelMessage()) {
        e.routedOn(null);
        owners.clear();
        Route route = routeByInterest(e, lookup, directory, offlineIsKnown, owners);
        routes[i] = (byte) route.ordinal();
        if (route == Route.CHANNEL) {
          for (String shard : owners) {
            byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(e);
          }
          fanout[i] = owners.size();
        } else if (route != Route.UNDELIVERABLE) {
          fanout[i] = addToAll(byShard, live, e);
        }
        continue;
      }
      DispatchPath path = setting.pathOf(e.tokens());
      e.routedOn(path);
      if (path == DispatchPath.BROADCAST) {
        routes[i] = (byte) Route.FILTERED.ordinal();
        fanout[i] = addToAll(byShard, live, e);
        continue;
      }
      owners.clear();
      boolean unknown = lookup == null;
      boolean onUnknownNode = false;
      if (!unknown) {
        for (String token : e.tokens()) {
          Collection<String> shards = lookup.shardsOf(token);
          boolean anyLive = false;
          if (shards != null) {
            for (String shard : shards) {
              if (directory.isLive(shard)) {
                owners.add(shard);
                anyLive = true;
              }
            }
          }
          if (!lookup.answered(token) || (!anyLive && !offlineIsKnown)) {
            // unknown, or known only on shards that are gone: the token may sit on a shard not yet registered;
            // counted apart (unknownNode) when the registry names only shards of a node this dispatcher does not
            // know yet. With a complete registry the token is offline instead: sent nowhere (undeliverable)
            unknown = true;
            onUnknownNode = shards != null && shards.stream().anyMatch(directory::isOnUnknownNode);
            break;
          }
        }
      }
      if (unknown) {
        routes[i] = (byte) (onUnknownNode ? Route.UNKNOWN_NODE : Route.FALLBACK).ordinal();
        fanout[i] = addToAll(byShard, live, e);
      } else if (owners.isEmpty()) {
        routes[i] = (byte) Route.UNDELIVERABLE.ordinal();
      } else {
        routes[i] = (byte) Route.TARGETED.ordinal();
        owners.addAll(unregisteredShards);
        for (String shard : owners) {
          byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(e);
        }
        fanout[i] = owners.size();
      }
    }
    return new RoutingPlan(byShard, fanout, routes);
  }

  /**
   * A channel message's route: {@link Route#CHANNEL} to the live shards with subscribers (collected in {@code owners}),
   * {@link Route#UNDELIVERABLE} when a complete registry knows none, else a fallback to every shard.
   */
  private static Route routeByInterest(Envelope e, RegistryLookup lookup, ShardDirectory directory,
                                       boolean offlineIsKnown, Set<String> owners) {
    if (lookup == null) {
      return Route.FALLBACK;
    }
    Collection<String> shards = lookup.shardsOf(ChannelName.interestKey(e.channel()));
    if (shards != null) {
      for (String shard : shards) {
        if (directory.isLive(shard)) {
          owners.add(shard);
        }
      }
    }
    if (!owners.isEmpty()) {
      return Route.CHANNEL;
    }
    if (offlineIsKnown) {
      return Route.UNDELIVERABLE;
    }
    return shards != null && shards.stream().anyMatch(directory::isOnUnknownNode) ? Route.UNKNOWN_NODE : Route.FALLBACK;
  }

  private static int addToAll(Map<String, List<Envelope>> byShard, List<String> live, Envelope e) {
    for (String shard : live) {
      byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(e);
    }
    return live.size();
  }
}
