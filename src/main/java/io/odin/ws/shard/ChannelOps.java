package io.odin.ws.shard;

import io.odin.ws.auth.ChannelAccess;
import io.odin.ws.history.Registered;
import io.odin.ws.metrics.ChannelMetrics;
import io.odin.ws.metrics.ChannelMetrics.SubscribeResult;
import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;
import io.odin.ws.registry.ConnectionRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A shard's channel subscriptions: the subscribe and unsubscribe ops of its connections (limits, who may join what,
 * answers), the channels' interest registrations (a channel's first subscriber here registers it and learns where its
 * stream stood; its last one leaving unregisters it), the subscriber counts the registry keeps for
 * {@code GET /api/channels/{name}}, and the join and leave events of the namespaces that ask for them. The state is
 * {@link ShardChannels}'; the answers go out through the shard's write path ({@link Answers}), which puts the
 * connection's cursor in them. Confined to the shard's event loop.
 */
final class ChannelOps {

  private static final Logger log = LoggerFactory.getLogger(ChannelOps.class);

  /** Writes a {@code subscribed} or {@code unsubscribed} answer, with the connection's cursor, in its order. */
  interface Answers {
    void answer(ClientConnection c, String type, String channel);
  }

  private final ShardSettings settings;
  private final ShardChannels channels;
  private final ConnectionRegistry registry;
  private final String address;
  private final ChannelMetrics channelMetrics;
  private final ChannelAccess channelAccess;
  private final Function<List<Envelope>, Future<?>> publisher;
  private final Vertx vertx;
  private final ContextInternal ctx;
  private final Answers answers;
  private List<Envelope> presenceEvents;
  private boolean stopping;

  ChannelOps(ShardSettings settings, ShardChannels channels, ConnectionRegistry registry, String address,
             ChannelMetrics channelMetrics, ChannelAccess channelAccess, Function<List<Envelope>, Future<?>> publisher,
             ContextInternal ctx, Answers answers) {
    this.settings = settings;
    this.channels = channels;
    this.registry = registry;
    this.address = address;
    this.channelMetrics = channelMetrics;
    this.channelAccess = channelAccess;
    this.publisher = publisher;
    this.vertx = ctx.owner();
    this.ctx = ctx;
    this.answers = answers;
  }

  /** The shard stops: its entries go with its clean-up, no event is sent any more. */
  void stopping() {
    stopping = true;
  }

  /**
   * The channel's interest registration: done (null: it was registered here already), or in flight. Never fails (a
   * registry that gives up answers {@link Registered#UNKNOWN}).
   */
  Future<Registered> interest(ShardChannels.State st) {
    if (st.registered) {
      return Future.succeededFuture(null);
    }
    Future<Registered> f = st.registration;
    if (f == null) {
      channelMetrics.interest(1);
      f = registry.register(st.interestKey, address);
      st.registration = f;
      // (at once when the registry answers at once)
      f.onComplete(ar -> {
        st.registration = null;
        st.registered = true;
      });
    }
    return f;
  }

  /** A subscribe op: answered {@code subscribed} once the connection receives the channel, or an error now. */
  byte[] subscribe(ClientConnection c, String name) {
    if (c.subs != null && c.subs.indexOf(name) >= 0) {
      // already subscribed: the same answer again
      answers.answer(c, "subscribed", name);
      return null;
    }
    if (c.pendingChannels != null && c.pendingChannels.contains(name)) {
      // answered once its registration is done
      return null;
    }
    int held = (c.subs == null ? 0 : c.subs.size()) + (c.pendingChannels == null ? 0 : c.pendingChannels.size());
    if (held >= settings.maxSubscriptions) {
      channelMetrics.subscribe(SubscribeResult.TOO_MANY);
      return ClientOps.channelError("subscribe", name, settings.maxSubscriptions == 0
        ? "subscriptions are off (ws.maxSubscriptionsPerConnection is 0)"
        : "too many subscriptions: at most " + settings.maxSubscriptions + " per connection (ws.maxSubscriptionsPerConnection)");
    }
    String refusal = channelAccess.refusal(name, c.grants);
    if (refusal != null) {
      channelMetrics.subscribe(ChannelName.isValid(name) ? SubscribeResult.REFUSED : SubscribeResult.INVALID);
      return ClientOps.channelError("subscribe", name, refusal);
    }
    ShardChannels.State st = channels.open(name);
    if (st.registered) {
      channels.join(st, c, null);
      subscribed(c, st);
      answers.answer(c, "subscribed", name);
      return null;
    }
    if (c.pendingChannels == null) {
      c.pendingChannels = new ArrayList<>(2);
    }
    c.pendingChannels.add(name);
    st.pending++;
    interest(st).onComplete(ar -> {
      st.pending--;
      boolean wanted = c.pendingChannels != null && c.pendingChannels.remove(name);
      if (wanted && !c.closing && c.slot() >= 0 && !stopping) {
        channels.join(st, c, ar.result());
        subscribed(c, st);
        answers.answer(c, "subscribed", name);
      } else {
        releaseIfIdle(st);
      }
    });
    return null;
  }

