package io.odin.ws.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;
import io.odin.ws.node.NodeContext;
import io.odin.ws.registry.ShardDirectory;
import io.odin.ws.node.ClusterStats;
import io.odin.ws.status.NodeStats;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Keeps every node's {@link ShardDirectory} in step with the cluster. Each node announces its live shards on
 * {@value #ANNOUNCE_ADDRESS} when they change, when another node appears, and every
 * {@code cluster.announceIntervalMs}. When Hazelcast reports a member gone (crash or leave), its shards are
 * removed at once, so dispatch stops routing to them and ignores their registry entries; the oldest member
 * then cleans those entries from the registry. No state per connection is kept in the cluster.
 * <p>
 * A member that was cut off (a long pause, a network split) comes back through Hazelcast's merge under a new
 * member uuid: announcements always carry the current uuid, and a merged node says hello at once, so every node
 * routes to it again as soon as the merge is done.
 */
public final class ClusterVerticle extends VerticleBase {

  public static final String ANNOUNCE_ADDRESS = "odin.cluster.directory";
  /** How often this node checks whether its registry entries became complete or incomplete (a volatile read). */
  static final long REGISTRY_WATCH_MS = 100;

  private static final Logger log = LoggerFactory.getLogger(ClusterVerticle.class);
  private static final io.vertx.core.eventbus.DeliveryOptions STATS_TIMEOUT =
    new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(1_000);

  private final NodeContext node;
  private final ClusterSettings settings;
  /** Hazelcast member uuid to odin node id, for the members that announced themselves. */
  private final Map<String, String> nodeByMember = new HashMap<>();
  /** Other members whose last announcement said they know this node's shards (they route to them). */
  private final Set<String> knownBy = new HashSet<>();
  /** Completed once every other member knows this node's shards: start() waits for it (see {@link #knownByTheCluster}). */
  private final Promise<Void> known = Promise.promise();
  private HazelcastInstance hazelcast;
  private UUID listenerId;
  private UUID lifecycleListenerId;
  private MessageConsumer<JsonObject> consumer;
  private MessageConsumer<JsonObject> statsConsumer;
  private long timer = -1;
  private long registryWatch = -1;
  private boolean registryComplete = true;
  /** This node's unstored batches as last announced. */
  private long unstored;
  /** The Redis Cluster slots where this node's entries may be missing, as last announced. */
  private String incompleteSlots = "";
  private boolean stopping;

  public ClusterVerticle(NodeContext node) {
    this.node = node;
    this.settings = new ClusterSettings(node.config());
  }

  @Override
  public Future<?> start() {
    hazelcast = ((HazelcastClusterManager) ((VertxInternal) vertx).clusterManager()).getHazelcastInstance();
    Context context = vertx.getOrCreateContext();
    listenerId = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        // the newcomer says hello once its shards listen; tell it ours now rather than at the next interval
        context.runOnContext(v -> announce(false));
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        String member = event.getMember().getUuid().toString();
        context.runOnContext(v -> onMemberLeft(member));
      }
    });
    lifecycleListenerId = hazelcast.getLifecycleService().addLifecycleListener(event -> {
      if (event.getState() == LifecycleEvent.LifecycleState.MERGED) {
        context.runOnContext(v -> {
          log.warn("node {} merged back into the cluster as member {} ({} members): announcing its shards",
            node.nodeId(), localMember(), hazelcast.getCluster().getMembers().size());
          announce(true);
        });
      }
    });
    node.directory().onLocalChange(() -> context.runOnContext(v -> announce(false)));
    node.dependency("cluster", this::health);
    consumer = vertx.eventBus().consumer(ANNOUNCE_ADDRESS, this::onAnnouncement);
    // the status page of any node shows every node: each answers for itself
    statsConsumer = vertx.eventBus().consumer(statsAddress(node.nodeId()), m -> m.reply(NodeStats.snapshot(node)));
    node.clusterStats(this::clusterStats);
    timer = vertx.setPeriodic(settings.announceIntervalMs, id -> announce(false));
    // other nodes take unknown tokens as offline only while this node's entries are complete: tell them at once
    // and at once when this node sent messages it could not store: the others then give their streams new epochs
    registryComplete = node.registry().complete();
    unstored = node.registry().unstored();
    incompleteSlots = node.registry().incompleteSlots();
    registryWatch = vertx.setPeriodic(REGISTRY_WATCH_MS, id -> {
      boolean complete = node.registry().complete();
      long unstoredNow = node.registry().unstored();
      String slots = node.registry().incompleteSlots();
      if (complete != registryComplete || unstoredNow != unstored || !slots.equals(incompleteSlots)) {
        registryComplete = complete;
        unstored = unstoredNow;
        incompleteSlots = slots;
        announce(false);
      }
    });
    return Future.all(consumer.completion(), statsConsumer.completion()).compose(v -> {
      announce(true);
      return knownByTheCluster();
    }).onSuccess(v -> log.info("node {} joined the cluster as member {} ({} members)", node.nodeId(), localMember(),
        hazelcast.getCluster().getMembers().size()));
  }

  /**
   * Completes once every other member said it knows this node's shards, or after a few announce intervals (a member
   * that does not answer is being dropped by the cluster anyway). The node takes clients only after that
   * ({@code NodeContext.started()}): its shards listen before, and a client connected while the others did not know
   * them yet missed every broadcast and every targeted message they dispatched (soak: a broadcast lost at clients
   * that had just reconnected to a restarting node).
   */
  private Future<Void> knownByTheCluster() {
    long deadline = System.currentTimeMillis() + Math.max(10_000, 3L * settings.announceIntervalMs);
    checkKnown();
    long watch = vertx.setPeriodic(REGISTRY_WATCH_MS, id -> {
      checkKnown();
      if (!known.future().isComplete() && System.currentTimeMillis() > deadline) {
        log.warn("node {}: not every member said it knows this node's shards (known by {} of {} others): taking clients"
          + " anyway", node.nodeId(), knownBy.size(), hazelcast.getCluster().getMembers().size() - 1);
        known.tryComplete();
      }
    });
    return known.future().onComplete(ar -> vertx.cancelTimer(watch));
  }

  private void checkKnown() {
    if (known.future().isComplete()) {
      return;
    }
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (!m.localMember() && !knownBy.contains(m.getUuid().toString())) {
        return;
      }
    }
    known.tryComplete();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    vertx.cancelTimer(registryWatch);
    // tell the others right away that this node's shards are gone, before Hazelcast reports the departure
    publish(List.of(), false);
    hazelcast.getCluster().removeMembershipListener(listenerId);
    hazelcast.getLifecycleService().removeLifecycleListener(lifecycleListenerId);
    node.clusterStats(ClusterStats.THIS_NODE_ONLY);
    return Future.all(consumer.unregister(), statsConsumer.unregister());
  }

  static String statsAddress(String nodeId) {
    return "odin.cluster.stats." + nodeId;
  }

  /** This node's stats and every other node's, asked in parallel; a node that does not answer is unreachable. */
  private Future<List<JsonObject>> clusterStats(JsonObject self) {
    List<Future<JsonObject>> others = new ArrayList<>();
    for (String other : node.directory().byNode().keySet()) {
      if (!other.equals(node.nodeId())) {
        others.add(vertx.eventBus().<JsonObject>request(statsAddress(other), null, STATS_TIMEOUT)
          .map(reply -> reply.body().put("reachable", true))
          .otherwise(t -> new JsonObject().put("node", other).put("reachable", false)));
      }
    }
    return Future.join(others).transform(ar -> {
      List<JsonObject> all = new ArrayList<>();
      all.add(self.put("reachable", true));
      others.forEach(f -> all.add(f.result()));
      return Future.succeededFuture(all);
    });
  }

  private void announce(boolean hello) {
    if (!stopping) {
      publish(node.directory().local(), hello);
    }
  }

  private void publish(List<String> shards, boolean hello) {
    vertx.eventBus().publish(ANNOUNCE_ADDRESS, new JsonObject()
      .put("node", node.nodeId())
      .put("member", localMember())
      .put("hello", hello)
      .put("registryComplete", node.registry().complete())
      // the count first: a batch notes its slots before it counts, so the slots cover the count
      .put("unstored", node.registry().unstored())
      .put("unstoredSlots", node.registry().unstoredSlots())
      .put("registryIncompleteSlots", node.registry().incompleteSlots())
      // the members whose shards this node routes to: a member that finds itself here knows it can take clients
      .put("knows", new JsonArray(new ArrayList<>(nodeByMember.keySet())))
      .put("shards", new JsonArray(new ArrayList<>(shards))));
  }

  private void onAnnouncement(Message<JsonObject> message) {
    JsonObject a = message.body();
    String from = a.getString("node");
    String member = a.getString("member");
    if (from == null || member == null) {
      return;
    }
    if (from.equals(node.nodeId())) {
      if (!member.equals(localMember())) {
        log.error("another cluster member ({}) uses this node's id {}: shard addresses collide; give every node its own node.id",
          member, from);
      }
      return;
    }
    if (!isMember(member)) {
      // a late announcement from a member that already left
      return;
    }
    boolean isNew = nodeByMember.put(member, from) == null;
    JsonArray knows = a.getJsonArray("knows");
    // a member of a version that does not say what it knows is taken to know us
    if (knows == null || knows.contains(localMember())) {
      knownBy.add(member);
      checkKnown();
    } else {
      knownBy.remove(member);
    }
    List<String> shards = new ArrayList<>();
    for (Object s : a.getJsonArray("shards", new JsonArray())) {
      shards.add(String.valueOf(s));
    }
    node.directory().putNode(from, shards);
    node.directory().registryComplete(from, a.getBoolean("registryComplete", true));
    node.directory().unstored(from, a.getLong("unstored", 0L), a.getString("unstoredSlots"));
    node.directory().registryIncompleteSlots(from, a.getString("registryIncompleteSlots", ""));
    if (isNew) {
      log.info("node {} (member {}) announced {} shards", from, member, shards.size());
    }
    if (a.getBoolean("hello", false) || isNew) {
      announce(false);
    }
  }

  private void onMemberLeft(String member) {
    knownBy.remove(member);
    checkKnown();
    String gone = nodeByMember.remove(member);
    if (gone == null) {
      return;
    }
    List<String> shards = node.directory().removeNode(gone);
    log.warn("node {} left the cluster; its {} shards are out of routing", gone, shards.size());
    if (isOldestMember()) {
      shards.forEach(node.registry()::removeShard);
    }
  }

  /** This node's member uuid now: Hazelcast gives a member a new one when it merges back after a split. */
  private String localMember() {
    return hazelcast.getCluster().getLocalMember().getUuid().toString();
  }

  private boolean isMember(String member) {
    for (Member m : hazelcast.getCluster().getMembers()) {
      if (m.getUuid().toString().equals(member)) {
        return true;
      }
    }
    return false;
  }

  /** One member cleans up after a departed one: the oldest, which every member agrees on. */
  private boolean isOldestMember() {
    Set<Member> members = hazelcast.getCluster().getMembers();
    return !members.isEmpty() && members.iterator().next().localMember();
  }

  private JsonObject health() {
    JsonObject nodes = new JsonObject();
    node.directory().byNode().forEach((n, shards) -> nodes.put(n, new JsonArray(shards)));
    return new JsonObject()
      .put("status", hazelcast.getLifecycleService().isRunning() ? "up" : "down")
      .put("members", hazelcast.getCluster().getMembers().size())
      .put("nodes", nodes);
  }
}
