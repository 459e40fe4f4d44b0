package io.odin.ws.cluster;

import io.odin.ws.node.NodeContext;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.shard.ShardBatch;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.List;
import java.util.Map;

/**
 * Takes the {@link NodeBatch}es other nodes' dispatchers route here and hands each local shard its part.
 * One consumer, so the order in which a dispatcher sent batches is the order the shards get them.
 * A part for a shard that is no longer live here is dropped: the registry entry that led to it was stale,
 * and the dispatcher's node learns of the change from this node's next announcement.
 */
public final class NodeRelayVerticle extends VerticleBase {

  private final NodeContext node;
  private MessageConsumer<NodeBatch> consumer;

  public NodeRelayVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().consumer(NodeContext.relayAddress(node.nodeId()), this::onBatch);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return consumer.unregister();
  }

  private void onBatch(Message<NodeBatch> message) {
    EventBus bus = vertx.eventBus();
    for (Map.Entry<String, List<Envelope>> e : message.body().byShard().entrySet()) {
      if (node.directory().isLocal(e.getKey())) {
        bus.send(e.getKey(), new ShardBatch(e.getValue()));
      } else {
        node.metrics().dropped(GatewayMetrics.DropReason.NO_CONNECTION, e.getValue().size());
      }
    }
    // the sending dispatcher counts a batch no relay confirmed as node_unreachable
    message.reply(null);
  }
}
