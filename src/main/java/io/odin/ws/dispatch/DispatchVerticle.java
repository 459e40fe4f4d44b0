package io.odin.ws.dispatch;

import io.odin.ws.node.DispatchSetting;
import io.odin.ws.node.NodeContext;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.cluster.NodeBatch;
import io.odin.ws.registry.ShardDirectory;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DispatchType;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.shard.ShardBatch;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.odin.ws.logging.RateLimitedLog;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Routes batches of envelopes to the shards that hold their tokens: one registry lookup per batch, then one
 * event-bus message per local shard and one per other node (its relay splits it) per batch. Lookups of consecutive batches may overlap, but batches are handed to
 * the shards strictly in arrival order, so a token's messages keep their order.
 */
public final class DispatchVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(DispatchVerticle.class);

  private final NodeContext node;
  private final int index;
  private final GatewayMetrics metrics;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private final RateLimitedLog unreachableLog = new RateLimitedLog(log, 10_000);
  private final RateLimitedLog unstoredLog = new RateLimitedLog(log, 10_000);
  private MessageConsumer<DispatchBatch> consumer;
  private DeliveryOptions relayOptions;

  public DispatchVerticle(NodeContext node, int index) {
    this.node = node;
    this.index = index;
    this.metrics = node.metrics();
  }

  @Override
  public Future<?> start() {
    relayOptions = new DeliveryOptions().setSendTimeout(node.config().getInt(DispatchSettings.HANDOFF_TIMEOUT_MS));
    consumer = vertx.eventBus().localConsumer(NodeContext.dispatcherAddress(index), this::onBatch);
    return consumer.completion();
  }

  /**
   * After the node's Kafka consumers stopped (Vert.x undeploys a node's verticles together): a consumer that still
   * polled while the dispatchers were gone had its records refused ("No handlers for address odin.dispatch.0"),
   * counted as dropped, and read again by the next owner of the partition only because nothing after them was
   * committed. Bounded: a consumer that does not close within the handoff timeout does not hold the node's stop.
   */
  @Override
  public Future<?> stop() {
    Promise<Void> feeders = Promise.promise();
    long bound = vertx.setTimer(Math.max(5_000, relayOptions.getSendTimeout()), id -> feeders.tryComplete());
    node.feedersStopped().onComplete(ar -> {
      vertx.cancelTimer(bound);
      feeders.tryComplete();
    });
    return feeders.future().compose(v -> consumer.unregister());
  }

  private void onBatch(Message<DispatchBatch> message) {
    long receivedAt = System.nanoTime();
    if (message.body().sentAtNanos() != 0) {
      metrics.ingestStage(GatewayMetrics.IngestStage.DISPATCH, receivedAt - message.body().sentAtNanos());
    }
    List<Envelope> envelopes = message.body().envelopes();
    // the rollout setting is read once per batch: a change takes effect at a batch boundary, and the batch is
    // looked up and planned under the same setting. Every path goes through the same ordered hand-over below.
    Pending p = new Pending(message, envelopes, node.dispatchControl().current());
    pending.add(p);
    Set<String> tokens = RoutingPlanner.tokensToLookUp(envelopes, p.setting);
    // every message is stored before any shard is handed it, in the lookup's round trip (docs/protocol.md)
    List<Envelope> toStore = node.registry().history().enabled() ? envelopes : null;
    if (tokens.isEmpty() && toStore == null) {
      p.complete(null, false);
    } else {
      node.registry().lookup(tokens, toStore).onComplete(ar -> {
        metrics.ingestStage(GatewayMetrics.IngestStage.LOOKUP, System.nanoTime() - receivedAt);
        if (ar.failed()) {
          log.debug("registry lookup failed, falling back to all shards: {}", ar.cause().toString());
        }
        if (toStore != null) {
          countUnstored(toStore);
          p.dropStoredBefore();
        }
        p.complete(ar.succeeded() ? ar.result() : null, ar.failed());
      });
    }
    drain();
  }

  /**
   * Messages that go out without a place in the history, or (Redis Cluster, one master down) without a place in one of
   * their streams: a client that misses them cannot recover.
   */
  private void countUnstored(List<Envelope> envelopes) {
    int unstored = 0;
    for (Envelope e : envelopes) {
      if (!e.storedEverywhere()) {
        unstored++;
      }
    }
    if (unstored > 0) {
      metrics.history().unstored(unstored);
      unstoredLog.warn("unstored", "{} messages dispatched without being stored in the history (Redis down or slow):"
        + " clients that miss them get recovered:false", unstored);
    }
  }

  /** Hands over every batch at the head of the queue whose lookup is done. */
  private void drain() {
    Pending head;
    while ((head = pending.peek()) != null && head.done) {
      pending.poll();
      handOver(head);
    }
  }

  private void handOver(Pending p) {
    RoutingPlan plan;
    try {
      plan = RoutingPlanner.plan(p.envelopes, p.lookup, node.directory(), p.setting);
    } catch (RuntimeException e) {
      log.error("routing failed for a batch of {} messages", p.envelopes.size(), e);
      // the producer counts them as dispatch_failed (HTTP 503; Kafka reads them again)
      p.message.fail(500, "routing failed: " + e);
      return;
    }
    EventBus bus = vertx.eventBus();
    ShardDirectory directory = node.directory();
    long sentAt = System.nanoTime();
    metrics.ingestStage(GatewayMetrics.IngestStage.HANDOVER, sentAt - p.doneAtNanos);
    Map<String, Map<String, List<Envelope>>> remote = null;
    for (Map.Entry<String, List<Envelope>> e : plan.byShard().entrySet()) {
      String shard = e.getKey();
      String owner = directory.nodeOf(shard);
      if (owner == null) {
        // the shard stopped between planning and sending: its clients are reconnecting elsewhere
        metrics.dropped(GatewayMetrics.DropReason.NO_CONNECTION, e.getValue().size());
      } else if (owner.equals(directory.localNode())) {
        bus.send(shard, new ShardBatch(e.getValue(), sentAt));
      } else {
        // one message per other node, whatever the number of its shards this batch touches
        if (remote == null) {
          remote = new HashMap<>();
        }
        remote.computeIfAbsent(owner, n -> new HashMap<>()).put(shard, e.getValue());
      }
    }
    if (remote != null) {
      for (Map.Entry<String, Map<String, List<Envelope>>> e : remote.entrySet()) {
        int messages = 0;
        for (List<Envelope> l : e.getValue().values()) {
          messages += l.size();
        }
        int lost = messages;
        String owner = e.getKey();
        // the relay confirms each batch; without that (node gone, partitioned, too slow) the loss is counted
        bus.request(NodeContext.relayAddress(owner), new NodeBatch(e.getValue()), relayOptions).onFailure(t -> {
          metrics.dropped(GatewayMetrics.DropReason.NODE_UNREACHABLE, lost);
          unreachableLog.warn(owner, "batch of {} messages for node {} not confirmed: {}", lost, owner, t.toString());
        });
      }
    }
    metrics.batch(plan.size());
    metrics.dispatched(DispatchType.TARGETED, plan.targeted());
    metrics.dispatched(DispatchType.BROADCAST, plan.broadcast());
    metrics.dispatched(DispatchType.FALLBACK, plan.fallback());
    metrics.dispatched(DispatchType.UNKNOWN_NODE, plan.unknownNode());
    metrics.dispatched(DispatchType.CHANNEL, plan.channel());
    metrics.dropped(GatewayMetrics.DropReason.NO_CONNECTION, plan.undeliverable());
    int[] fanout = plan.fanout();
    for (int i = 0; i < fanout.length; i++) {
      int f = fanout[i];
      if (f > 0) {
        metrics.fanout(f);
      }
      if (p.envelopes.get(i).isChannelMessage()) {
        metrics.channels().published(f);
      }
      DispatchPath path = p.envelopes.get(i).path();
      if (path != null) {
        metrics.pathDispatched(path, f);
        if (f == 0) {
          metrics.pathDropped(path, GatewayMetrics.DropReason.NO_CONNECTION, 1);
        }
      }
    }
    p.message.reply(plan);
  }

  private final class Pending {
    final Message<DispatchBatch> message;
    List<Envelope> envelopes;
    final DispatchSetting setting;
    RegistryLookup lookup;
    boolean done;
    long doneAtNanos;

    Pending(Message<DispatchBatch> message, List<Envelope> envelopes, DispatchSetting setting) {
      this.message = message;
      this.envelopes = envelopes;
      this.setting = setting;
    }

    /**
     * Leaves out the Kafka records the history had already (read again after a rebalance or a crash): their first
     * copy went to the shards, or the shards that miss it read it from the history.
     */
    void dropStoredBefore() {
      int again = 0;
      for (Envelope e : envelopes) {
        if (e.storedBefore()) {
          again++;
        }
      }
      if (again > 0) {
        metrics.kafkaRedelivered(again);
        List<Envelope> kept = new ArrayList<>(envelopes.size() - again);
        for (Envelope e : envelopes) {
          if (!e.storedBefore()) {
            kept.add(e);
          }
        }
        envelopes = kept;
      }
    }

    void complete(RegistryLookup result, boolean failed) {
      lookup = failed ? null : result;
      done = true;
      doneAtNanos = System.nanoTime();
      drain();
    }
  }
}
