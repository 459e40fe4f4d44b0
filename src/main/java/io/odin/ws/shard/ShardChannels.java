package io.odin.ws.shard;

import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.Streams;
import io.odin.ws.protocol.ChannelName;
import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The channels one shard has subscribers of: for each, its stream order at this shard ({@link StreamOrder}), its
 * subscribers (each channel message is encoded once and written to every one of them), and the state of its interest
 * registration (the registry entry that makes dispatchers route the channel's messages here). A channel is known here
 * from its first subscribe until its last subscriber left and no subscription waits for its registration; then it is
 * {@link #forget forgotten} and its entry unregistered. Plain state, confined to the shard's event loop; the
 * iteration does not copy, so its actions must not subscribe or unsubscribe (closing a socket is fine: its
 * subscriptions end later, in its close handler).
 */
final class ShardChannels {

  /** One channel at this shard. */
  static final class State {
    final String name;
    final String stream;
    final String interestKey;
    final StreamOrder order;
    final ArrayList<ClientConnection> subscribers = new ArrayList<>(4);
    /** Subscriptions waiting for the interest registration below. */
    int pending;
    /** The interest registration in flight, or null. */
    Future<Registered> registration;
    /** The interest is registered: dispatchers route the channel's messages here. */
    boolean registered;

    State(String name) {
      this.name = name;
      this.stream = Streams.channel(name);
      this.interestKey = ChannelName.interestKey(name);
      this.order = new StreamOrder(stream, null, name);
    }

    /** Nobody here receives the channel or waits to: its entry can go. */
    boolean idle() {
      return subscribers.isEmpty() && pending == 0;
    }
  }

  private final HashMap<String, State> byName = new HashMap<>();
  private long subscriptions;

  State get(String name) {
    return byName.get(name);
  }

  /** The channel's state, created (not registered yet) when it has none. */
  State open(String name) {
    return byName.computeIfAbsent(name, State::new);
  }

  /**
   * Adds {@code c} as a subscriber from where the channel's stream stands at this shard (everything after it will be
   * handed to it). {@code registered}: the interest registration's answer when this join waited for it, whose position
   * the stream moves on to when nobody here received it yet; null when the channel was already registered here.
   */
  void join(State st, ClientConnection c, Registered registered) {
    if (registered != null && st.subscribers.isEmpty()) {
      st.order.advanceTo(registered.token());
    }
    StreamPosition p = st.order.last();
    if (c.subs == null) {
      c.subs = new Subscriptions();
    }
    c.subs.add(st.name, st.stream, p.epoch(), p.seq(), st.subscribers.size());
    st.subscribers.add(c);
    subscriptions++;
  }

  /** Removes subscription {@code entry} of {@code c} (a subscriber of {@code st}). */
  void leave(State st, ClientConnection c, int entry) {
    int slot = c.subs.slot(entry);
    ArrayList<ClientConnection> subs = st.subscribers;
    ClientConnection last = subs.remove(subs.size() - 1);
    if (last != c) {
      subs.set(slot, last);
      last.subs.slot(last.subs.indexOfStream(st.stream), slot);
    }
    c.subs.removeAt(entry);
    subscriptions--;
  }

  /** Forgets an idle channel: its stream order goes with it. */
  void forget(State st) {
    byName.remove(st.name, st);
  }

  /** Calls {@code action(subscriber, arg)} for every subscriber of {@code st}; returns how many there were. */
  <T> int forEach(State st, T arg, BiConsumer<ClientConnection, T> action) {
    ArrayList<ClientConnection> subs = st.subscribers;
    int n = subs.size();
    for (int i = 0; i < n; i++) {
      action.accept(subs.get(i), arg);
    }
    return n;
  }

  /** The interest keys this shard has registered or is registering (a registry re-sync lists them with the tokens). */
  List<String> interestKeys() {
    List<String> keys = new ArrayList<>(byName.size());
    for (State st : byName.values()) {
      keys.add(st.interestKey);
    }
    return keys;
  }

  /** Subscribers per channel that has any here (the counts a registry re-sync re-asserts). */
  Map<String, Integer> counts() {
    Map<String, Integer> out = new HashMap<>(byName.size() * 2);
    for (State st : byName.values()) {
      if (!st.subscribers.isEmpty()) {
        out.put(st.name, st.subscribers.size());
      }
    }
    return out;
  }

  /** Channels known here. */
  int size() {
    return byName.size();
  }

  /** Subscriptions of this shard's connections. */
  long subscriptions() {
    return subscriptions;
  }

  Iterable<State> all() {
    return byName.values();
  }
}
