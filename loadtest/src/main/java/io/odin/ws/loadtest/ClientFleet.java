package io.odin.ws.loadtest;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
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
 */
public final class ClientFleet implements Fleet {

  /** Attempts per connection before it is given up. */
  static final int MAX_ATTEMPTS = 3;

  /** A WebSocket endpoint: one node. */
  public record Endpoint(String host, int port, String path) {
  }

  /**
   * What to open and how; connection {@code i} goes to {@code endpoints[i % n]}. With {@code reconnect}, a connection
   * the server closes comes back after a random delay of up to {@code reconnectDelayMillis}, to the next endpoint
   * (and the next, while they refuse), with {@code since=} the last cursor it received, as docs/protocol.md's client does.
   */
  public record Spec(List<Endpoint> endpoints, TokenPlan plan, int from, int to, String sourceAddress,
                     double rampPerSecond, int maxPendingHandshakes, long connectTimeoutMillis, String runId,
                     boolean recordReceipts, int eventLoops, String jwtSecret, boolean reconnect,
                     long reconnectDelayMillis) {
  }

  /** Between two attempts of a connection coming back, while endpoints refuse it. */
  static final long RECONNECT_RETRY_MILLIS = 250;

  /** Lifetime of the JWTs the load tool signs: longer than any run. */
  static final int JWT_TTL_SECONDS = 24 * 3600;

  private final Spec spec;
  private final Vertx vertx;
  private final WebSocketClient client;
  private final byte[] runBytes;
  /** Signs one HS256 JWT per connection (sub = its token) when --jwt-secret is given; null otherwise. */
  private final JWTAuth jwtSigner;
  private final Recorder targeted = new Recorder(3_600_000_000L, 3);
  private final Recorder broadcast = new Recorder(3_600_000_000L, 3);
  private final LongAdder received = new LongAdder();
  private final LongAdder foreign = new LongAdder();
  private final LongAdder other = new LongAdder();
  private final AtomicLong opened = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong connectErrors = new AtomicLong();
  private final AtomicLong closed = new AtomicLong();
  private final AtomicLong reopened = new AtomicLong();
  private final AtomicLong recovered = new AtomicLong();
  private final AtomicLong notRecovered = new AtomicLong();
  private final AtomicLong withoutCursor = new AtomicLong();
  private final AtomicLong replayed = new AtomicLong();
  private final List<Owner> owners = new ArrayList<>();
  private volatile boolean closing;

