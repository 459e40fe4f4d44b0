package io.odin.ws.registry;

import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The connection registry and the history on a Redis Cluster (docs/registry.md, "Redis Cluster"). Each master that
 * serves slots gets its own {@link RedisConnectionRegistry} (a <i>part</i>): its own connections, write queue,
 * circuit breaker, heartbeats and markers, holding the entries and streams of the slots it serves. A dispatched batch
 * is split by master and each part's share goes out as one script call on that master, all in parallel: one round
 * trip per master touched. What a master cannot answer (down, failing over, being refilled, a slot moving) is
 * answered for the other masters' tokens all the same: only its tokens fall back, only its streams go unstored.
 * <ul>
 *   <li>Slots: read with {@code CLUSTER NODES} from a known node (the masters, then the seeds of
 *       {@code redis.endpoints}) every second and at once when a script finds a key that is not on its master
 *       ({@code MOVED}); a master that appears gets a part (this node's shards register there), one that no longer
 *       serves slots loses its part.</li>
 *   <li>A key whose slot is moving is not reached through {@code ASKING}: its item waits for the slot to settle (a
 *       registration is retried until redis.timeout, a stored message is sent again once if the slot map changed, a
 *       lookup falls back for that token), so nothing is ever written on a master that is still importing the
 *       slot.</li>
 *   <li>History epochs: a stream's identity is its master's run id and its slot's generation. A failover (another
 *       process) or a migration (another master) gives the slot's streams new epochs; a message that could not be
 *       stored raises its slot's generation on the next call this node makes to that slot's master, so no cursor from
 *       before it is recovered from.</li>
 * </ul>
 * vertx-redis-client's cluster client is not used for the calls themselves: it opens a connection to every node of
 * the cluster for each connection it hands out and fails when one is unreachable, so a single dead master (or
 * replica) would stop every lookup; here each master has its own standalone connections (same password and TLS), and
 * one dead master stops only its slots.
 */
public final class RedisClusterRegistry implements ConnectionRegistry {

  private static final Logger log = LoggerFactory.getLogger(RedisClusterRegistry.class);

  /** How often the slot map is read when nothing asks for it sooner. */
  static final long TOPOLOGY_REFRESH_MS = 1000;
  /** Least time between two reads of the slot map asked for by scripts finding moved keys. */
  static final long TOPOLOGY_MIN_SPACING_MS = 50;
  /** Delay between two tries of a registration whose slot is moving. */
  static final long MOVED_RETRY_MS = 25;

  private static final RedisConnectionRegistry.RegistryUnavailableException NO_ANSWER =
    new RedisConnectionRegistry.RegistryUnavailableException("no Redis Cluster master answered the lookup");
  private static final RedisConnectionRegistry.RegistryUnavailableException NO_TOPOLOGY =
    new RedisConnectionRegistry.RegistryUnavailableException("Redis Cluster slot map not known yet");

  private final Vertx vertx;
  private final Context ctx;
  private final RedisOptions base;
  private final RegistrySettings settings;
  private final HistorySettings historySettings;
  private final String nodeId;
  private final ShardDirectory directory;
  private final GatewayMetrics metrics;
  private final List<String> seeds;
  /** Key names that do not depend on a master (tokens, streams, generations). */
  private final RegistryKeys names;
  private final HistoryStore history;

  private volatile Routing routing;
  private final Map<String, Attached> shards = new ConcurrentHashMap<>();
  /** Clients that read the slot map, by endpoint. */
  private final Map<String, Redis> probes = new ConcurrentHashMap<>();
  /** Slots whose generation must be raised (a message of theirs went out unstored). */
  private final PendingRaises pending;
  private final AtomicLong orderStamps = new AtomicLong();
  /** Broadcast stream positions being read for registrations, one per event loop. */
  private final Map<Thread, Future<StreamPosition>> broadcastReads = new ConcurrentHashMap<>();
  private final AtomicLong unstoredBatches = new AtomicLong();
  private final AtomicLong lookups = new AtomicLong();
  private final AtomicLong partialLookups = new AtomicLong();
  private final AtomicLong topologyChanges = new AtomicLong();

  // confined to ctx
  private boolean refreshing;
  private boolean refreshAgain;
  private long refreshTimer = -1;
  private long periodicTimer = -1;
  private long raiseTimer = -1;
  private boolean raising;
  private long lastRefreshAt;
  private List<Promise<Void>> refreshWaiters = new ArrayList<>();
  private volatile boolean closed;
  private volatile String topologyError = "";
  private volatile long topologyReadAt;

  private record Attached(Context context, Supplier<Collection<String>> tokens,
                          Supplier<Map<String, Integer>> subscribers) {
  }

