package io.odin.ws.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Meters of channels (docs/observability.md), none labelled by channel: a node with a million channels has as many
 * series as one with none. Registered up front so a scrape shows them at zero.
 */
public final class ChannelMetrics {

  /**
   * How a subscribe op (or a channel of a handshake) ended: {@code SUBSCRIBED}, or why not: {@code REFUSED} not
   * allowed, {@code INVALID} not a channel name, {@code TOO_MANY} over ws.maxSubscriptionsPerConnection.
   */
  public enum SubscribeResult { SUBSCRIBED, REFUSED, INVALID, TOO_MANY }

  private final Counter publishes;
  private final Counter deliveries;
  private final DistributionSummary fanoutShards;
  private final DistributionSummary fanoutDeliveries;
  private final Map<SubscribeResult, Counter> subscribes = new EnumMap<>(SubscribeResult.class);
  private final Counter unsubscribes;
  private final Counter presenceEvents;
  private final AtomicLong subscriptions = new AtomicLong();
  private final AtomicLong interestEntries = new AtomicLong();

  ChannelMetrics(MeterRegistry registry) {
    publishes = Counter.builder("odin.channel.publishes")
      .description("Channel messages dispatched by this node (to the shards with subscribers, or to none)").register(registry);
    deliveries = Counter.builder("odin.channel.deliveries")
      .description("Channel messages written to subscribers' sockets on this node").register(registry);
    fanoutShards = DistributionSummary.builder("odin.channel.fanout.shards")
      .description("Shards a channel message was sent to (only those with subscribers; 0: none anywhere)").register(registry);
    fanoutDeliveries = DistributionSummary.builder("odin.channel.fanout.deliveries")
      .description("Subscribers one shard wrote a channel message to").register(registry);
    for (SubscribeResult r : SubscribeResult.values()) {
      subscribes.put(r, Counter.builder("odin.channel.subscribes").tag("result", r.name().toLowerCase(Locale.ROOT))
        .description("Subscriptions asked for (subscribe ops and channels of handshakes), by result").register(registry));
    }
    unsubscribes = Counter.builder("odin.channel.unsubscribes")
      .description("Subscriptions ended (unsubscribe ops and closed connections)").register(registry);
    presenceEvents = Counter.builder("odin.channel.presence.events")
      .description("join and leave events published (namespaces in channels.joinLeaveNamespaces)").register(registry);
    Gauge.builder("odin.channel.subscriptions", subscriptions, AtomicLong::get)
      .description("Channel subscriptions of this node's connections").register(registry);
    Gauge.builder("odin.channel.interest.entries", interestEntries, AtomicLong::get)
      .description("Interest-registry entries of this node: (channel, shard) pairs with at least one subscriber")
      .register(registry);
  }

  /** One channel message dispatched to {@code shards} shards. */
  public void published(int shards) {
    publishes.increment();
    fanoutShards.record(shards);
  }

  public double publishesCount() {
    return publishes.count();
  }

  /** A shard wrote one channel message to {@code subscribers} sockets. */
  public void delivered(long subscribers) {
    deliveries.increment(subscribers);
    fanoutDeliveries.record(subscribers);
  }

  public double deliveriesCount() {
    return deliveries.count();
  }

  public void subscribe(SubscribeResult result) {
    subscribes.get(result).increment();
    if (result == SubscribeResult.SUBSCRIBED) {
      subscriptions.incrementAndGet();
    }
  }

  public double subscribes(SubscribeResult result) {
    return subscribes.get(result).count();
  }

  public void unsubscribed() {
    unsubscribes.increment();
    subscriptions.decrementAndGet();
  }

  public long subscriptions() {
    return subscriptions.get();
  }

  /** A shard registered ({@code +1}) or dropped ({@code -1}) its interest in a channel. */
  public void interest(int delta) {
    interestEntries.addAndGet(delta);
  }

  public long interestEntries() {
    return interestEntries.get();
  }

  public void presenceEvent() {
    presenceEvents.increment();
  }
}
