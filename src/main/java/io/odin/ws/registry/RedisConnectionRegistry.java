package io.odin.ws.registry;

import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The connection registry in Redis (docs/registry.md). A lookup that succeeds is authoritative: it succeeds only
 * when every live shard's marker says its entries are complete, so a token Redis does not know has no connection
 * (offline: dispatch sends it nowhere). Every doubt (error, timeout, open breaker, a shard not in sync) fails the
 * lookup, and dispatch falls back to every shard.
 * <ul>
 *   <li>Writes (registrations, removals, heartbeats, clean-ups) are coalesced in a {@link WriteQueue} and flushed
 *       every {@code registry.coalesceMs}, pipelined on one dedicated connection in round trips of
 *       {@link #REQUESTS_PER_ROUND_TRIP} script calls, one flush at a time, so they reach Redis in the order the
 *       shards made them.</li>
 *   <li>A registration's future completes once its flush is done; shards complete the WebSocket handshake only
 *       then, so a connected client is visible to every lookup on every node.</li>
 *   <li>A lookup is one {@code EVALSHA_RO} (one round trip per dispatched batch) on the pooled connections. It
 *       fails, so dispatch falls back, when Redis errs or is slower than {@code redis.timeout}, while the breaker is
 *       open, and while a live shard's entries are not complete in Redis (its marker is missing: Redis restarted
 *       empty, or the shard has not finished re-registering).</li>
 *   <li>With history ({@link HistoryScripts}), the lookup's script first stores the batch's messages (still one
 *       round trip per batch), a registration answers where the streams stood, and {@link #history()} reads pages
 *       back on the caller's own connection. A batch that could not be stored raises the history generation with
 *       the next one that is, so no stream keeps an epoch across messages that went out unstored.</li>
 * </ul>
 * Write-side state is confined to one context ({@code ctx}); shards and dispatchers call in from their own.
 */
public final class RedisConnectionRegistry implements ConnectionRegistry {

  private static final Logger log = LoggerFactory.getLogger(RedisConnectionRegistry.class);

  /** Tokens per script call in a flush: bounds how long one call holds Redis (about a millisecond). */
  static final int CHUNK = 256;
  /**
   * Requests of a flush sent in one round trip (each an APPLY of up to {@link #CHUNK} tokens: a few milliseconds of
   * Redis with the history): a round trip is what redis.timeout bounds, not a whole flush.
   */
  static final int REQUESTS_PER_ROUND_TRIP = 4;

  private static final RegistryUnavailableException BREAKER_OPEN =
    new RegistryUnavailableException("Redis unavailable (circuit breaker open)");
  private static final RegistryUnavailableException NOT_IN_SYNC =
    new RegistryUnavailableException("Redis registry is being re-populated");
  private static final RegistryUnavailableException CLOSED =
    new RegistryUnavailableException("registry closed");

  private final Vertx vertx;
  private final Context ctx;
  private final Redis redis;
  private final RedisOptions options;
  /** One lookup connection per dispatcher event loop, so a lookup costs no pool checkout and no thread hop. */
  private final Map<Thread, LookupChannel> lookupChannels = new ConcurrentHashMap<>();
  /**
   * History reads (replays, gaps) on connections of their own, per event loop: a shard and a dispatcher may share a
   * loop, and a reconnect storm's reads queued on the lookups' connection held batches' lookups past redis.timeout
   * (they then went out unstored, and every stream took a new epoch: every reconnect after that recovered:false).
   */
  private final Map<Thread, LookupChannel> readChannels = new ConcurrentHashMap<>();
  private final RegistrySettings settings;
  private final RegistryKeys keys;
  private final String nodeId;
  private final String endpoint;
  private final ShardDirectory directory;
  private final GatewayMetrics metrics;
  private final CircuitBreaker breaker;
  /** Null without history. */
  private final HistorySettings historySettings;
  /** Null on a standalone or Sentinel-managed Redis. */
  private final ClusterRole role;
  private final HistoryStore history;

  // confined to ctx
  private final WriteQueue queue = new WriteQueue();
  private final Set<String> dirty = new HashSet<>();
  private final Set<String> syncRequested = new HashSet<>();
  private List<Waiter> waiters = new ArrayList<>();
  private boolean flushScheduled;
  private boolean flushing;
  private boolean lastFlushFailed;
  private volatile RedisConnection writer;
  private long heartbeatTimer = -1;
  private long raiseTimer = -1;
  private boolean raising;
  private long probeTimer = -1;
  private Promise<Void> drained;

  // read from any thread
  private final Map<String, Attached> attached = new ConcurrentHashMap<>();
  private volatile boolean inSync;
  private volatile boolean closed;
  private volatile String lastError = "";
  private volatile long lastErrorAtMillis;
  /** Opening the write connection may take longer than one round trip (redis.timeout), never less than this. */
  static final long CONNECT_TIMEOUT_MIN_MS = 5_000;
  private volatile int pendingWrites;

  private final AtomicLong lookups = new AtomicLong();
  private final AtomicLong lookupFailures = new AtomicLong();
  private final AtomicLong lookupsNotInSync = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong flushFailures = new AtomicLong();
  private final AtomicLong historyReads = new AtomicLong();
  private final AtomicLong historyReadFailures = new AtomicLong();
  private final AtomicLong writtenOps = new AtomicLong();
  /** Batches that went out without being stored (their slots' generations are raised by a later call). */
  private final AtomicLong unstoredBatches = new AtomicLong();
  /** Generations to raise: the slots of messages that went out unstored (standalone and Sentinel layout). */
  private final PendingRaises pending;
  /** The store identity (run id and generation) the last script answered with: the history's epoch in /health. */
  private volatile String storeIdentity = "";

  private record Attached(Context context, Supplier<Collection<String>> tokens, Supplier<Map<String, Integer>> counts) {
  }

  /** A registration waiting for its flush, answered on its shard's context. */
  private record Waiter(String shard, String token, Context caller, Promise<Registered> promise) {
    void settle(Registered registered) {
      if (caller == null) {
        promise.tryComplete(registered);
      } else {
        caller.runOnContext(v -> promise.tryComplete(registered));
      }
    }

    /** Only on a cluster master: the registration's slot is elsewhere ({@link #MOVED}). */
    void fail(Throwable t) {
      if (caller == null) {
        promise.tryFail(t);
      } else {
        caller.runOnContext(v -> promise.tryFail(t));
      }
    }
  }

  /** Why a lookup did not ask Redis; no stack trace, it happens on every batch while Redis is down. */
  static final class RegistryUnavailableException extends RuntimeException {
    RegistryUnavailableException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * @param ctx    the context the registry's writes, timers and bookkeeping run on
   * @param health where to publish the "redis" entry of /health
   */
  public RedisConnectionRegistry(Vertx vertx, Context ctx, RedisOptions options, RegistrySettings settings, String nodeId,
                                 ShardDirectory directory, GatewayMetrics metrics,
                                 BiConsumer<String, Supplier<JsonObject>> health) {
    this(vertx, ctx, options, settings, null, nodeId, directory, metrics, health);
  }

  /**
   * @param history the history's settings, or null to keep none
   */
  public RedisConnectionRegistry(Vertx vertx, Context ctx, RedisOptions options, RegistrySettings settings,
                                 HistorySettings history, String nodeId, ShardDirectory directory, GatewayMetrics metrics,
                                 BiConsumer<String, Supplier<JsonObject>> health) {
    this(vertx, ctx, options, settings, history, nodeId, directory, metrics, (ClusterRole) null);
    health.accept("redis", this::health);
    log.info("connection registry in Redis ({}, {}): ttl {} s, heartbeat {} s", settings.mode, endpoint,
      settings.ttlMillis / 1000, settings.heartbeatMillis / 1000);
  }

  /**
   * The registry on one master of a Redis Cluster ({@link RedisClusterRegistry}): the tokens {@code role} owns, its
   * keys, no /health entry of its own.
   */
  RedisConnectionRegistry(Vertx vertx, Context ctx, RedisOptions options, RegistrySettings settings,
                          HistorySettings history, String nodeId, ShardDirectory directory, GatewayMetrics metrics,
                          ClusterRole role) {
    this.vertx = vertx;
    this.ctx = ctx;
    this.redis = Redis.createClient(vertx, options);
    this.options = options;
    this.settings = settings;
    this.role = role;
    this.keys = role != null ? role.keys() : new RegistryKeys(settings.keyPrefix);
    this.pending = new PendingRaises(keys, directory);
    this.nodeId = nodeId;
    this.endpoint = role != null ? role.endpoint() : settings.endpoint;
    this.directory = directory;
    this.metrics = metrics;
    this.breaker = new CircuitBreaker(settings.breakerFailures, settings.breakerProbeMillis, System::currentTimeMillis);
    this.historySettings = history;
    this.history = history != null ? new RedisHistory() : HistoryStore.none("history.enabled is false");
    ctx.runOnContext(v -> {
      if (!closed) {
        heartbeatTimer = vertx.setPeriodic(settings.heartbeatMillis, id -> heartbeat());
        if (history != null && role == null) {
          raiseTimer = vertx.setPeriodic(PendingRaises.INTERVAL_MS, id -> raisePending());
        }
      }
    });
  }

  /**
   * Lands pending generation raises in calls of their own, {@link PendingRaises#PER_CALL} at a time and one call at a
   * time (on a Redis Cluster the cluster registry does it per master).
   */
  private void raisePending() {
    if (raising || closed) {
      return;
    }
    Map<Integer, Long> raises = pending.some(slot -> true, PendingRaises.PER_CALL);
    if (raises.isEmpty()) {
      return;
    }
    raising = true;
    raiseOwn(pending, raises).onComplete(ar -> raising = false);
  }

  /** One call that only raises {@code raises} of {@code pending} here; settles those that landed. */
  Future<Void> raiseOwn(PendingRaises pending, Map<Integer, Long> raises) {
    return dispatchPart(List.of(), List.of(), HistoryScripts.Appends.NONE, pending.keys(raises), "")
      .onSuccess(a -> pending.raised(raises, a.stored().unraised()))
      .mapEmpty();
  }

  /**
   * How a registry serves one master of a Redis Cluster: the master's endpoint, its keys (per-master keys tagged
   * with its anchor), the tokens it holds entries of (those whose slot it serves: a sync registers only those), and
   * whom to tell when a key turned out not to be on the master (the cluster's slot map is out of date).
   */
  record ClusterRole(String endpoint, RegistryKeys keys, Predicate<String> owns, Runnable onMoved) {
  }

  /** A registration, read or write whose keys are not on this master: the caller routes it again. */
  static final class KeyMovedException extends RuntimeException {
    KeyMovedException(String message) {
      super(message, null, false, false);
    }
  }

  static final KeyMovedException MOVED = new KeyMovedException("the key's slot is not on this Redis master");

  /**
   * True for the errors of a command or script that reached a key of a slot this master does not serve, or of a master
   * that is a replica now (a failover): the slot map is out of date.
   */
  static boolean isMoved(Throwable t) {
    String m = t == null ? null : t.getMessage();
    return m != null && (m.startsWith("MOVED") || m.startsWith("ASK") || m.contains("non local key")
      || m.startsWith("CLUSTERDOWN") || m.startsWith("TRYAGAIN") || m.startsWith("READONLY"));
  }

  // ------------------------------------------------------------------ shards

  @Override
  public void attachShard(String shardAddress, Context context, Supplier<Collection<String>> tokens,
                          Supplier<Map<String, Integer>> subscribers) {
    ctx.runOnContext(v -> {
      if (closed) {
        return;
      }
      attached.put(shardAddress, new Attached(context, tokens, subscribers));
      // lookups on this node wait (fall back) until the shard's first sync wrote its marker
      dirty.add(shardAddress);
      inSync = false;
      if (breaker.allowRequest()) {
        requestSync(shardAddress);
      }
    });
  }

  @Override
  public Future<Registered> register(String token, String shardAddress) {
    Waiter waiter = new Waiter(shardAddress, token, Vertx.currentContext(), Promise.promise());
    ctx.runOnContext(v -> {
      if (closed || !breaker.allowRequest()) {
        // Redis is down: do not hold the handshake; the shard re-registers everything when Redis is back
        waiter.settle(Registered.UNKNOWN);
        return;
      }
      queue.add(shardAddress, token);
      waiters.add(waiter);
      scheduleFlush();
    });
    return waiter.promise().future();
  }

  @Override
  public void unregister(String token, String shardAddress) {
    ctx.runOnContext(v -> {
      if (!closed && breaker.allowRequest()) {
        queue.remove(shardAddress, token);
        scheduleFlush();
      }
    });
  }

  @Override
  public void subscribers(String channel, String shardAddress, int count) {
    ctx.runOnContext(v -> {
      if (!closed && breaker.allowRequest()) {
        queue.count(shardAddress, channel, count);
        scheduleFlush();
      }
    });
  }

  /** One HGETALL of the channel's counts, summed over the shards that are live now (a crashed node's are not). */
  @Override
  public Future<Long> subscriberCount(String channel) {
    if (closed || !breaker.allowRequest()) {
      return Future.failedFuture(closed ? CLOSED : BREAKER_OPEN);
    }
    Context caller = Vertx.currentContext();
    return withTimeout(sendOnLoop(caller, Request.cmd(Command.HGETALL).arg(keys.subscribers(channel)), lookupChannels))
      .map(r -> {
        long n = 0;
        for (String shard : r.getKeys()) {
          if (directory.isLive(shard)) {
            n += r.get(shard).toLong();
          }
        }
        return n;
      })
      .onFailure(t -> failure("count", t));
  }

  @Override
  public void removeShard(String shardAddress) {
    ctx.runOnContext(v -> {
      attached.remove(shardAddress);
      dirty.remove(shardAddress);
      syncRequested.remove(shardAddress);
      updateInSync();
      queue.cleanup(shardAddress);
      scheduleFlush();
    });
  }

  /** Asks the shard, on its own context, for everything it holds, and queues it as a full sync. */
  private void requestSync(String shard) {
    Attached a = attached.get(shard);
    if (a == null || !syncRequested.add(shard)) {
      return;
    }
    a.context().runOnContext(v -> {
      Collection<String> tokens;
      Map<String, Integer> counts;
      try {
        tokens = a.tokens().get();
        counts = a.counts().get();
      } catch (RuntimeException e) {
        log.warn("shard {} could not list its tokens", shard, e);
        tokens = null;
        counts = null;
      }
      Collection<String> snapshot = tokens;
      Map<String, Integer> countSnapshot = counts;
      ctx.runOnContext(w -> {
        syncRequested.remove(shard);
        if (closed || snapshot == null || attached.get(shard) != a || !breaker.allowRequest()) {
          return;
        }
        if (role == null) {
          queue.sync(shard, snapshot);
          queue.counts(shard, countSnapshot);
        } else {
          // on a cluster master: only the tokens and channels whose slot it serves
          queue.sync(shard, snapshot.stream().filter(role.owns()).toList());
          Map<String, Integer> owned = new HashMap<>();
          countSnapshot.forEach((channel, n) -> {
            if (role.owns().test(ChannelName.interestKey(channel))) {
              owned.put(channel, n);
            }
          });
          queue.counts(shard, owned);
        }
        scheduleFlush();
      });
    });
  }

  private void heartbeat() {
    if (closed || !breaker.allowRequest()) {
      return;
    }
    for (String shard : attached.keySet()) {
      requestSync(shard);
    }
  }

  // ------------------------------------------------------------------ flushing

  private void scheduleFlush() {
    pendingWrites = queue.size();
    if (flushScheduled || flushing) {
      return;
    }
    flushScheduled = true;
    long delay = lastFlushFailed ? settings.breakerProbeMillis : settings.coalesceMillis;
    if (delay <= 0 || drained != null) {
      ctx.runOnContext(v -> flush());
    } else {
      vertx.setTimer(delay, id -> flush());
    }
  }

  private void flush() {
    flushScheduled = false;
    if (flushing || queue.isEmpty() || !breaker.allowRequest()) {
      checkDrained();
      return;
    }
    WriteQueue.Flush flush = queue.take(CHUNK);
    pendingWrites = 0;
    List<Waiter> done = waiters;
    waiters = new ArrayList<>();
    flushing = true;
    List<Request> requests = RegistryScripts.flush(flush, keys, settings.ttlMillis,
      historySettings != null ? historySettings.ttlMillis : 0, nodeId);
    writeBatch(requests).onComplete(ar -> ctx.runOnContext(v -> flushed(flush, done, ar)));
  }

  private void flushed(WriteQueue.Flush flush, List<Waiter> done, AsyncResult<List<Response>> ar) {
    flushing = false;
    Map<String, Registered> registered = Map.of();
    Set<String> moved = Set.of();
    if (ar.succeeded()) {
      registered = registeredPositions(flush, ar.result());
      moved = movedRegistrations(flush, ar.result());
      lastFlushFailed = false;
      flushes.incrementAndGet();
      writtenOps.addAndGet(flush.operations());
      answered();
      for (String shard : flush.synced()) {
        if (dirty.remove(shard)) {
          log.debug("shard {} is registered in Redis", shard);
        }
      }
    } else {
      lastFlushFailed = true;
      flushFailures.incrementAndGet();
      failure("write", ar.cause());
      if (role != null && isMoved(ar.cause())) {
        role.onMoved().run();
      }
      // what this flush wrote is unknown now: its shards re-assert everything, gone shards are cleaned again
      for (WriteQueue.Step step : flush.steps()) {
        if (attached.containsKey(step.shard())) {
          dirty.add(step.shard());
        }
      }
      for (String shard : flush.cleaned()) {
        if (!attached.containsKey(shard)) {
          queue.cleanupFirst(shard);
        }
      }
      if (breaker.onFailure()) {
        opened();
      }
    }
    updateInSync();
    for (Waiter w : done) {
      String key = w.shard() + " " + w.token();
      if (moved.contains(key)) {
        w.fail(MOVED);
      } else {
        w.settle(registered.getOrDefault(key, Registered.UNKNOWN));
      }
    }
    if (breaker.allowRequest() && !closed) {
      for (String shard : dirty) {
        if (!queue.syncQueued(shard)) {
          requestSync(shard);
        }
      }
    }
    if (!queue.isEmpty()) {
      scheduleFlush();
    }
    checkDrained();
  }

  /**
   * The registrations ("shard token") of a flush whose keys were not on this cluster master (their slot moved): they go
   * to the master that has it now. Other ops that found their slot moved only tell the role: a sync's token belongs to
   * the new master now (its entry moved with the slot), a removal's entry expires with its TTL.
   */
  private Set<String> movedRegistrations(WriteQueue.Flush flush, List<Response> responses) {
    if (role == null) {
      return Set.of();
    }
    Set<String> out = new HashSet<>();
    boolean any = false;
    List<WriteQueue.Step> steps = flush.steps();
    for (int i = 0; i < steps.size() && i < responses.size(); i++) {
      WriteQueue.Step step = steps.get(i);
      if (step.kind() == WriteQueue.Kind.COUNTS) {
        // a count whose slot moved: the next heartbeat writes it on the master serving the channel's slot
        any |= responses.get(i).get(1).toInteger() > 0;
        continue;
      }
      if (step.kind() != WriteQueue.Kind.APPLY) {
        continue;
      }
      for (int op : HistoryScripts.movedOps(responses.get(i))) {
        any = true;
        if (!step.toSyncIndex() && step.adds().get(op)) {
          out.add(step.shard() + " " + step.tokens().get(op));
        }
      }
    }
    if (any) {
      role.onMoved().run();
    }
    return out;
  }

  /** Where each registered (shard, token) found the streams, from the flush's APPLY answers; keyed "shard token". */
  private Map<String, Registered> registeredPositions(WriteQueue.Flush flush, List<Response> responses) {
    if (historySettings == null) {
      return Map.of();
    }
    Map<String, Registered> out = new HashMap<>();
    List<WriteQueue.Step> steps = flush.steps();
    for (int i = 0; i < steps.size() && i < responses.size(); i++) {
      WriteQueue.Step step = steps.get(i);
      if (step.kind() != WriteQueue.Kind.APPLY) {
        continue;
      }
      List<Registered> positions = HistoryScripts.registered(responses.get(i), step.tokens().size());
      int p = 0;
      for (int t = 0; t < step.tokens().size() && p < positions.size(); t++) {
        if (step.adds().get(t)) {
          out.put(step.shard() + " " + step.tokens().get(t), positions.get(p++));
        }
      }
    }
    return out;
  }

  /**
   * Runs a flush on the dedicated write connection, {@link #REQUESTS_PER_ROUND_TRIP} requests per round trip, one
   * after the other, each held to redis.timeout on its own: a flush may carry a whole shard's tokens (a heartbeat, a
   * re-sync, a reconnect storm's registrations), and under one timeout a big enough flush failed for its size alone;
   * its shards were then re-synced with a flush as big, so a node whose sync takes longer than redis.timeout was never
   * in sync again (targeted dispatch off, and with the history every batch stored only after the re-sync that never
   * came). Answers in the requests' order; fails as a whole when any round trip fails (what the earlier ones wrote
   * stays written: a flush's writes are idempotent, and its shards re-sync as before).
   */
  private Future<List<Response>> writeBatch(List<Request> requests) {
    List<Response> answers = new ArrayList<>(requests.size());
    Future<Void> chain = Future.succeededFuture();
    for (int from = 0; from < requests.size(); from += REQUESTS_PER_ROUND_TRIP) {
      List<Request> part = requests.subList(from, Math.min(requests.size(), from + REQUESTS_PER_ROUND_TRIP));
      chain = chain.compose(v -> writeRoundTrip(part).map(r -> {
        answers.addAll(r);
        return null;
      }));
    }
    return chain.map(v -> answers);
  }

  /**
   * One round trip of a flush, loading the scripts first when Redis lost them. Only the round trip is held to
   * redis.timeout: opening the connection (TCP, handshake, a cold JVM's first TLS or codec classes) has its own,
   * longer bound, so a node's first flush at start-up is not reported as a Redis failure.
   */
  private Future<List<Response>> writeRoundTrip(List<Request> requests) {
    return writer()
      .compose(c -> withTimeout(c.batch(requests)))
      .recover(t -> RegistryScripts.isNoScript(t)
        ? writer().compose(c -> withTimeout(c.batch(RegistryScripts.load())))
            .compose(x -> writer().compose(c -> withTimeout(c.batch(requests))))
        : Future.failedFuture(t));
  }

  private Future<RedisConnection> writer() {
    RedisConnection c = writer;
    if (c != null) {
      return Future.succeededFuture(c);
    }
    // flushes run one at a time, so only one of them ever connects
    return withTimeout(redis.connect(), Math.max(settings.timeoutMillis, CONNECT_TIMEOUT_MIN_MS)).map(conn -> {
      conn.exceptionHandler(t -> dropWriter(conn, t));
      conn.endHandler(v -> dropWriter(conn, null));
      writer = conn;
      return conn;
    });
  }

  private void dropWriter(RedisConnection conn, Throwable t) {
    if (writer == conn) {
      writer = null;
      log.debug("Redis write connection lost: {}", t == null ? "closed" : t.toString());
      conn.close();
    }
  }

  // ------------------------------------------------------------------ lookups

  @Override
  public Future<RegistryLookup> lookup(Collection<String> tokens, List<Envelope> toStore) {
    boolean store = historySettings != null && toStore != null && !toStore.isEmpty();
    HistoryScripts.Appends appends = store ? HistoryScripts.appends(toStore) : null;
    // the slots of messages that went out unstored, here or on another node (it announces them): the next stored
    // batch raises their generations first, so none of their streams keeps an epoch across a message a client may
    // have missed and cannot replay
    Map<Integer, Long> raises = store ? pending.selectFor(appends.streams()) : Map.of();
    List<String> asked = tokens instanceof List<String> l ? l : new ArrayList<>(tokens);
    return dispatchPart(directory.all(), asked, appends, pending.keys(raises), "").transform(ar -> {
      if (ar.failed()) {
        if (store) {
          unstored(appends, new long[appends.count()]);
        }
        return Future.failedFuture(ar.cause());
      }
      PartAnswer answer = ar.result();
      if (answer.stored() != null) {
        HistoryScripts.Stored stored = answer.stored();
        pending.raised(raises, stored.unraised());
        pending.distrust(appends, stored.seqs());
        HistoryScripts.setPositions(toStore, appends, stored.epochs(), stored.seqs(), stored.stamp());
      }
      RegistryScripts.LookupAnswer found = answer.lookup();
      if (found == null || !found.complete()) {
        return Future.failedFuture(NOT_IN_SYNC);
      }
      // complete: every live shard's entries are in Redis, so a token it does not name is offline
      return Future.succeededFuture(new RegistryLookup(found.shardsByToken(), true));
    });
  }

  /** Counts a batch that went out unstored, and notes its streams' slots for a generation raise. */
  private void unstored(HistoryScripts.Appends appends, long[] seqs) {
    if (pending.unstored(appends, seqs)) {
      unstoredBatches.incrementAndGet();
    }
  }

  /**
   * Raises the generations {@code pending} has for the slots of {@code reads}' streams, in a call of their own to this
   * Redis before they are read, so that a read never answers from an epoch that a raise still to come ends (a client
   * would be told it recovered across a message that went out unstored).
   */
  Future<Void> raiseBeforeRead(PendingRaises pending, List<StreamRead> reads) {
    Map<Integer, Long> raises = pending.selectFor(() -> reads.stream().map(StreamRead::stream).iterator());
    return raises.isEmpty() ? Future.succeededFuture() : raiseOwn(pending, raises);
  }

  /**
   * What one DISPATCH (or LOOKUP) call answered: what it stored (null when it stored nothing), and the lookup (null
   * when the registry was not in sync, so it did not look up; not complete when a live shard's marker was missing).
   */
  record PartAnswer(HistoryScripts.Stored stored, RegistryScripts.LookupAnswer lookup) {
  }

  /**
   * One round trip to this Redis for a dispatched batch (or, on a cluster, for its part on this master): stores
   * {@code appends} (unless null; raising the generation keys {@code raises} first), then looks {@code tokens} up
   * against the markers of {@code live} shards, unless this node's shards are not in sync here. Fails when Redis does
   * not answer within redis.timeout, when the breaker is open, and when there is nothing to do but the registry is not
   * in sync. Answers on the caller's event loop.
   *
   * @param stamp the order stamp of stored messages, "" for Redis's clock
   */
  Future<PartAnswer> dispatchPart(List<String> live, List<String> tokens, HistoryScripts.Appends appends,
                                  List<String> raises, String stamp) {
    boolean store = appends != null;
    if (closed || !breaker.allowRequest()) {
      return Future.failedFuture(closed ? CLOSED : BREAKER_OPEN);
    }
    // not in sync: the registry's answer would not be trusted, but the batch is still stored
    boolean resolve = inSync;
    if (!resolve) {
      lookupsNotInSync.incrementAndGet();
      if (!store) {
        return Future.failedFuture(NOT_IN_SYNC);
      }
    }
    Context caller = Vertx.currentContext();
    Thread callerThread = Thread.currentThread();
    List<String> liveAsked = resolve ? live : List.of();
    List<String> asked = resolve ? tokens : List.of();
    Request request = store
      ? HistoryScripts.dispatch(keys, liveAsked, asked, appends, historySettings.size, historySettings.ttlMillis, raises, stamp)
      : RegistryScripts.lookup(keys, live, tokens);
    Promise<PartAnswer> promise = Promise.promise();
    long start = System.nanoTime();
    long timer = vertx.setTimer(settings.timeoutMillis, id -> {
      if (promise.tryFail(new TimeoutException("Redis lookup took more than " + settings.timeoutMillis + " ms"))) {
        lookupFailed(promise.future().cause());
      }
    });
    if (resolve) {
      lookups.incrementAndGet();
    }
    Handler<AsyncResult<Response>> answer = ar -> {
      vertx.cancelTimer(timer);
      if (promise.future().isComplete()) {
        // timed out: the batch went on unstored
        return;
      }
      if (ar.failed()) {
        lookupFailed(ar.cause());
        promise.tryFail(ar.cause());
        return;
      }
      HistoryScripts.Stored stored = null;
      RegistryScripts.LookupAnswer parsed;
      try {
        if (store) {
          stored = HistoryScripts.stored(ar.result());
          storeIdentity = stored.identity();
          metrics.history().appendSeconds(System.nanoTime() - start);
        }
        parsed = resolve ? RegistryScripts.parseLookup(ar.result(), liveAsked, asked, store ? 4 : 2) : null;
      } catch (RuntimeException e) {
        lookupFailed(e);
        promise.tryFail(e);
        return;
      }
      answered();
      if (parsed != null) {
        metrics.redisLookup(System.nanoTime() - start);
        if (!parsed.complete()) {
          lookupsNotInSync.incrementAndGet();
          unsynced(parsed.unsyncedShards());
        }
      }
      if (role != null && ((parsed != null && !parsed.away().isEmpty()) || (stored != null && stored.movedStreams().length > 0))) {
        role.onMoved().run();
      }
      promise.tryComplete(new PartAnswer(stored, parsed));
    };
    sendScript(caller, callerThread, request, answer, lookupChannels);
    return promise.future();
  }

  /**
   * Sends a script call on the caller's loop connection, loading the scripts first when Redis lost them, and hands
   * the answer to {@code answer} on the caller's context.
   */
  private void sendScript(Context caller, Thread callerThread, Request request, Handler<AsyncResult<Response>> answer,
                          Map<Thread, LookupChannel> channels) {
    sendOnLoop(caller, request, channels)
      .recover(t -> RegistryScripts.isNoScript(t)
        ? redis.batch(RegistryScripts.load()).compose(x -> redis.send(request))
        : Future.failedFuture(t))
      .onComplete(ar -> {
        if (caller == null || Thread.currentThread() == callerThread) {
          answer.handle(ar);
        } else {
          caller.runOnContext(v -> answer.handle(ar));
        }
      });
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

  /** Pages of one READ call, and which of its reads found their stream not on this master (cluster: moved). */
  record ReadAnswer(List<StreamPage> pages, int[] moved) {
  }

  /**
   * One READ call for {@code reads} on the caller's own connection (a shard's event loop has one, as a dispatcher's
   * does). Fails when Redis errs or does not answer within redis.timeout, or while the breaker is open.
   */
  Future<ReadAnswer> readPart(List<StreamRead> reads) {
    if (closed || !breaker.allowRequest()) {
      return Future.failedFuture(closed ? CLOSED : BREAKER_OPEN);
    }
    Context caller = Vertx.currentContext();
    Thread callerThread = Thread.currentThread();
    Request request = HistoryScripts.read(keys, reads, historySettings.ttlMillis);
    historyReads.incrementAndGet();
    Promise<ReadAnswer> promise = Promise.promise();
    long timer = vertx.setTimer(settings.timeoutMillis, id -> {
      if (promise.tryFail(new TimeoutException("Redis history read took more than " + settings.timeoutMillis + " ms"))) {
        readFailed(promise.future().cause());
      }
    });
    Handler<AsyncResult<Response>> answer = ar -> {
      vertx.cancelTimer(timer);
      if (promise.future().isComplete()) {
        return;
      }
      if (ar.failed()) {
        readFailed(ar.cause());
        promise.tryFail(ar.cause());
        return;
      }
      try {
        storeIdentity = HistoryScripts.identity(ar.result());
        ReadAnswer read = new ReadAnswer(HistoryScripts.pages(ar.result()), HistoryScripts.movedReads(ar.result()));
        answered();
        if (role != null && read.moved().length > 0) {
          role.onMoved().run();
        }
        promise.tryComplete(read);
      } catch (RuntimeException e) {
        readFailed(e);
        promise.tryFail(e);
      }
    };
    sendScript(caller, callerThread, request, answer, readChannels);
    return promise.future();
  }

  private void readFailed(Throwable t) {
    if (role != null && isMoved(t)) {
      role.onMoved().run();
    }
    historyReadFailures.incrementAndGet();
    failure("history", t);
    if (breaker.onFailure()) {
      ctx.runOnContext(v -> opened());
    }
  }

  /** The history in this Redis: pages are read with one READ call per {@link #read}. */
  private final class RedisHistory implements HistoryStore {

    @Override
    public Future<List<StreamPage>> read(List<StreamRead> streams) {
      return raiseBeforeRead(pending, streams).compose(x -> readPart(streams)).map(ReadAnswer::pages);
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
      return historyHealth();
    }
  }

  /** The history entry of /health. */
  JsonObject historyHealth() {
    String status = closed ? "closed" : !breaker.allowRequest() ? "down" : "up";
    return new JsonObject().put("store", "redis").put("status", status)
      // the store identity: a Redis restart, a failover or messages that went out unstored change it, and with it
      // every stream's epoch
      .put("epoch", storeIdentity)
      .put("size", historySettings.size).put("ttlMs", historySettings.ttlMillis)
      .put("maxReplay", historySettings.maxReplay)
      .put("unstoredBatches", unstoredBatches.get())
      .put("generationsToRaise", pending.ranges())
      .put("reads", historyReads.get()).put("readFailures", historyReadFailures.get());
  }

  /** A lookup connection bound to one event loop; used only from that loop's thread. */
  private static final class LookupChannel {
    final Redis client;
    RedisConnection connection;
    Future<RedisConnection> connecting;

    LookupChannel(Redis client) {
      this.client = client;
    }
  }

  /** Sends on the caller's event loop's own connection (pooled when the caller is not on an event loop). */
  private Future<Response> sendOnLoop(Context caller, Request request, Map<Thread, LookupChannel> channels) {
    if (caller == null || !caller.isEventLoopContext()) {
      return redis.send(request);
    }
    LookupChannel ch = channels.computeIfAbsent(Thread.currentThread(),
      t -> new LookupChannel(Redis.createClient(vertx, new RedisOptions(options).setMaxPoolSize(1).setMaxPoolWaiting(16))));
    if (ch.connection != null) {
      return ch.connection.send(request);
    }
    if (ch.connecting == null) {
      // connected from this event loop, the connection lives on it: its answers need no hop
      ch.connecting = ch.client.connect().map(c -> {
        c.exceptionHandler(t -> dropLookupConnection(ch, c));
        c.endHandler(v -> dropLookupConnection(ch, c));
        ch.connection = c;
        ch.connecting = null;
        return c;
      }).onFailure(t -> ch.connecting = null);
    }
    return ch.connecting.compose(c -> c.send(request));
  }

  private static void dropLookupConnection(LookupChannel ch, RedisConnection c) {
    if (ch.connection == c) {
      ch.connection = null;
      c.close();
    }
  }

  private void lookupFailed(Throwable t) {
    if (role != null && isMoved(t)) {
      role.onMoved().run();
    }
    lookupFailures.incrementAndGet();
    failure("lookup", t);
    if (breaker.onFailure()) {
      ctx.runOnContext(v -> opened());
    }
  }

  /** Live shards whose marker is missing: ours re-register at once (Redis restarted empty or failed over). */
  private void unsynced(List<String> shards) {
    ctx.runOnContext(v -> {
      for (String shard : shards) {
        if (attached.containsKey(shard) && breaker.allowRequest()) {
          if (dirty.add(shard)) {
            log.info("Redis{} has no complete entries of shard {} (restarted empty or failed over?): re-registering it",
              where(), shard);
          }
          if (!queue.syncQueued(shard)) {
            requestSync(shard);
          }
        }
      }
      updateInSync();
    });
  }

  // ------------------------------------------------------------------ breaker

  private void failure(String operation, Throwable t) {
    metrics.redisError(operation);
    lastError = operation + ": " + t;
    lastErrorAtMillis = System.currentTimeMillis();
    log.debug("Redis {} failed: {}", operation, t.toString());
  }

  /** The breaker opened: stop writing, fall back, probe until Redis answers. */
  private void opened() {
    if (role == null) {
      log.warn("Redis unavailable ({}): dispatch falls back to every shard until it answers again", lastError);
    } else {
      log.warn("Redis Cluster master {} unavailable ({}): its tokens fall back to every shard until it answers again",
        endpoint, lastError);
    }
    queue.dropAllButCleanups();
    pendingWrites = queue.size();
    dirty.addAll(attached.keySet());
    updateInSync();
    List<Waiter> done = waiters;
    waiters = new ArrayList<>();
    done.forEach(w -> w.settle(Registered.UNKNOWN));
    if (probeTimer < 0 && !closed) {
      probeTimer = vertx.setPeriodic(Math.max(10, settings.breakerProbeMillis / 4), id -> probe());
    }
    checkDrained();
  }

  /**
   * A call answered. When that closes an open breaker (the late answer of a call sent before it opened can come
   * before the probe), Redis is back exactly as after a probe: every shard re-registers what it holds. Closing it
   * without that left the shards "not in sync" and the connections made while it was open unregistered until the
   * next heartbeat (up to registry.heartbeat), while other nodes' lookups routed their tokens to stale entries.
   */
  private void answered() {
    if (breaker.onSuccess()) {
      ctx.runOnContext(v -> recovered());
    }
  }

  private void probe() {
    if (closed || !breaker.tryProbe()) {
      return;
    }
    withTimeout(redis.send(Request.cmd(Command.PING))).onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.succeeded()) {
        if (breaker.onSuccess()) {
          recovered();
        }
      } else {
        failure("probe", ar.cause());
        breaker.onFailure();
      }
    }));
  }

  /** Redis answers again: every shard re-asserts all it holds; lookups resume once that is written. */
  private void recovered() {
    vertx.cancelTimer(probeTimer);
    probeTimer = -1;
    lastFlushFailed = false;
    log.info("Redis{} answers again: re-registering {} shards before targeted dispatch resumes", where(), attached.size());
    dirty.addAll(attached.keySet());
    updateInSync();
    for (String shard : attached.keySet()) {
      requestSync(shard);
    }
    if (!queue.isEmpty()) {
      scheduleFlush();
    }
  }

  private void updateInSync() {
    inSync = dirty.isEmpty();
  }

  private <T> Future<T> withTimeout(Future<T> f) {
    return withTimeout(f, settings.timeoutMillis);
  }

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

  /**
   * Registers everything {@code shard} holds here again (a registration of it could not be written on this master):
   * until that is written this node's lookups here fall back and the node announces its entries incomplete.
   */
  void resync(String shard) {
    ctx.runOnContext(v -> {
      if (closed || !attached.containsKey(shard)) {
        return;
      }
      // its marker goes at once: every node's lookups here stop trusting this master's entries until the re-sync
      // writes it again (this node's own announcement of incomplete entries would take up to a cluster round)
      redis.send(Request.cmd(Command.DEL).arg(keys.marker(shard))).onFailure(t -> log.debug("marker not deleted: {}", t.toString()));
      dirty.add(shard);
      updateInSync();
      if (breaker.allowRequest() && !queue.syncQueued(shard)) {
        requestSync(shard);
      }
    });
  }

  /** The store identity the last call answered with (run id and generation): the history's epoch in /health. */
  String storeIdentity() {
    return storeIdentity;
  }

  /** " master ENDPOINT" on a Redis Cluster, else "" (for logs). */
  private String where() {
    return role == null ? "" : " master " + endpoint;
  }

  // ------------------------------------------------------------------ state

  /** Lookups are answered from Redis (breaker closed, every local shard registered). */
  public boolean available() {
    return !closed && breaker.allowRequest() && inSync;
  }

  @Override
  public boolean complete() {
    return available();
  }

  public CircuitBreaker.State breakerState() {
    return breaker.state();
  }

  JsonObject health() {
    String status = closed ? "closed" : !breaker.allowRequest() ? "down" : !inSync ? "syncing" : "up";
    return new JsonObject()
      .put("status", status)
      .put("mode", settings.mode)
      .put("endpoint", endpoint)
      .put("breaker", breaker.state().name().toLowerCase())
      .put("consecutiveFailures", breaker.consecutiveFailures())
      .put("timesOpened", breaker.timesOpened())
      .put("shards", attached.size())
      .put("pendingWrites", pendingWrites)
      .put("lastError", lastError)
      // when: an error long past, with the status up, is history rather than a problem
      .put("lastErrorAt", lastErrorAtMillis == 0 ? "" : java.time.Instant.ofEpochMilli(lastErrorAtMillis).toString())
      // lookups so far, and those that fell back to every shard: Redis failed or timed out (lookupFailures), or a
      // shard's entries were incomplete (lookupsNotInSync)
      .put("lookups", lookups.get())
      .put("lookupFailures", lookupFailures.get())
      .put("lookupsNotInSync", lookupsNotInSync.get());
  }

  /** Counters for tests, benchmarks and /health. */
  public JsonObject stats() {
    return health()
      .put("flushes", flushes.get())
      .put("flushFailures", flushFailures.get())
      .put("writtenOps", writtenOps.get());
  }

  @Override
  public String kind() {
    return "redis";
  }

  /** Writes what is still queued (the clean-up of shards that just stopped), within the timeout, then closes. */
  @Override
  public Future<Void> close() {
    Promise<Void> done = Promise.promise();
    ctx.runOnContext(v -> {
      if (drained != null) {
        drained.future().onComplete(done);
        return;
      }
      drained = Promise.promise();
      vertx.cancelTimer(heartbeatTimer);
      vertx.cancelTimer(probeTimer);
      vertx.cancelTimer(raiseTimer);
      vertx.setTimer(settings.timeoutMillis * 2 + settings.coalesceMillis, id -> drained.tryComplete());
      if (!queue.isEmpty()) {
        scheduleFlush();
      }
      checkDrained();
      drained.future()
        .eventually(() -> {
          closed = true;
          attached.clear();
          RedisConnection c = writer;
          writer = null;
          return c != null ? c.close() : Future.succeededFuture();
        })
        .eventually(() -> {
          List<Future<Void>> closing = new ArrayList<>();
          lookupChannels.values().forEach(ch -> closing.add(ch.client.close()));
          lookupChannels.clear();
          readChannels.values().forEach(ch -> closing.add(ch.client.close()));
          readChannels.clear();
          closing.add(redis.close());
          return Future.join(closing);
        })
        .onComplete(ar -> done.complete());
    });
    return done.future();
  }

  private void checkDrained() {
    if (drained != null && !flushing && (queue.isEmpty() || !breaker.allowRequest() || lastFlushFailed)) {
      drained.tryComplete();
    }
  }

  /** The Redis client, for tests. */
  Redis client() {
    return redis;
  }

  /** A one-line summary for logs. */
  @Override
  public String toString() {
    return "redis " + endpoint + " " + stats().encode();
  }

  Set<String> attachedShards() {
    return new LinkedHashSet<>(attached.keySet());
  }
}