  /** A master's part of the registry. */
  private final class Part {
    final String endpoint;
    final int anchorSlot;
    final RedisConnectionRegistry registry;

    Part(ClusterTopology.Master master) {
      this.endpoint = master.endpoint();
      this.anchorSlot = master.lowestSlot();
      RegistryKeys keys = RegistryKeys.cluster(settings.keyPrefix, SlotHash.tag(anchorSlot));
      RedisOptions options = new RedisOptions(base).setType(RedisClientType.STANDALONE)
        .setEndpoints(new ArrayList<>(List.of(endpoint)));
      this.registry = new RedisConnectionRegistry(vertx, ctx, options, settings, historySettings, nodeId, directory,
        metrics, new RedisConnectionRegistry.ClusterRole(ClusterTopology.displayed(endpoint), keys, this::owns,
          RedisClusterRegistry.this::slotsMoved));
    }

    boolean owns(String token) {
      Routing r = routing;
      return r != null && r.bySlot[SlotHash.slot(names.token(token))] == this;
    }

    String key() {
      return endpoint + "#" + anchorSlot;
    }
  }

  /** The slot map and the part serving each slot (null: no master serves it). */
  private record Routing(ClusterTopology topology, Map<String, Part> parts, Part[] bySlot) {
  }

  /**
   * @param options the password, TLS and pool options every master's connections get (and the seeds, as endpoints)
   * @param history the history's settings, or null to keep none
   * @param health  where to publish the "redis" entry of /health
   */
  public RedisClusterRegistry(Vertx vertx, Context ctx, RedisOptions options, RegistrySettings settings,
                              HistorySettings history, String nodeId, ShardDirectory directory, GatewayMetrics metrics,
                              BiConsumer<String, Supplier<JsonObject>> health) {
    this.vertx = vertx;
    this.ctx = ctx;
    this.base = options;
    this.settings = settings;
    this.historySettings = history;
    this.nodeId = nodeId;
    this.directory = directory;
    this.metrics = metrics;
    this.seeds = List.copyOf(options.getEndpoints());
    this.names = RegistryKeys.cluster(settings.keyPrefix, "");
    this.pending = new PendingRaises(names, directory);
    this.history = history != null ? new ClusterHistory() : HistoryStore.none("history.enabled is false");
    health.accept("redis", this::health);
    ctx.runOnContext(v -> {
      if (!closed) {
        periodicTimer = vertx.setPeriodic(TOPOLOGY_REFRESH_MS, id -> refresh());
        if (history != null) {
          raiseTimer = vertx.setPeriodic(PendingRaises.INTERVAL_MS, id -> raisePending());
        }
        refresh();
      }
    });
    log.info("connection registry in Redis Cluster ({}): ttl {} s, heartbeat {} s", settings.endpoint,
      settings.ttlMillis / 1000, settings.heartbeatMillis / 1000);
  }

  // ------------------------------------------------------------------ slot map

  /** A script found a key that is not on its master: the slot map is read again soon. */
  private void slotsMoved() {
    ctx.runOnContext(v -> {
      if (closed || refreshTimer >= 0) {
        return;
      }
      long wait = TOPOLOGY_MIN_SPACING_MS - (System.currentTimeMillis() - lastRefreshAt);
      if (wait <= 0) {
        refresh();
      } else {
        refreshTimer = vertx.setTimer(wait, id -> {
          refreshTimer = -1;
          refresh();
        });
      }
    });
  }

  /** Reads the slot map now (or once the read in flight is done); completes on the registry's context. */
  private Future<Void> refreshNow() {
    Promise<Void> done = Promise.promise();
    ctx.runOnContext(v -> {
      if (closed) {
        done.tryComplete();
        return;
      }
      refreshWaiters.add(done);
      if (refreshing) {
        refreshAgain = true;
      } else {
        refresh();
      }
    });
    return done.future();
  }

  private void refresh() {
    if (closed) {
      return;
    }
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    lastRefreshAt = System.currentTimeMillis();
    List<Promise<Void>> waiting = refreshWaiters;
    refreshWaiters = new ArrayList<>();
    Set<String> candidates = new LinkedHashSet<>();
    Routing r = routing;
    if (r != null) {
      for (ClusterTopology.Master m : r.topology().masters()) {
        if (!m.node().failed()) {
          candidates.add(m.endpoint());
        }
      }
    }
    candidates.addAll(seeds);
    readSlotMap(new ArrayList<>(candidates), 0, new StringBuilder()).onComplete(ar -> ctx.runOnContext(v -> {
      refreshing = false;
      if (ar.succeeded()) {
        topologyError = "";
        topologyReadAt = System.currentTimeMillis();
        apply(ar.result());
      } else {
        topologyError = ar.cause().getMessage();
        log.debug("Redis Cluster slot map not read: {}", topologyError);
      }
      waiting.forEach(Promise::tryComplete);
      if (refreshAgain) {
        refreshAgain = false;
        slotsMoved();
      }
    }));
  }