  /** {@code c} just joined {@code st}: counted, and announced when its namespace has join events. */
  void subscribed(ClientConnection c, ShardChannels.State st) {
    channelMetrics.subscribe(SubscribeResult.SUBSCRIBED);
    registry.subscribers(st.name, address, st.subscribers.size());
    presence(st.name, "join", c.token);
  }

  /** An unsubscribe op: answered {@code unsubscribed}; nothing of the channel reaches the connection after it. */
  byte[] unsubscribe(ClientConnection c, String name) {
    if (c.pendingChannels != null && c.pendingChannels.remove(name)) {
      answers.answer(c, "unsubscribed", name);
      return null;
    }
    int entry = c.subs == null ? -1 : c.subs.indexOf(name);
    if (entry < 0) {
      return ClientOps.channelError("unsubscribe", name, "not subscribed");
    }
    leave(c, entry);
    answers.answer(c, "unsubscribed", name);
    return null;
  }

  /** Ends subscription {@code entry} of {@code c}. */
  private void leave(ClientConnection c, int entry) {
    ShardChannels.State st = channels.get(c.subs.channel(entry));
    channels.leave(st, c, entry);
    channelMetrics.unsubscribed();
    if (!stopping) {
      registry.subscribers(st.name, address, st.subscribers.size());
    }
    presence(st.name, "leave", c.token);
    releaseIfIdle(st);
  }

  /** Ends every subscription of a connection that is gone, with leave events where its joins had them. */
  void leaveAll(ClientConnection c) {
    c.pendingChannels = null;
    if (c.subs != null) {
      for (int i = c.subs.size() - 1; i >= 0; i--) {
        leave(c, i);
      }
    }
  }

  /** A channel nobody here receives or waits for any more: its entry goes from the registry, its state from here. */
  void releaseIfIdle(ShardChannels.State st) {
    if (!st.idle() || channels.get(st.name) != st) {
      return;
    }
    channels.forget(st);
    if (st.order.timer >= 0) {
      vertx.cancelTimer(st.order.timer);
    }
    channelMetrics.interest(-1);
    if (!stopping) {
      registry.unregister(st.interestKey, address);
    }
  }

  /** A join or leave event for {@code channel}'s subscribers, when its namespace asks for them; sent at the turn's end. */
  private void presence(String channel, String type, String token) {
    if (stopping || !settings.joinLeaveNamespaces.contains(ChannelName.namespace(channel))) {
      return;
    }
    // a token needs no escaping in JSON
    byte[] data = ("{\"token\":\"" + token + "\"}").getBytes(StandardCharsets.US_ASCII);
    Envelope e = new Envelope(type, null, channel, FrameEncoder.message(type, channel, data, 0, data.length), false,
      System.currentTimeMillis());
    if (presenceEvents == null) {
      presenceEvents = new ArrayList<>();
      ctx.runOnContext(v -> {
        List<Envelope> events = presenceEvents;
        presenceEvents = null;
        publisher.apply(events).onFailure(t ->
          log.debug("shard {}: {} join/leave events not dispatched: {}", address, events.size(), t.toString()));
      });
    }
    presenceEvents.add(e);
    channelMetrics.presenceEvent();
  }
}