  public ClientFleet(Spec spec) {
    this.spec = spec;
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
      .setMaxConnections(Math.max(1, spec.to() - spec.from()) + 16)
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
    s.recovered = recovered.get();
    s.notRecovered = notRecovered.get();
    s.withoutCursor = withoutCursor.get();
    s.replayed = replayed.get();
    s.received = received.sum();
    s.foreign = foreign.sum();
    s.otherFrames = other.sum();
    s.rampDone = s.opened + s.failed >= s.planned;
    s.targeted.add(targeted.getIntervalHistogram());
    s.broadcast.add(broadcast.getIntervalHistogram());
    s.rssKiB = ProcStats.rssKiB(ProcStats.selfPid());
    s.cpuMillis = ProcStats.cpuMillis(ProcStats.selfPid());
    return s;
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

  /** One client connection. Touched only on its owner's event loop. */
  private static final class Conn implements Handler<Buffer> {
    final int id;
    final Owner owner;
    long openedAt = Long.MAX_VALUE;
    long closedAt = Long.MAX_VALUE;
    IntList received;
    /** With --reconnect and receipts: the hash of each received message's cursor (its {@code id}), beside received. */
    IntList receivedIds;
    int attempts;
    /** Index of the endpoint it uses (or tries) now. */
    int endpoint;
    /** With --reconnect: the last cursor received, what it comes back with. */
    String cursor;
    /** With --reconnect: it came back with since= and the gateway's {@code resumed} has not arrived yet. */
    boolean awaitingResumed;
    /** With --reconnect: closed by the server, not back yet. */
    boolean away;
    long lastClosedAt;
    /** With --reconnect: the times it was away and came back without recovering, pairs [closed, reopened]. */
    long[] gaps = new long[0];

    Conn(int id, Owner owner) {
      this.id = id;
      this.owner = owner;
      this.endpoint = id % owner.endpointCount();
    }

    void addGap(long from, long to) {
      gaps = java.util.Arrays.copyOf(gaps, gaps.length + 2);
      gaps[gaps.length - 2] = from;
      gaps[gaps.length - 1] = to;
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
    /** The cursor hash of the frame being read (with --reconnect). */
    private int currentIdHash;
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
    }

    io.vertx.core.Context context() {
      return context;
    }

    int endpointCount() {
      return spec.endpoints().size();
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
        conns[started++] = c;
        connect(c);
      }
      if (started >= planned && retries.isEmpty() && timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }

    private void connect(Conn c) {
      if (closing) {
        return;
      }
      pending++;
      c.attempts++;
      Endpoint e = spec.endpoints().get(c.endpoint);
      String token = spec.plan().name(spec.plan().tokenOf(c.id));
      boolean returning = c.away;
      String since = returning && c.cursor != null
        ? "since=" + java.net.URLEncoder.encode(c.cursor, StandardCharsets.UTF_8) : null;
      String query = jwtSigner == null ? "?token=" + token + (since != null ? "&" + since : "")
        : since != null ? "?" + since : "";
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
      client.connect(o).onComplete(ar -> {
        pending--;
        if (ar.succeeded()) {
          WebSocket ws = ar.result();
          long now = MicroClock.nowMicros();
          if (returning) {
            c.away = false;
            reopened.incrementAndGet();
            if (since != null) {
              c.awaitingResumed = true;
            } else {
              // nothing received yet, so no cursor to come back with: what it missed is not owed
              c.addGap(c.lastClosedAt, now);
              withoutCursor.incrementAndGet();
            }
          } else {
            c.openedAt = now;
            if (spec.recordReceipts()) {
              c.received = new IntList();
              if (spec.reconnect()) {
                c.receivedIds = new IntList();
              }
            }
            opened.incrementAndGet();
          }
          ws.handler(c);
          ws.exceptionHandler(t -> { });
          ws.closeHandler(v -> onClose(c));
        } else {
          connectErrors.incrementAndGet();
          if (returning) {
            // that node refuses (it is down): the next one, shortly
            c.endpoint = (c.endpoint + 1) % endpointCount();
            vertx.setTimer(RECONNECT_RETRY_MILLIS, id -> connect(c));
          } else if (c.attempts < MAX_ATTEMPTS && !closing) {
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

    /** The server closed it (or the network did): with --reconnect it comes back, else it stays closed. */
    private void onClose(Conn c) {
      if (closing) {
        return;
      }
      long now = MicroClock.nowMicros();
      closed.incrementAndGet();
      if (!spec.reconnect()) {
        c.closedAt = now;
        return;
      }
      c.away = true;
      c.awaitingResumed = false;
      c.lastClosedAt = now;
      c.endpoint = (c.endpoint + 1) % endpointCount();
      long delay = 1 + (long) (java.util.concurrent.ThreadLocalRandom.current().nextDouble() * spec.reconnectDelayMillis());
      vertx.setTimer(delay, id -> connect(c));
    }

    void onFrame(Conn c, Buffer frame) {
      long now = MicroClock.nowMicros();
      if (spec.reconnect()) {
        if (c.awaitingResumed) {
          Payload.Resumed r = Payload.resumed(frame);
          if (r != null) {
            c.awaitingResumed = false;
            if (r.recovered()) {
              recovered.incrementAndGet();
              replayed.addAndGet(r.replayed());
            } else {
              c.addGap(c.lastClosedAt, now);
              notRecovered.incrementAndGet();
            }
            other.increment();
            return;
          }
        }
        String cursor = Payload.cursor(frame);
        if (cursor != null) {
          c.cursor = cursor;
        }
        currentIdHash = cursor == null ? 0 : cursor.hashCode();
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
          (receipt.kind == Payload.BROADCAST ? broadcast : targeted).recordValue(latency);
          received.increment();
          if (c.received != null) {
            c.received.add(receipt.seq);
            if (c.receivedIds != null) {
              c.receivedIds.add(currentIdHash);
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

    List<ConnectionRecord> records() {
      List<ConnectionRecord> out = new ArrayList<>(started);
      for (int i = 0; i < started; i++) {
        Conn c = conns[i];
        int[] got = c.received == null ? new int[0] : c.received.toArray();
        int[] ids = c.receivedIds == null ? new int[0] : c.receivedIds.toArray();
        // a connection still away at the end is owed nothing after it left
        long closedAt = c.away ? c.lastClosedAt : c.closedAt;
        out.add(new ConnectionRecord(c.id, spec.plan().tokenOf(c.id), c.openedAt, closedAt, got, c.gaps, ids));
      }
      return out;
    }
  }
}