  /** Asks the candidates in turn for CLUSTER NODES; the first answer wins. */
  private Future<ClusterTopology> readSlotMap(List<String> candidates, int i, StringBuilder errors) {
    if (i >= candidates.size()) {
      return Future.failedFuture("no Redis Cluster node answered CLUSTER NODES:" + errors);
    }
    String endpoint = candidates.get(i);
    Redis probe = probes.computeIfAbsent(endpoint, e -> Redis.createClient(vertx,
      new RedisOptions(base).setType(RedisClientType.STANDALONE).setEndpoints(new ArrayList<>(List.of(e)))
        .setMaxPoolSize(1).setMaxPoolWaiting(8)));
    return withTimeout(probe.send(Request.cmd(Command.CLUSTER).arg("NODES")), settings.timeoutMillis)
      .map(answer -> ClusterTopology.parse(answer.toString(), endpoint))
      .recover(t -> {
        errors.append(' ').append(ClusterTopology.displayed(endpoint)).append(": ").append(t.getMessage());
        return readSlotMap(candidates, i + 1, errors);
      });
  }

  /** A new slot map: parts for new masters (with every shard of this node attached), none for masters gone. */
  private void apply(ClusterTopology topology) {
    Routing old = routing;
    if (old != null && old.topology().sameLayout(topology)) {
      routing = new Routing(topology, old.parts(), old.bySlot());
      return;
    }
    Map<String, Part> parts = new LinkedHashMap<>();
    List<Part> created = new ArrayList<>();
    Map<ClusterTopology.Master, Part> byMaster = new IdentityHashMap<>();
    for (ClusterTopology.Master m : topology.masters()) {
      String key = m.endpoint() + "#" + m.lowestSlot();
      Part p = old != null ? old.parts().get(key) : null;
      if (p == null) {
        p = new Part(m);
        created.add(p);
      }
      parts.put(key, p);
      byMaster.put(m, p);
    }
    Part[] bySlot = new Part[SlotHash.SLOTS];
    for (int s = 0; s < SlotHash.SLOTS; s++) {
      ClusterTopology.Master m = topology.master(s);
      bySlot[s] = m == null ? null : byMaster.get(m);
    }
    routing = new Routing(topology, parts, bySlot);
    topologyChanges.incrementAndGet();
    for (Part p : created) {
      shards.forEach((shard, a) -> p.registry.attachShard(shard, a.context(), a.tokens(), a.subscribers()));
    }
    List<String> gone = new ArrayList<>();
    if (old != null) {
      for (Part p : old.parts().values()) {
        if (!parts.containsKey(p.key())) {
          gone.add(ClusterTopology.displayed(p.endpoint));
          p.registry.close();
        }
      }
    }
    List<String> masters = new ArrayList<>();
    for (ClusterTopology.Master m : topology.masters()) {
      masters.add(m.node().address() + " " + m.slots() + (m.node().failed() ? " (fail)" : ""));
    }
    log.info("Redis Cluster slot map: masters {}{}{}", masters,
      topology.uncovered() > 0 ? ", " + topology.uncovered() + " slots without a master" : "",
      gone.isEmpty() ? "" : "; no longer masters: " + gone);
  }

  // ------------------------------------------------------------------ shards and registrations

  @Override
  public void attachShard(String shardAddress, Context context, Supplier<Collection<String>> tokens,
                          Supplier<Map<String, Integer>> subscribers) {
    shards.put(shardAddress, new Attached(context, tokens, subscribers));
    Routing r = routing;
    if (r != null) {
      r.parts().values().forEach(p -> p.registry.attachShard(shardAddress, context, tokens, subscribers));
    }
  }

  /**
   * Written on the master serving the channel's slot (its interest entry's, stream's and counts' slot); a count whose
   * slot has no master now is written there by the next heartbeat (each part re-asserts the counts of its slots).
   */
  @Override
  public void subscribers(String channel, String shardAddress, int count) {
    Routing r = routing;
    Part p = r == null ? null : partOf(r, ChannelName.interestKey(channel));
    if (p != null) {
      p.registry.subscribers(channel, shardAddress, count);
    }
  }

  /** One HGETALL on the master serving the channel's slot: the counts of every node's shards live there. */
  @Override
  public Future<Long> subscriberCount(String channel) {
    Routing r = routing;
    Part p = r == null ? null : partOf(r, ChannelName.interestKey(channel));
    if (p == null) {
      return Future.failedFuture(r == null ? NO_TOPOLOGY
        : new IllegalStateException("no Redis Cluster master serves the slot of channel " + channel));
    }
    return p.registry.subscriberCount(channel);
  }

