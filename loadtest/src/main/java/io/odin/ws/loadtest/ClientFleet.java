package io.odin.ws.loadtest;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import org.HdrHistogram.Recorder;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Real WebSocket clients over TCP, in this process: connections {@code [from, to)} of the run, opened at the
 * ramp rate with a bounded number of handshakes in flight, spread over one owner per event loop. Each
 * connection costs Vert.x's client socket plus a few dozen bytes here; what it receives is parsed without a
 * JSON parser, timed into a latency histogram and (for verification) remembered as sequence numbers.
 * <p>With {@link Reconnect#enabled()} a connection the server closes with a code that says "come back" (1001 going
 * away, 1006 gone without a close frame, 1011, 1012, 1013 try again later, 4408 idle) reconnects after the
 * reconnect delay plus a random share of the jitter, as a client library would: to the next endpoint (the cluster's
 * next node, or a failover URL) when its node went away or a reconnect attempt failed, else to the same one. With
 * {@link Reconnect#withCursor()} it keeps the {@code id} of the last message it received and reconnects with
 * {@code since=} it, counting the {@code resumed} frames (docs/protocol.md, "Reconnecting without loss"); the
 * replayed messages' latency (mostly the time away) is kept apart from live deliveries'.
 * <p>A handshake refused with 503 and {@code Retry-After} (a node admitting a reconnect storm at
 * {@code ws.maxHandshakesPerSecond}) is tried again after what the header says plus a random share of a second, at the
 * same node, as docs/protocol.md asks of clients: it is counted apart ({@link FleetStats#rateLimited}), not as a failed
 * attempt. {@link #churn} takes connections away and back as clients come and go.
 */
public final class ClientFleet implements Fleet {

  /** Attempts per connection before it is given up (its first connect; reconnects try until the run ends). */
  static final int MAX_ATTEMPTS = 3;
  /** Longest wait between two failed reconnect attempts. */
  static final long MAX_BACKOFF_MILLIS = 2_000;

  /** A WebSocket endpoint: one node. */
  public record Endpoint(String host, int port, String path) {
  }

  /**
   * How connections come back after the server closed them.
   *
   * @param enabled      reconnect after a close that says "come back"
   * @param withCursor   with {@code since=} the last message's {@code id}
   * @param delayMillis  the least wait before a reconnect
   * @param jitterMillis plus a uniformly random share of this
   */
  public record Reconnect(boolean enabled, boolean withCursor, long delayMillis, long jitterMillis) {
    public static final Reconnect OFF = new Reconnect(false, false, 1000, 1000);
  }

  /**
   * What to open and how; connection {@code i} goes to {@code endpoints[i % n]}, reconnects may also go to
   * {@code failover} (endpoints that take no first connects).
   */
  public record Spec(List<Endpoint> endpoints, List<Endpoint> failover, TokenPlan plan, int from, int to,
                     String sourceAddress, double rampPerSecond, int maxPendingHandshakes, long connectTimeoutMillis,
                     String runId, boolean recordReceipts, int eventLoops, String jwtSecret, Reconnect reconnect) {
  }

  /** Close codes after which a client comes back (docs/protocol.md, close codes). */
  static boolean comesBackAfter(int code) {
    return code == 1001 || code == 1006 || code == 1011 || code == 1012 || code == 1013 || code == 4408;
  }

  /** Close codes that say the node itself went away: the client tries another node. */
  static boolean nodeWentAway(int code) {
    return code == 1001 || code == 1006 || code == 1011 || code == 1012;
  }

  /** True when connection {@code id} is one of the {@code permille} per mille an offline spell takes ({@code salt}: the spell). */
  static boolean takenBySpell(int id, int permille, int salt) {
    long h = (id * 0x9E3779B97F4A7C15L) ^ (salt * 0xC2B2AE3D27D4EB4FL);
    h ^= h >>> 31;
    h *= 0xBF58476D1CE4E5B9L;
    h ^= h >>> 29;
    return Math.floorMod(h, 1000) < permille;
  }

  /** Lifetime of the JWTs the load tool signs: longer than any run. */
  static final int JWT_TTL_SECONDS = 24 * 3600;

  private static final byte[] ID_OPEN = Payload.ascii("{\"id\":\"");
  private static final byte[] RESUMED = Payload.ascii("{\"type\":\"resumed\",\"recovered\":");
  private static final byte[] REPLAYED = Payload.ascii("\"replayed\":");

  private final Spec spec;
  /** The first-connect endpoints, then the failover ones: where reconnects may go. */
  private final List<Endpoint> endpoints;
  private final Vertx vertx;
  private final WebSocketClient client;
  private final byte[] runBytes;
  /** Signs one HS256 JWT per connection (sub = its token) when --jwt-secret is given; null otherwise. */
  private final JWTAuth jwtSigner;
  private final Recorder targeted = new Recorder(3_600_000_000L, 3);
  private final Recorder broadcast = new Recorder(3_600_000_000L, 3);
  private final Recorder channel = new Recorder(3_600_000_000L, 3);
  private final Recorder replayedLatency = new Recorder(3_600_000_000L, 3);
  private final LongAdder received = new LongAdder();
  private final LongAdder foreign = new LongAdder();
  private final LongAdder other = new LongAdder();
  private final AtomicLong opened = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong connectErrors = new AtomicLong();
  private final AtomicLong closed = new AtomicLong();
  private final AtomicLong reopened = new AtomicLong();
  private final AtomicLong reconnectErrors = new AtomicLong();
  private final AtomicLong recovered = new AtomicLong();
  private final AtomicLong notRecovered = new AtomicLong();
  private final AtomicLong replayed = new AtomicLong();
  private final AtomicLong rateLimited = new AtomicLong();
  private final List<Owner> owners = new ArrayList<>();
  private volatile boolean closing;

  public ClientFleet(Spec spec) {
    this.spec = spec;
    List<Endpoint> all = new ArrayList<>(spec.endpoints());
    all.addAll(spec.failover());
    this.endpoints = List.copyOf(all);
    this.runBytes = spec.runId().getBytes(StandardCharsets.US_ASCII);
    this.jwtSigner = spec.jwtSecret() == null ? null : JWTAuth.create(null, new JWTAuthOptions()
      .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(spec.jwtSecret())));
    // epoll when it loads: the clients share the machine with the gateway, so their cost per message counts too
    this.vertx = Vertx.vertx(new VertxOptions()
      .setPreferNativeTransport(true)
      .setEventLoopPoolSize(spec.eventLoops())
      .setWorkerPoolSize(1)
      .setInternalBlockingPoolSize(1)
      .setBlockedThreadCheckInterval(10_000));
    WebSocketClientOptions options = new WebSocketClientOptions()
      // a reconnect storm may hold a closing socket and its replacement at once
      .setMaxConnections(2 * Math.max(1, spec.to() - spec.from()) + 16)
      .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, spec.connectTimeoutMillis()))
      .setMaxFrameSize(1 << 20)
      .setMaxMessageSize(1 << 20)
      .setTcpNoDelay(true)
      .setTryUsePerMessageCompression(false)
      .setTryUsePerFrameCompression(false);
    if (spec.sourceAddress() != null) {
      options.setLocalAddress(spec.sourceAddress());
    }
    this.client = vertx.createWebSocketClient(options);
    int n = Math.max(1, Math.min(spec.eventLoops(), spec.to() - spec.from()));
    for (int k = 0; k < n; k++) {
      owners.add(new Owner(k, n));
    }
  }

  @Override
  public void start() {
    for (Owner o : owners) {
      join(vertx.deployVerticle(o, new DeploymentOptions()), 30_000);
    }
  }

  @Override
  public FleetStats poll() {
    FleetStats s = new FleetStats();
    s.planned = spec.to() - spec.from();
    s.opened = opened.get();
    s.failed = failed.get();
    s.connectErrors = connectErrors.get();
    s.closed = closed.get();
    s.reopened = reopened.get();
    s.reconnectErrors = reconnectErrors.get();
    s.recovered = recovered.get();
    s.notRecovered = notRecovered.get();
    s.replayed = replayed.get();
    s.rateLimited = rateLimited.get();
    s.received = received.sum();
    s.foreign = foreign.sum();
    s.otherFrames = other.sum();
    s.rampDone = s.opened + s.failed >= s.planned;
    s.targeted.add(targeted.getIntervalHistogram());
    s.broadcast.add(broadcast.getIntervalHistogram());
    s.channel.add(channel.getIntervalHistogram());
    s.replayedLatency.add(replayedLatency.getIntervalHistogram());
    s.rssKiB = ProcStats.rssKiB(ProcStats.selfPid());
    s.cpuMillis = ProcStats.cpuMillis(ProcStats.selfPid());
    return s;
  }

  @Override
  public void offline(int permille, long millis, int salt) {
    for (Owner o : owners) {
      o.context().runOnContext(v -> o.offline(permille, millis, salt));
    }
  }

  @Override
  public void churn(int permille, long maxAwayMillis, int salt) {
    for (Owner o : owners) {
      o.context().runOnContext(v -> o.churn(permille, maxAwayMillis, salt));
    }
  }

  /**
   * The wait a refused handshake asks for: a 503's {@code Retry-After} in milliseconds (delay-seconds, as odin-ws sends
   * it), or -1 when the failure was something else.
   */
  static long retryAfterMillis(Throwable failure) {
    if (failure instanceof UpgradeRejectedException r && r.getStatus() == 503 && r.getHeaders() != null) {
      String v = r.getHeaders().get("retry-after");
      if (v != null && v.trim().matches("\\d{1,6}")) {
        return Long.parseLong(v.trim()) * 1000;
      }
    }
    return -1;
  }

  @Override
  public List<ConnectionRecord> receipts() {
    List<CompletableFuture<List<ConnectionRecord>>> parts = new ArrayList<>();
    for (Owner o : owners) {
      CompletableFuture<List<ConnectionRecord>> f = new CompletableFuture<>();
      o.context().runOnContext(v -> f.complete(o.records()));
      parts.add(f);
    }
    List<ConnectionRecord> all = new ArrayList<>(spec.to() - spec.from());
    for (CompletableFuture<List<ConnectionRecord>> f : parts) {
      try {
        all.addAll(f.get(60, TimeUnit.SECONDS));
      } catch (Exception e) {
        throw new IllegalStateException("could not collect receipts: " + e, e);
      }
    }
    return all;
  }

  @Override
  public void close() {
    closing = true;
    try {
      join(client.close(), 60_000);
    } catch (RuntimeException e) {
      // closing anyway
    }
    join(vertx.close(), 60_000);
  }

  private static <T> T join(Future<T> f, long timeoutMillis) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.toString(), e);
    }
  }

  /** One handshake's lifetime, as it happens (the record's {@link ConnectionRecord.Session} once it is over). */
  private static final class SessionState {
    final long openedAt;
    final int firstReceived;
    long closedAt = Long.MAX_VALUE;
    int closeCode = ConnectionRecord.NO_CODE;
    boolean byClient;
    ConnectionRecord.Resume resume;
    long resumedAt = Long.MAX_VALUE;
    int replayed;

    SessionState(long openedAt, int firstReceived, ConnectionRecord.Resume resume) {
      this.openedAt = openedAt;
      this.firstReceived = firstReceived;
      this.resume = resume;
    }

    ConnectionRecord.Session toRecord() {
      return new ConnectionRecord.Session(openedAt, closedAt, closeCode, byClient, resume, resumedAt, replayed,
        firstReceived);
    }
  }

  /** One client connection, over all its sessions. Touched only on its owner's event loop. */
  private static final class Conn implements Handler<Buffer> {
    final int id;
    final Owner owner;
    /** Index into {@code endpoints} of where it connects (next). */
    int endpoint;
    int attempts;
    /** Failed reconnect attempts in a row (back-off). */
    int reconnectFailures;
    /** The socket of the open session; null between sessions. */
    WebSocket ws;
    boolean connecting;
    /** The tool closed it (an offline spell): it comes back at {@code backAtNanos}. */
    boolean offline;
    long backAtNanos;
    ArrayList<SessionState> sessions;
    IntList received;
    /** With --reconnect-with-cursor: the hash of each received message's {@code id}, beside {@link #received}. */
    IntList receivedIds;
    /** The last message's id (its cursor), {@code cursorLength} bytes; null until the first message. */
    byte[] cursor;
    int cursorLength;
    /** Messages of the current session still to come from its replay. */
    int replayLeft;

    Conn(int id, Owner owner) {
      this.id = id;
      this.owner = owner;
    }

    SessionState session() {
      return sessions == null || sessions.isEmpty() ? null : sessions.get(sessions.size() - 1);
    }

    int receivedCount() {
      return received == null ? 0 : received.size();
    }

    @Override
    public void handle(Buffer frame) {
      owner.onFrame(this, frame);
    }
  }

  /** Opens and serves the connections {@code from + k, from + k + n, ...} on one event loop. */
  private final class Owner extends VerticleBase {
    private final int k;
    private final int n;
    private final int planned;
    private final double ratePerSecond;
    private final int maxPending;
    private final Conn[] conns;
    private final ArrayDeque<Conn> retries = new ArrayDeque<>();
    private final Payload.Receipt receipt = new Payload.Receipt();
    /**
     * With --reconnect-with-cursor, hashes of the frame being read's {@code id} (TOKENEPOCH.TOKENSEQ.BCASTEPOCH.BCASTSEQ):
     * its token stream's position and its broadcast stream's. A message's own stream's position says which stored
     * message it was; the other stream's moves with what else the connection received.
     */
    private int frameTokenPosition;
    private int frameBroadcastPosition;
    private final java.util.Random random;
    private int started;
    private int pending;
    private long startNanos;
    private long timer = -1;

    Owner(int k, int n) {
      this.k = k;
      this.n = n;
      int total = spec.to() - spec.from();
      this.planned = total / n + (k < total % n ? 1 : 0);
      this.ratePerSecond = spec.rampPerSecond() / n;
      this.maxPending = Math.max(1, spec.maxPendingHandshakes() / n);
      this.conns = new Conn[planned];
      this.random = new java.util.Random(spec.from() * 31L + k);
    }

    io.vertx.core.Context context() {
      return context;
    }

    @Override
    public Future<?> start() {
      startNanos = System.nanoTime();
      timer = vertx.setPeriodic(10, id -> tick());
      tick();
      return Future.succeededFuture();
    }

    private void tick() {
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      long due = Math.min(planned, (long) Math.floor(elapsed * ratePerSecond) + 1);
      while (pending < maxPending && !retries.isEmpty()) {
        connect(retries.poll());
      }
      while (pending < maxPending && started < due) {
        int id = spec.from() + k + started * n;
        Conn c = new Conn(id, this);
        c.endpoint = id % spec.endpoints().size();
        conns[started++] = c;
        connect(c);
      }
      if (started >= planned && retries.isEmpty() && timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }

    private WebSocketConnectOptions connectOptions(Conn c, String since) {
      Endpoint e = endpoints.get(c.endpoint);
      String token = spec.plan().name(spec.plan().tokenOf(c.id));
      String query = jwtSigner == null ? "?token=" + token : "";
      int ch = spec.plan().channelOf(c.id);
      if (ch >= 0) {
        // subscribed at the handshake, so a reconnect restores the subscription (and recovers it with the cursor)
        query += (query.isEmpty() ? "?" : "&") + "channels=" + spec.plan().channelName(ch);
      }
      if (since != null) {
        query += (query.isEmpty() ? "?" : "&") + "since=" + since;
      }
      WebSocketConnectOptions o = new WebSocketConnectOptions()
        .setHost(e.host())
        .setPort(e.port())
        .setURI(e.path() + query)
        .setTimeout(spec.connectTimeoutMillis());
      if (jwtSigner != null) {
        // one JWT per connection, signed as the operator's backend would: the handshake cost of auth.mode=jwt
        o.addHeader("Authorization", "Bearer " + jwtSigner.generateToken(new JsonObject().put("sub", token),
          new JWTOptions().setAlgorithm("HS256").setExpiresInSeconds(JWT_TTL_SECONDS)));
      }
      return o;
    }

    /** A first connect, during the ramp. */
    private void connect(Conn c) {
      if (closing) {
        return;
      }
      pending++;
      c.attempts++;
      client.connect(connectOptions(c, null)).onComplete(ar -> {
        pending--;
        if (ar.succeeded()) {
          opened(c, ar.result(), ConnectionRecord.Resume.NONE);
          opened.incrementAndGet();
        } else if (retryAfterMillis(ar.cause()) >= 0 && !closing) {
          // the node admits handshakes at its rate and said when to come back: not a failed attempt
          rateLimited.incrementAndGet();
          c.attempts--;
          vertx.setTimer(retryAfterMillis(ar.cause()) + random.nextLong(1000) + 1, id -> {
            retries.add(c);
            if (timer < 0) {
              timer = vertx.setPeriodic(10, t -> tick());
            }
          });
        } else {
          connectErrors.incrementAndGet();
          if (c.attempts < MAX_ATTEMPTS && !closing) {
            retries.add(c);
            if (timer < 0) {
              timer = vertx.setPeriodic(10, id -> tick());
            }
          } else {
            failed.incrementAndGet();
          }
        }
      });
    }

    /** A reconnect: with {@code since=} its cursor when it has one and the run asks for it. */
    private void reconnect(Conn c) {
      if (closing || c.ws != null || c.connecting) {
        return;
      }
      c.connecting = true;
      String since = spec.reconnect().withCursor() && c.cursor != null
        ? new String(c.cursor, 0, c.cursorLength, StandardCharsets.US_ASCII) : null;
      client.connect(connectOptions(c, since)).onComplete(ar -> {
        c.connecting = false;
        if (closing) {
          if (ar.succeeded()) {
            ar.result().close();
          }
          return;
        }
        if (ar.succeeded()) {
          c.reconnectFailures = 0;
          opened(c, ar.result(), since != null ? ConnectionRecord.Resume.PENDING : ConnectionRecord.Resume.NONE);
          reopened.incrementAndGet();
        } else if (retryAfterMillis(ar.cause()) >= 0) {
          // the node is up and admitting a storm at its rate: back there when it says, plus a share of a second
          rateLimited.incrementAndGet();
          vertx.setTimer(retryAfterMillis(ar.cause()) + random.nextLong(1000) + 1, id -> reconnect(c));
        } else {
          reconnectErrors.incrementAndGet();
          // that node may be gone: the next one, after a back-off
          c.endpoint = (c.endpoint + 1) % endpoints.size();
          long backoff = Math.min(MAX_BACKOFF_MILLIS, 250L << Math.min(4, c.reconnectFailures++));
          vertx.setTimer(backoff / 2 + random.nextLong(backoff / 2 + 1), id -> reconnect(c));
        }
      });
    }

    private void opened(Conn c, WebSocket ws, ConnectionRecord.Resume resume) {
      c.ws = ws;
      if (spec.recordReceipts() && c.received == null) {
        c.received = new IntList();
        if (spec.reconnect().withCursor()) {
          c.receivedIds = new IntList();
        }
      }
      if (c.sessions == null) {
        c.sessions = new ArrayList<>(1);
      }
      c.sessions.add(new SessionState(MicroClock.nowMicros(), c.receivedCount(), resume));
      c.replayLeft = 0;
      ws.handler(c);
      ws.exceptionHandler(t -> { });
      ws.closeHandler(v -> onClosed(c, ws));
    }

    private void onClosed(Conn c, WebSocket ws) {
      if (closing || c.ws != ws) {
        return;
      }
      c.ws = null;
      Short status = ws.closeStatusCode();
      int code = status == null ? 1006 : status;
      SessionState s = c.session();
      s.closedAt = MicroClock.nowMicros();
      s.closeCode = code;
      s.byClient = c.offline;
      closed.incrementAndGet();
      if (c.offline) {
        c.offline = false;
        long wait = Math.max(0, (c.backAtNanos - System.nanoTime()) / 1_000_000);
        vertx.setTimer(Math.max(1, wait), id -> reconnect(c));
        return;
      }
      if (!spec.reconnect().enabled() || !comesBackAfter(code)) {
        return;
      }
      if (nodeWentAway(code)) {
        c.endpoint = (c.endpoint + 1) % endpoints.size();
      }
      long wait = spec.reconnect().delayMillis()
        + (spec.reconnect().jitterMillis() > 0 ? random.nextLong(spec.reconnect().jitterMillis() + 1) : 0);
      vertx.setTimer(Math.max(1, wait), id -> reconnect(c));
    }

    /** An offline spell: the connections it takes close now (1000) and come back after {@code millis}. */
    void offline(int permille, long millis, int salt) {
      long back = System.nanoTime() + millis * 1_000_000L;
      for (int i = 0; i < started; i++) {
        Conn c = conns[i];
        if (c.ws != null && !c.offline && takenBySpell(c.id, permille, salt)) {
          c.offline = true;
          c.backAtNanos = back;
          c.ws.close((short) 1000, "offline");
        }
      }
    }

    /**
     * Churn: the connections taken close now (1000) and come back, each after a random share of {@code maxAwayMillis},
     * to the node they first connected to (as a load balancer spreads returning clients again, so a node that was
     * drained and restarted fills up again).
     */
    void churn(int permille, long maxAwayMillis, int salt) {
      long now = System.nanoTime();
      for (int i = 0; i < started; i++) {
        Conn c = conns[i];
        if (c.ws != null && !c.offline && takenBySpell(c.id, permille, salt)) {
          c.offline = true;
          c.backAtNanos = now + (maxAwayMillis > 0 ? random.nextLong(maxAwayMillis + 1) : 0) * 1_000_000L;
          c.endpoint = c.id % spec.endpoints().size();
          c.ws.close((short) 1000, "churn");
        }
      }
    }

    void onFrame(Conn c, Buffer frame) {
      long now = MicroClock.nowMicros();
      boolean replay = false;
      frameTokenPosition = 0;
      frameBroadcastPosition = 0;
      if (spec.reconnect().withCursor()) {
        if (startsWith(frame, ID_OPEN)) {
          keepCursor(c, frame);
          if (c.replayLeft > 0) {
            c.replayLeft--;
            replay = true;
          }
        } else if (startsWith(frame, RESUMED)) {
          onResumed(c, frame, now);
          return;
        }
      }
      int next = Payload.read(frame, 0, runBytes, receipt);
      if (!receipt.ours && !receipt.foreign) {
        other.increment();
        return;
      }
      // one message per frame today; a frame merging several is read message by message
      while (true) {
        if (receipt.ours) {
          long latency = Math.max(0, Math.min(now - receipt.tsMicros, 3_600_000_000L));
          (replay ? replayedLatency : receipt.kind == Payload.BROADCAST ? broadcast
            : receipt.kind == Payload.CHANNEL ? channel : targeted).recordValue(latency);
          received.increment();
          if (c.received != null) {
            c.received.add(receipt.seq);
            if (c.receivedIds != null) {
              c.receivedIds.add(receipt.kind == Payload.BROADCAST ? frameBroadcastPosition : frameTokenPosition);
            }
          }
        } else if (receipt.foreign) {
          foreign.increment();
        }
        if (next < 0) {
          return;
        }
        next = Payload.read(frame, next, runBytes, receipt);
        if (!receipt.ours && !receipt.foreign) {
          return;
        }
      }
    }

    /** The message frame's {@code id}: the connection's cursor from now on; its streams' positions go with the receipt. */
    private void keepCursor(Conn c, Buffer frame) {
      int from = ID_OPEN.length;
      int end = from;
      int n = frame.length();
      while (end < n && frame.getByte(end) != '"') {
        end++;
      }
      if (end == n || end - from > 64) {
        return;
      }
      if (c.cursor == null || c.cursor.length < end - from) {
        c.cursor = new byte[Math.max(48, end - from)];
      }
      frame.getBytes(from, end, c.cursor, 0);
      c.cursorLength = end - from;
      long positions = streamPositions(c.cursor, c.cursorLength);
      frameTokenPosition = (int) (positions >>> 32);
      frameBroadcastPosition = (int) positions;
    }

    /** {@code {"type":"resumed","recovered":BOOL,"replayed":N}}: what the session's recovery came to. */
    private void onResumed(Conn c, Buffer frame, long now) {
      boolean ok = frame.length() > RESUMED.length && frame.getByte(RESUMED.length) == 't';
      int at = Payload.indexOf(frame, REPLAYED, RESUMED.length, frame.length());
      long count = 0;
      for (int i = at < 0 ? frame.length() : at + REPLAYED.length; i < frame.length(); i++) {
        byte b = frame.getByte(i);
        if (b < '0' || b > '9') {
          break;
        }
        count = count * 10 + (b - '0');
      }
      SessionState s = c.session();
      if (s != null) {
        s.resume = ok ? ConnectionRecord.Resume.RECOVERED : ConnectionRecord.Resume.NOT_RECOVERED;
        s.resumedAt = now;
        s.replayed = (int) Math.min(Integer.MAX_VALUE, count);
      }
      c.replayLeft = ok ? (int) Math.min(Integer.MAX_VALUE, count) : 0;
      (ok ? recovered : notRecovered).incrementAndGet();
      replayed.addAndGet(ok ? count : 0);
    }

    List<ConnectionRecord> records() {
      List<ConnectionRecord> out = new ArrayList<>(started);
      for (int i = 0; i < started; i++) {
        Conn c = conns[i];
        int[] got = c.received == null ? new int[0] : c.received.toArray();
        int[] ids = c.receivedIds == null ? new int[0] : c.receivedIds.toArray();
        List<ConnectionRecord.Session> sessions = new ArrayList<>(c.sessions == null ? 0 : c.sessions.size());
        if (c.sessions != null) {
          for (SessionState s : c.sessions) {
            sessions.add(s.toRecord());
          }
        }
        out.add(new ConnectionRecord(c.id, spec.plan().tokenOf(c.id), sessions, got, ids));
      }
      return out;
    }
  }

  /**
   * A cursor's ({@code TOKENEPOCH.TOKENSEQ.BCASTEPOCH.BCASTSEQ}) two stream positions, hashed: the token stream's in
   * the high 32 bits, the broadcast stream's in the low ones; one hash of the whole in both when it has another form.
   */
  static long streamPositions(byte[] cursor, int length) {
    int dots = 0;
    int token = 0;
    int h = 1;
    for (int i = 0; i < length; i++) {
      byte b = cursor[i];
      if (b == '.' && ++dots == 2) {
        token = h;
        h = 1;
        continue;
      }
      h = 31 * h + b;
    }
    if (dots != 3) {
      h = java.util.Arrays.hashCode(java.util.Arrays.copyOf(cursor, length));
      token = h;
    }
    return (long) token << 32 | h & 0xffffffffL;
  }

  private static boolean startsWith(Buffer b, byte[] prefix) {
    if (b.length() < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b.getByte(i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
