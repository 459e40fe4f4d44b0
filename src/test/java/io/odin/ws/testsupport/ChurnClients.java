package io.odin.ws.testsupport;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * Clients of one node that come and go the ways real ones do, for the soak tests: each churn tick takes some of them
 * away and brings them back, each after its kind, and throws in handshakes that never become connections.
 * <ul>
 *   <li>{@link Kind#CURSOR}: closes with a close frame, comes back with {@code since=} its last message's id</li>
 *   <li>{@link Kind#PLAIN}: closes with a close frame, comes back without a cursor</li>
 *   <li>{@link Kind#ABRUPT}: a raw TCP client whose connection just ends (no close frame: a phone that lost its
 *       network), comes back the same way</li>
 * </ul>
 * and with every tick, a handshake cut off half-way, and one refused for its token (400). A handshake refused with
 * 503 is tried again after its {@code Retry-After} (plus a random share of a second), as docs/protocol.md asks.
 * Everything runs on one event loop; the counters are read from any thread.
 */
public final class ChurnClients implements AutoCloseable {

  /** How a client leaves and comes back. */
  public enum Kind { CURSOR, PLAIN, ABRUPT }

  private static final String ID_PREFIX = "{\"id\":\"";
  private static final String RESUMED = "{\"type\":\"resumed\",\"recovered\":";

  private final Vertx vertx;
  private final Context context;
  private final WebSocketClient webSockets;
  private final NetClient net;
  private final int port;
  private final List<Client> clients = new ArrayList<>();
  private final Random random = new Random(29);
  private volatile boolean stopping;

  public final AtomicLong connects = new AtomicLong();
  /** When each connect completed (epoch ms), in order. */
  public final java.util.concurrent.ConcurrentLinkedQueue<Long> openedAt = new java.util.concurrent.ConcurrentLinkedQueue<>();
  public final AtomicLong messages = new AtomicLong();
  public final AtomicLong recovered = new AtomicLong();
  public final AtomicLong notRecovered = new AtomicLong();
  /** Handshakes answered 503 with Retry-After (and tried again after it). */
  public final AtomicLong retriedAfter = new AtomicLong();
  /** Handshakes that failed otherwise (and were tried again a little later), by what went wrong. */
  public final java.util.concurrent.ConcurrentHashMap<String, Long> failed = new java.util.concurrent.ConcurrentHashMap<>();
  /** Handshakes refused as planned (a bad token) and handshakes cut off half-way. */
  public final AtomicLong noise = new AtomicLong();

  /** {@code count} clients of tokens {@code prefix + i % tokens}, kinds in turn. */
  public ChurnClients(int port, int count, int tokens, String prefix) {
    this.port = port;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    this.context = vertx.getOrCreateContext();
    this.webSockets = vertx.createWebSocketClient(new WebSocketClientOptions().setDefaultHost("127.0.0.1")
      .setMaxConnections(count * 2 + 100).setConnectTimeout(30_000));
    this.net = vertx.createNetClient(new NetClientOptions().setConnectTimeout(30_000));
    for (int i = 0; i < count; i++) {
      clients.add(new Client(prefix + (i % tokens), Kind.values()[i % Kind.values().length]));
    }
  }

  /** Connects every client and waits until all are open. */
  public void connectAll() {
    context.runOnContext(v -> clients.forEach(Client::connect));
    await("all " + clients.size() + " clients open").atMost(Duration.ofSeconds(60)).until(() -> open() == clients.size());
  }

  /** Clients open now. */
  public int open() {
    int n = 0;
    for (Client c : clients) {
      if (c.open) {
        n++;
      }
    }
    return n;
  }

  /**
   * One tick of churn: {@code n} open clients chosen at random leave and come back within {@code awayMillis}, plus a
   * half handshake and a refused one.
   */
  public void churn(int n, int awayMillis) {
    context.runOnContext(v -> {
      for (int i = 0; i < n; i++) {
        Client c = clients.get(random.nextInt(clients.size()));
        if (c.open) {
          c.leave(1 + random.nextInt(Math.max(1, awayMillis)));
        }
      }
      halfHandshake();
      refusedHandshake();
    });
  }

  /** Every client leaves for good (each with its kind's goodbye); returns once all are gone. */
  public void closeAll() {
    stopping = true;
    context.runOnContext(v -> clients.forEach(c -> c.leave(-1)));
    await("every client gone").atMost(Duration.ofSeconds(60))
      .until(() -> open() == 0 && clients.stream().noneMatch(c -> c.connecting));
  }

  /** Every client that left with {@link #closeAll()} comes back (with its cursor, for the CURSOR ones). */
  public void reconnectAll() {
    stopping = false;
    connectAll();
  }

  @Override
  public void close() throws Exception {
    stopping = true;
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** Half a request, then the client goes (or stays silent for 1.5 s: longer than the test's ws.handshakeTimeoutMs). */
  private void halfHandshake() {
    net.connect(port, "127.0.0.1").onSuccess(s -> {
      noise.incrementAndGet();
      s.write("GET /ws?token=half HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n");
      vertx.setTimer(random.nextInt(4) == 0 ? 1500 : 20 + random.nextInt(200), id -> s.close());
    });
  }

  private void refusedHandshake() {
    net.connect(port, "127.0.0.1").onSuccess(s -> {
      noise.incrementAndGet();
      s.handler(b -> { });
      s.write(upgradeRequest("/ws?token=not%20a%20token"));
    });
  }

  private static String upgradeRequest(String uri) {
    return "GET " + uri + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }

  /** The seconds of a 503's Retry-After, or -1 when the failure was something else. */
  private static long retryAfterSeconds(Throwable t) {
    if (t instanceof UpgradeRejectedException r && r.getStatus() == 503 && r.getHeaders() != null) {
      String v = r.getHeaders().get("retry-after");
      return v == null ? -1 : Long.parseLong(v.trim());
    }
    return -1;
  }

  /** One client: one token, one connection at a time. Touched only on the event loop. */
  private final class Client {
    final String token;
    final Kind kind;
    volatile boolean open;
    volatile boolean connecting;
    String lastId;
    WebSocket ws;
    NetSocket raw;

    Client(String token, Kind kind) {
      this.token = token;
      this.kind = kind;
    }

    void connect() {
      if (open || connecting || stopping) {
        return;
      }
      connecting = true;
      if (kind == Kind.ABRUPT) {
        connectRaw();
        return;
      }
      String since = kind == Kind.CURSOR && lastId != null ? "&since=" + URLEncoder.encode(lastId, StandardCharsets.UTF_8) : "";
      webSockets.connect(new WebSocketConnectOptions().setPort(port).setURI("/ws?token=" + token + since)).onComplete(ar -> {
        connecting = false;
        if (ar.failed()) {
          retry(ar.cause());
          return;
        }
        if (stopping) {
          ar.result().close();
          return;
        }
        ws = ar.result();
        open = true;
        opened();
        WebSocket mine = ws;
        mine.textMessageHandler(this::onText);
        mine.closeHandler(v -> closed(mine == ws));
      });
    }

    private void connectRaw() {
      net.connect(port, "127.0.0.1").onComplete(ar -> {
        if (ar.failed()) {
          connecting = false;
          retry(ar.cause());
          return;
        }
        NetSocket s = ar.result();
        StringBuilder head = new StringBuilder();
        boolean[] upgraded = {false};
        s.handler(b -> {
          if (upgraded[0]) {
            return;
          }
          head.append(b.toString(StandardCharsets.ISO_8859_1));
          int end = head.indexOf("\r\n\r\n");
          if (end < 0) {
            return;
          }
          upgraded[0] = true;
          connecting = false;
          String response = head.substring(0, end + 2).toLowerCase(java.util.Locale.ROOT);
          if (response.startsWith("http/1.1 101") && stopping) {
            s.close();
          } else if (response.startsWith("http/1.1 101")) {
            raw = s;
            open = true;
            opened();
          } else {
            s.close();
            int at = response.indexOf("\r\nretry-after: ");
            if (response.startsWith("http/1.1 503") && at >= 0) {
              retried(Long.parseLong(response.substring(at + 15, response.indexOf("\r\n", at + 15)).trim()));
            } else {
              retry(new IllegalStateException(response.substring(0, response.indexOf("\r\n"))));
            }
          }
        });
        s.closeHandler(v -> {
          if (raw == s) {
            closed(true);
          } else if (!upgraded[0]) {
            connecting = false;
            retry(new IllegalStateException("closed during the handshake"));
          }
        });
        s.write(upgradeRequest("/ws?token=" + token));
      });
    }

    private void opened() {
      connects.incrementAndGet();
      openedAt.add(System.currentTimeMillis());
    }

    private void onText(String text) {
      if (text.startsWith(ID_PREFIX)) {
        lastId = text.substring(ID_PREFIX.length(), text.indexOf('"', ID_PREFIX.length()));
        messages.incrementAndGet();
      } else if (text.startsWith(RESUMED)) {
        (text.startsWith(RESUMED + "true") ? recovered : notRecovered).incrementAndGet();
      }
    }

    /** Leaves now; comes back after {@code awayMillis} (negative: stays away). */
    void leave(int awayMillis) {
      if (!open) {
        return;
      }
      open = false;
      if (ws != null) {
        WebSocket w = ws;
        ws = null;
        w.close();
      }
      if (raw != null) {
        NetSocket s = raw;
        raw = null;
        // a bare TCP close: the server hears no close frame
        s.close();
      }
      if (awayMillis >= 0) {
        vertx.setTimer(awayMillis, id -> connect());
      }
    }

    /** The server closed it (or the network): back after a moment, as a client library would. */
    private void closed(boolean current) {
      if (!current || !open) {
        return;
      }
      open = false;
      ws = null;
      raw = null;
      if (!stopping) {
        vertx.setTimer(100 + random.nextInt(400), id -> connect());
      }
    }

    private void retry(Throwable cause) {
      long seconds = retryAfterSeconds(cause);
      if (seconds >= 0) {
        retried(seconds);
        return;
      }
      failed.merge(String.valueOf(cause.getMessage()).replaceAll("[0-9]+", "N"), 1L, Long::sum);
      if (!stopping) {
        vertx.setTimer(200 + random.nextInt(800), id -> connect());
      }
    }

    private void retried(long seconds) {
      retriedAfter.incrementAndGet();
      if (!stopping) {
        vertx.setTimer(seconds * 1000 + random.nextInt(1000), id -> connect());
      }
    }
  }
}