  @Override
  public void removeShard(String shardAddress) {
    shards.remove(shardAddress);
    Routing r = routing;
    if (r != null) {
      r.parts().values().forEach(p -> p.registry.removeShard(shardAddress));
    }
  }

  private Part partOf(Routing r, String token) {
    return r.bySlot[SlotHash.slot(names.token(token))];
  }

  @Override
  public Future<Registered> register(String token, String shardAddress) {
    Context caller = Vertx.currentContext();
    Promise<Registered> done = Promise.promise();
    // the token's master does not serve the broadcast stream: its position is read from the master that does, at the
    // same time (the shard receives every broadcast already; the position only starts a shard that has none yet)
    Routing r = routing;
    Future<StreamPosition> broadcast = historySettings == null || r == null
      || partOf(r, token) == r.bySlot[SlotHash.slot(names.history(Streams.BROADCAST))] ? null : broadcastPosition();
    register(token, shardAddress, System.currentTimeMillis() + settings.timeoutMillis).onComplete(ar -> {
      Registered registered = ar.succeeded() ? ar.result() : Registered.UNKNOWN;
      if (broadcast == null || registered.broadcast().known() || !registered.token().known()) {
        answer(caller, done, registered);
        return;
      }
      broadcast.onComplete(b -> answer(caller, done,
        b.succeeded() ? new Registered(registered.token(), b.result()) : registered));
    });
    return done.future();
  }

  /** Registers on the token's master; a slot that moved or is moving is tried again until {@code deadline}. */
  private Future<Registered> register(String token, String shardAddress, long deadline) {
    Routing r = routing;
    Part p = r == null ? null : partOf(r, token);
    if (p == null) {
      // no slot map yet, or no master serves the slot: not held (lookups fall back for it meanwhile)
      return Future.succeededFuture(Registered.UNKNOWN);
    }
    return p.registry.register(token, shardAddress).recover(t -> {
      if (t != RedisConnectionRegistry.MOVED || closed) {
        return Future.succeededFuture(Registered.UNKNOWN);
      }
      if (System.currentTimeMillis() >= deadline) {
        // given up: the shard registers everything again there, and is not taken as complete meanwhile
        Routing now = routing;
        Part owner = now == null ? null : partOf(now, token);
        if (owner != null) {
          owner.registry.resync(shardAddress);
        }
        return Future.succeededFuture(Registered.UNKNOWN);
      }
      Promise<Void> wait = Promise.promise();
      refreshNow().onComplete(x -> {
        Routing now = routing;
        if (now != null && partOf(now, token) != p) {
          wait.complete();
        } else {
          // the slot is being migrated: it is written where it lives once the migration is done
          vertx.setTimer(MOVED_RETRY_MS, id -> wait.complete());
        }
      });
      return wait.future().compose(x -> register(token, shardAddress, deadline));
    });
  }

  /** The broadcast stream's position, read from its master; one read at a time per event loop. */
  private Future<StreamPosition> broadcastPosition() {
    Thread thread = Thread.currentThread();
    Future<StreamPosition> inFlight = broadcastReads.get(thread);
    if (inFlight != null) {
      return inFlight;
    }
    Future<StreamPosition> read = history.read(List.of(StreamRead.top(Streams.BROADCAST)))
      .map(pages -> pages.get(0).position());
    broadcastReads.put(thread, read);
    read.onComplete(ar -> broadcastReads.remove(thread, read));
    return read;
  }

  @Override
  public void unregister(String token, String shardAddress) {
    Routing r = routing;
    Part p = r == null ? null : partOf(r, token);
    if (p != null) {
      p.registry.unregister(token, shardAddress);
    }
  }

  // ------------------------------------------------------------------ lookups

  /** The next order stamp: microseconds, never twice the same on this node (a stamp orders a whole batch). */
  private String nextStamp() {
    Instant now = Instant.now();
    long micros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    return Long.toString(orderStamps.accumulateAndGet(micros, (last, t) -> Math.max(last + 1, t)));
  }

  /** What a batch sends to one master. */
  private static final class Share {
    final List<String> tokens = new ArrayList<>();
    boolean[] streams;
    HistoryScripts.Appends appends;
    Map<Integer, Long> raises = Map.of();
  }

