package io.odin.ws.dispatch;

import io.odin.ws.node.NodeContext;
import io.odin.ws.node.DispatchControl;
import io.odin.ws.node.DispatchSetting;
import io.odin.ws.cluster.ClusterSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads the dispatch setting over the cluster. A change ({@code PUT /api/dispatch} on any node) is published on
 * {@value #UPDATE_ADDRESS}; every node keeps the newest version it has seen ({@link DispatchControl#offer}) and its
 * dispatchers apply it at their next batch. A node that starts asks one member for the cluster's setting on
 * {@value #CURRENT_ADDRESS} before it takes traffic (three tries of 5 s when members are slow to answer: seen
 * on a starved machine), and every node re-publishes its setting every
 * {@code cluster.announceIntervalMs}, so a node that missed a change (joining while it was made) converges.
 */
public final class DispatchSettingVerticle extends VerticleBase {

  public static final String UPDATE_ADDRESS = "odin.dispatch.setting";
  public static final String CURRENT_ADDRESS = "odin.dispatch.setting.current";

  private static final Logger log = LoggerFactory.getLogger(DispatchSettingVerticle.class);
  private static final DeliveryOptions ASK_TIMEOUT = new DeliveryOptions().setSendTimeout(5_000);
  private static final int ASK_ATTEMPTS = 3;

  private final NodeContext node;
  private MessageConsumer<JsonObject> updates;
  private MessageConsumer<JsonObject> current;
  private long timer = -1;

  public DispatchSettingVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    DispatchControl control = node.dispatchControl();
    updates = vertx.eventBus().consumer(UPDATE_ADDRESS, this::onUpdate);
    Future<?> joined = updates.completion();
    if (vertx.isClustered()) {
      // ask before answering: this node's own consumer of CURRENT_ADDRESS is not registered yet, so the request
      // goes to another member, if there is one
      joined = joined
        .compose(v -> askCluster(ASK_ATTEMPTS))
        .map(reply -> {
          DispatchSetting theirs = DispatchSetting.fromJson(reply.body());
          DispatchSetting now = control.offer(theirs);
          log.info("dispatch setting of the cluster on join: {}", now);
          return null;
        })
        .recover(t -> {
          log.info("no other member answered with a dispatch setting ({}): keeping {}", t.getMessage(), control.current());
          return Future.succeededFuture();
        })
        .compose(v -> {
          current = vertx.eventBus().consumer(CURRENT_ADDRESS, m -> m.reply(control.current().toJson()));
          return current.completion();
        });
      int interval = node.config().getInt(ClusterSettings.ANNOUNCE_INTERVAL_MS);
      timer = vertx.setPeriodic(interval, id -> {
        if (control.current().version() > 0) {
          publish(vertx.eventBus(), control.current());
        }
      });
    }
    return joined;
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return current == null ? updates.unregister() : Future.join(updates.unregister(), current.unregister());
  }

  /**
   * One member's setting. A member that does not answer in time is asked again (a first event-bus connection to
   * a busy node can take seconds); with no member at all the request fails at once (no handlers).
   */
  private Future<Message<JsonObject>> askCluster(int attempts) {
    return vertx.eventBus().<JsonObject>request(CURRENT_ADDRESS, null, ASK_TIMEOUT)
      .recover(t -> attempts > 1 && t instanceof ReplyException r && r.failureType() == ReplyFailure.TIMEOUT
        ? askCluster(attempts - 1)
        : Future.failedFuture(t));
  }

  private void onUpdate(Message<JsonObject> message) {
    try {
      node.dispatchControl().offer(DispatchSetting.fromJson(message.body()));
    } catch (RuntimeException e) {
      log.warn("ignored a malformed dispatch setting {}: {}", message.body(), e.getMessage());
    }
  }

  /** Sends {@code setting} to every node of the cluster (this one included). */
  public static void publish(io.vertx.core.eventbus.EventBus bus, DispatchSetting setting) {
    bus.publish(UPDATE_ADDRESS, setting.toJson());
  }
}