  @Override
  public Future<RegistryLookup> lookup(Collection<String> tokens, List<Envelope> toStore) {
    Context caller = Vertx.currentContext();
    boolean store = historySettings != null && toStore != null && !toStore.isEmpty();
    HistoryScripts.Appends appends = store ? HistoryScripts.appends(toStore) : null;
    Routing r = routing;
    if (closed || r == null) {
      if (store) {
        unstored(appends, new long[appends.count()]);
      }
      return Future.failedFuture(closed ? new RedisConnectionRegistry.RegistryUnavailableException("registry closed")
        : NO_TOPOLOGY);
    }
    lookups.incrementAndGet();
    String stamp = store ? nextStamp() : "";
    Map<Part, Share> shares = new LinkedHashMap<>();
    Set<String> unanswered = new HashSet<>();
    for (String token : tokens) {
      Part p = partOf(r, token);
      if (p == null) {
        unanswered.add(token);
      } else {
        shares.computeIfAbsent(p, x -> new Share()).tokens.add(token);
      }
    }
    long[] epochs = store ? new long[appends.streams().size()] : null;
    long[] seqs = store ? new long[appends.count()] : null;
    if (store) {
      for (int j = 0; j < appends.streams().size(); j++) {
        Part p = r.bySlot[SlotHash.slot(names.history(appends.streams().get(j)))];
        if (p != null) {
          Share share = shares.computeIfAbsent(p, x -> new Share());
          if (share.streams == null) {
            share.streams = new boolean[appends.streams().size()];
          }
          share.streams[j] = true;
        }
      }
      for (Map.Entry<Part, Share> e : shares.entrySet()) {
        Share share = e.getValue();
        if (share.streams != null) {
          share.appends = appends.part(share.streams);
          share.raises = pending.selectFor(share.appends.streams());
        }
      }
    }
    List<String> live = directory.all();
    List<Map.Entry<Share, Future<RedisConnectionRegistry.PartAnswer>>> calls = new ArrayList<>(shares.size());
    for (Map.Entry<Part, Share> e : shares.entrySet()) {
      Share share = e.getValue();
      List<String> raises = pending.keys(share.raises);
      // a master none of the batch's tokens is on is only asked to store: no marker to check there
      List<String> markers = share.tokens.isEmpty() ? List.of() : live;
      calls.add(Map.entry(share, e.getKey().registry.dispatchPart(markers, share.tokens, share.appends, raises, stamp)));
    }
    Promise<RegistryLookup> done = Promise.promise();
    Future.join(calls.stream().map(Map.Entry::getValue).toList()).onComplete(x -> {
      // every answer is in: merged here, in one place
      Map<String, List<String>> found = new HashMap<>();
      Set<Integer> movedStreams = new HashSet<>();
      boolean answeredAny = false;
      for (Map.Entry<Share, Future<RedisConnectionRegistry.PartAnswer>> call : calls) {
        Share share = call.getKey();
        if (call.getValue().failed()) {
          unanswered.addAll(share.tokens);
          continue;
        }
        RedisConnectionRegistry.PartAnswer answer = call.getValue().result();
        if (answer.stored() != null) {
          pending.raised(share.raises, answer.stored().unraised());
          merge(share.appends, answer.stored(), epochs, seqs, movedStreams);
        }
        RegistryScripts.LookupAnswer l = answer.lookup();
        if (l == null || !l.complete()) {
          unanswered.addAll(share.tokens);
        } else {
          answeredAny = true;
          found.putAll(l.shardsByToken());
          unanswered.addAll(l.away());
        }
      }
      boolean answered = answeredAny || (tokens.isEmpty() && !shares.isEmpty());
      // slots where another node's entries may be missing: a token there may be connected there, whether or not it
      // was found (found: perhaps only its old entry, the one it moved from)
      BitSet elsewhere = directory.incompleteSlotsElsewhere();
      if (elsewhere != null) {
        for (String t : tokens) {
          if (elsewhere.get(SlotHash.slot(names.token(t)))) {
            unanswered.add(t);
          }
        }
      }
      Future<Void> retried = movedStreams.isEmpty() ? Future.succeededFuture()
        : storeAgain(caller, r, appends, movedStreams, stamp, epochs, seqs);
      retried.onComplete(y -> onContext(caller, () -> {
        if (store) {
          unstored(appends, seqs);
          pending.distrust(appends, seqs);
          HistoryScripts.setPositions(toStore, appends, epochs, seqs, stamp);
        }
        if (!unanswered.isEmpty()) {
          partialLookups.incrementAndGet();
        }
        if (answered) {
          done.tryComplete(new RegistryLookup(found, true, unanswered));
        } else {
          done.tryFail(NO_ANSWER);
        }
      }));
    });
    return done.future();
  }

  /** Copies one master's stored positions into the batch's; its streams that were not there are noted. */
  private static void merge(HistoryScripts.Appends part, HistoryScripts.Stored stored, long[] epochs, long[] seqs,
                            Set<Integer> moved) {
    for (int j = 0; j < stored.epochs().length; j++) {
      epochs[part.batchStream()[j]] = stored.epochs()[j];
    }
    for (int a = 0; a < stored.seqs().length; a++) {
      seqs[part.batchAppend()[a]] = stored.seqs()[a];
    }
    for (int j : stored.movedStreams()) {
      moved.add(part.batchStream()[j]);
    }
  }

  /**
   * Streams whose slot had moved: once the slot map is read again, those now served by another master are stored
   * there (once); those still on the same master (their slot is being migrated) stay unstored.
   */
  private Future<Void> storeAgain(Context caller, Routing before, HistoryScripts.Appends appends, Set<Integer> moved,
                                  String stamp, long[] epochs, long[] seqs) {
    Promise<Void> done = Promise.promise();
    withTimeout(refreshNow(), settings.timeoutMillis).onComplete(x -> onContext(caller, () -> {
      Routing now = routing;
      Map<Part, boolean[]> again = new LinkedHashMap<>();
      for (int j : moved) {
        int slot = SlotHash.slot(names.history(appends.streams().get(j)));
        Part p = now == null ? null : now.bySlot[slot];
        if (p != null && p != before.bySlot[slot]) {
          again.computeIfAbsent(p, k -> new boolean[appends.streams().size()])[j] = true;
        }
      }
      List<Future<?>> calls = new ArrayList<>();
      again.forEach((p, streams) -> {
        HistoryScripts.Appends part = appends.part(streams);
        calls.add(p.registry.dispatchPart(List.of(), List.of(), part, List.of(), stamp)
          .onSuccess(answer -> {
            if (answer.stored() != null) {
              merge(part, answer.stored(), epochs, seqs, new HashSet<>());
            }
          }));
      });
      Future.join(calls).onComplete(y -> done.complete());
    }));
    return done.future();
  }

  /** Counts a batch with unstored appends, and marks their slots' generations to be raised. */
  private void unstored(HistoryScripts.Appends appends, long[] seqs) {
    if (pending.unstored(appends, seqs)) {
      unstoredBatches.incrementAndGet();
    }
  }

  /**
   * Lands pending generation raises in calls of their own on each master that has some, {@link PendingRaises#PER_CALL}
   * at a time and one round at a time, soon after their slots went unstored.
   */
  private void raisePending() {
    Routing r = routing;
    if (raising || closed || r == null) {
      return;
    }
    List<Future<Void>> calls = new ArrayList<>();
    for (Part p : r.parts().values()) {
      Map<Integer, Long> raises = pending.some(slot -> r.bySlot[slot] == p, PendingRaises.PER_CALL);
      if (!raises.isEmpty()) {
        calls.add(p.registry.raiseOwn(pending, raises));
      }
    }
    if (!calls.isEmpty()) {
      raising = true;
      Future.join(calls).onComplete(ar -> raising = false);
    }
  }

  // ------------------------------------------------------------------ history

  /** Reads each stream on its master, one call per master touched, in parallel. */
  private final class ClusterHistory implements HistoryStore {
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong readFailures = new AtomicLong();

    @Override
    public Future<List<StreamPage>> read(List<StreamRead> reads) {
      Context caller = Vertx.currentContext();
      this.reads.incrementAndGet();
      Promise<List<StreamPage>> done = Promise.promise();
      read(caller, reads, true).onComplete(ar -> {
        if (ar.failed()) {
          readFailures.incrementAndGet();
        }
        answer(caller, done, ar.succeeded() ? ar.result() : null, ar.cause());
      });
      return done.future();
    }

    private Future<List<StreamPage>> read(Context caller, List<StreamRead> reads, boolean again) {
      Routing r = routing;
      if (closed || r == null) {
        return Future.failedFuture(NO_TOPOLOGY);
      }
      Map<Part, List<Integer>> byPart = new LinkedHashMap<>();
      for (int i = 0; i < reads.size(); i++) {
        Part p = r.bySlot[SlotHash.slot(names.history(reads.get(i).stream()))];
        if (p == null) {
          return Future.failedFuture(new IllegalStateException("no Redis Cluster master serves the slot of "
            + reads.get(i).stream()));
        }
        byPart.computeIfAbsent(p, x -> new ArrayList<>()).add(i);
      }
      StreamPage[] pages = new StreamPage[reads.size()];
      List<Integer> moved = new ArrayList<>();
      List<Future<?>> calls = new ArrayList<>();
      for (Map.Entry<Part, List<Integer>> e : byPart.entrySet()) {
        List<StreamRead> sub = new ArrayList<>();
        e.getValue().forEach(i -> sub.add(reads.get(i)));
        // a generation still to be raised there lands before the read can answer from an epoch it ends
        calls.add(e.getKey().registry.raiseBeforeRead(pending, sub).compose(x -> onCaller(caller, () -> e.getKey().registry.readPart(sub)))
          .onSuccess(answer -> {
            for (int k = 0; k < sub.size(); k++) {
              pages[e.getValue().get(k)] = answer.pages().get(k);
            }
            for (int k : answer.moved()) {
              moved.add(e.getValue().get(k));
            }
          }));
      }
      return Future.all(calls).compose(x -> {
        if (moved.isEmpty()) {
          return Future.succeededFuture(List.of(pages));
        }
        if (!again) {
          return Future.failedFuture(new IllegalStateException("a stream's slot is moving"));
        }
        // the slot map was out of date: read those streams again where they are now
        List<StreamRead> retry = new ArrayList<>();
        moved.forEach(i -> retry.add(reads.get(i)));
        return withTimeout(refreshNow(), settings.timeoutMillis)
          .compose(y -> onCaller(caller, () -> read(caller, retry, false)))
          .map(retried -> {
            for (int k = 0; k < moved.size(); k++) {
              pages[moved.get(k)] = retried.get(k);
            }
            return List.of(pages);
          });
      });
    }

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public String kind() {
      return "redis";
    }

    @Override
    public JsonObject health() {
      Routing r = routing;
      JsonObject epochs = new JsonObject();
      boolean down = r == null;
      if (r != null) {
        for (Part p : r.parts().values()) {
          epochs.put(ClusterTopology.displayed(p.endpoint), p.registry.storeIdentity());
          down |= !p.registry.breakerState().equals(CircuitBreaker.State.CLOSED);
        }
      }
      return new JsonObject().put("store", "redis").put("status", closed ? "closed" : r == null ? "down" : down ? "partial" : "up")
        // per master: its run id and the generation of a slot it serves; a failover, a migration or messages that
        // went out unstored change the epochs of the streams concerned
        .put("epochs", epochs)
        .put("size", historySettings.size).put("ttlMs", historySettings.ttlMillis)
        .put("maxReplay", historySettings.maxReplay)
        .put("unstoredBatches", unstoredBatches.get())
        .put("generationsToRaise", pending.ranges())
        .put("reads", reads.get()).put("readFailures", readFailures.get());
    }
  }

  @Override
  public HistoryStore history() {
    return history;
  }

  @Override
  public long unstored() {
    return unstoredBatches.get();
  }

  @Override
  public String unstoredSlots() {
    return pending.ranges();
  }

  // ------------------------------------------------------------------ state

  /** Every master's part answers and holds every entry of this node's shards. */
  public boolean available() {
    Routing r = routing;
    if (closed || r == null || r.parts().isEmpty() || r.topology().uncovered() > 0) {
      return false;
    }
    for (Part p : r.parts().values()) {
      if (!p.registry.available()) {
        return false;
      }
    }
    return true;
  }

  /**
   * True once the slot map is known: from then on every gap in this node's entries is one of masters, announced as
   * their slots ({@link #incompleteSlots()}), so that other nodes fall back for those slots' tokens only.
   */
  @Override
  public boolean complete() {
    return !closed && routing != null;
  }

  @Override
  public String incompleteSlots() {
    Routing r = routing;
    if (r == null) {
      return "";
    }
    BitSet slots = new BitSet();
    for (int s = 0; s < SlotHash.SLOTS; s++) {
      Part p = r.bySlot[s];
      if (p == null || !p.registry.available()) {
        slots.set(s);
      }
    }
    return SlotHash.ranges(slots);
  }

  private JsonObject health() {
    Routing r = routing;
    JsonArray masters = new JsonArray();
    int down = 0;
    int syncing = 0;
    long lookupFailures = 0;
    long lookupsNotInSync = 0;
    if (r != null) {
      for (ClusterTopology.Master m : r.topology().masters()) {
        Part p = r.parts().get(m.endpoint() + "#" + m.lowestSlot());
        JsonObject part = p == null ? new JsonObject() : p.registry.health();
        String status = part.getString("status", "down");
        if ("down".equals(status) || "closed".equals(status)) {
          down++;
        } else if ("syncing".equals(status)) {
          syncing++;
        }
        lookupFailures += part.getLong("lookupFailures", 0L);
        lookupsNotInSync += part.getLong("lookupsNotInSync", 0L);
        JsonArray replicas = new JsonArray();
        for (ClusterTopology.Node n : m.replicas()) {
          replicas.add(new JsonObject().put("address", n.address()).put("state", n.state()));
        }
        masters.add(new JsonObject()
          .put("address", m.node().address())
          .put("slots", m.slots())
          .put("slotCount", m.slotCount())
          // what the cluster says of the master (ok, suspected, fail), and what this node sees of it
          .put("state", m.node().state())
          .put("status", status)
          .put("breaker", part.getString("breaker", ""))
          .put("replicas", replicas)
          .put("lookups", part.getLong("lookups", 0L))
          .put("lookupFailures", part.getLong("lookupFailures", 0L))
          .put("pendingWrites", part.getInteger("pendingWrites", 0))
          .put("lastError", part.getString("lastError", ""))
          .put("lastErrorAt", part.getString("lastErrorAt", "")));
      }
    }
    int total = masters.size();
    String status = closed ? "closed" : r == null || total == 0 || down == total ? "down"
      : down > 0 || r.topology().uncovered() > 0 ? "partial" : syncing > 0 ? "syncing" : "up";
    return new JsonObject()
      .put("status", status)
      .put("mode", RegistrySettings.CLUSTER)
      .put("endpoint", settings.endpoint)
      .put("masters", masters)
      .put("uncoveredSlots", r == null ? SlotHash.SLOTS : r.topology().uncovered())
      // where this node's entries may be missing now (announced to the other nodes)
      .put("incompleteSlots", incompleteSlots())
      .put("slotMapReadAt", topologyReadAt == 0 ? "" : Instant.ofEpochMilli(topologyReadAt).toString())
      .put("slotMapChanges", topologyChanges.get())
      .put("lastError", topologyError)
      .put("shards", shards.size())
      // batches looked up, and those for which some master could not answer (its tokens fell back)
      .put("lookups", lookups.get())
      .put("partialLookups", partialLookups.get())
      .put("lookupFailures", lookupFailures)
      .put("lookupsNotInSync", lookupsNotInSync);
  }

  /** Counters for tests, benchmarks and /health, with each master's own. */
  public JsonObject stats() {
    JsonObject out = health();
    Routing r = routing;
    JsonObject parts = new JsonObject();
    if (r != null) {
      r.parts().values().forEach(p -> parts.put(ClusterTopology.displayed(p.endpoint), p.registry.stats()));
    }
    return out.put("parts", parts);
  }

  /** The masters' endpoints as this node routes to them now, by lowest slot (for tests). */
  List<String> masterEndpoints() {
    Routing r = routing;
    List<String> out = new ArrayList<>();
    if (r != null) {
      r.topology().masters().forEach(m -> out.add(m.node().address()));
    }
    return out;
  }

  @Override
  public String kind() {
    return "redis";
  }

  @Override
  public Future<Void> close() {
    Promise<Void> done = Promise.promise();
    ctx.runOnContext(v -> {
      closed = true;
      vertx.cancelTimer(periodicTimer);
      vertx.cancelTimer(raiseTimer);
      vertx.cancelTimer(refreshTimer);
      refreshWaiters.forEach(Promise::tryComplete);
      refreshWaiters.clear();
      Routing r = routing;
      List<Future<Void>> closing = new ArrayList<>();
      if (r != null) {
        r.parts().values().forEach(p -> closing.add(p.registry.close()));
      }
      Future.join(closing).eventually(() -> {
        List<Future<Void>> clients = new ArrayList<>();
        probes.values().forEach(p -> clients.add(p.close()));
        probes.clear();
        return Future.join(clients);
      }).onComplete(ar -> done.complete());
    });
    return done.future();
  }

  @Override
  public String toString() {
    return "redis cluster " + settings.endpoint + " " + health().encode();
  }

  // ------------------------------------------------------------------ helpers

  private <T> Future<T> withTimeout(Future<T> f, long millis) {
    Promise<T> p = Promise.promise();
    long timer = vertx.setTimer(millis, id -> p.tryFail(new TimeoutException("Redis took more than " + millis + " ms")));
    f.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        p.tryComplete(ar.result());
      } else {
        p.tryFail(ar.cause());
      }
    });
    return p.future();
  }

  /** Completes {@code done} on the caller's context (a shard or dispatcher touches its own state in the callback). */
  private static <T> void answer(Context caller, Promise<T> done, T value) {
    answer(caller, done, value, null);
  }

  private static <T> void answer(Context caller, Promise<T> done, T value, Throwable failure) {
    onContext(caller, () -> {
      if (failure != null) {
        done.tryFail(failure);
      } else {
        done.tryComplete(value);
      }
    });
  }

  private static void onContext(Context caller, Runnable r) {
    if (caller == null || Vertx.currentContext() == caller) {
      r.run();
    } else {
      caller.runOnContext(v -> r.run());
    }
  }

  /** Runs {@code call} on the caller's context (so that it uses that event loop's connections). */
  private static <T> Future<T> onCaller(Context caller, Supplier<Future<T>> call) {
    if (caller == null || Vertx.currentContext() == caller) {
      return call.get();
    }
    Promise<T> p = Promise.promise();
    caller.runOnContext(v -> call.get().onComplete(p));
    return p.future();
  }
}
