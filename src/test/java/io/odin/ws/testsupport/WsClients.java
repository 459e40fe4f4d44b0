package io.odin.ws.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Real WebSocket clients over TCP, on a Vert.x instance of their own (so client and server do not share event
 * loops), each recording every frame it receives.
 */
public final class WsClients implements AutoCloseable {

  private final Vertx vertx;
  private final WebSocketClient client;
  private final int port;

  public WsClients(int port) {
    this.port = port;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
      .setDefaultHost("127.0.0.1")
      .setDefaultPort(port)
      .setMaxConnections(100_000)
      .setConnectTimeout(30_000));
  }

  /** Opens one connection for {@code token} and waits for it. */
  public Conn connect(String token) {
    return await(connectAsync(token));
  }

  public Future<Conn> connectAsync(String token) {
    return connectAsync(token, new WebSocketConnectOptions().setURI("/ws?token=" + token));
  }

  /** Opens one connection with options of the test's choosing (URI, headers such as Authorization or Origin). */
  public Future<Conn> connectAsync(String label, WebSocketConnectOptions options) {
    Conn conn = new Conn(label);
    // handlers set before the handshake: a frame the server writes the moment the socket opens is not dropped
    ClientWebSocket ws = client.webSocket();
    conn.attach(ws);
    return ws.connect(options.setHost("127.0.0.1").setPort(port)).map(conn);
  }

  /** Opens connections for all {@code tokens} (a token listed twice gets two connections), a few hundred at a time. */
  public List<Conn> connectAll(List<String> tokens) {
    List<Conn> out = new ArrayList<>(tokens.size());
    int step = 250;
    for (int i = 0; i < tokens.size(); i += step) {
      List<Future<Conn>> wave = new ArrayList<>();
      for (String t : tokens.subList(i, Math.min(tokens.size(), i + step))) {
        wave.add(connectAsync(t));
      }
      await(Future.all(wave));
      for (Future<Conn> f : wave) {
        out.add(f.result());
      }
    }
    return out;
  }

  public Vertx vertx() {
    return vertx;
  }

  public WebSocketClient client() {
    return client;
  }

  /** Waits for a future; a failure is rethrown as IllegalStateException(ExecutionException(cause)). */
  public static <T> T awaitResult(Future<T> f) {
    return await(f);
  }

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** A message frame without its leading {@code "id":"CURSOR",} (other frames unchanged). */
  public static String withoutId(String frame) {
    if (!frame.startsWith("{\"id\":\"")) {
      return frame;
    }
    int end = frame.indexOf("\",", 7);
    return end < 0 ? frame : "{" + frame.substring(end + 2);
  }

  /** One client connection and what it received. */
  public static final class Conn {
    public final String token;
    public final List<String> frames = new CopyOnWriteArrayList<>();
    private volatile WebSocket ws;
    private volatile Short closeCode;
    private volatile String closeReason;

    Conn(String token) {
      this.token = token;
    }

    void attach(ClientWebSocket ws) {
      this.ws = ws;
      ws.textMessageHandler(frames::add);
      ws.closeHandler(v -> {
        closeCode = ws.closeStatusCode();
        closeReason = ws.closeReason();
      });
    }

    public WebSocket socket() {
      return ws;
    }

    /** The frames as received, with each message frame's leading {@code "id":"CURSOR",} taken out. */
    public List<String> bodies() {
      List<String> out = new ArrayList<>(frames.size());
      for (String f : frames) {
        out.add(withoutId(f));
      }
      return out;
    }

    public List<JsonObject> messages() {
      List<JsonObject> out = new ArrayList<>(frames.size());
      for (String f : frames) {
        out.add(new JsonObject(f));
      }
      return out;
    }

    public Short closeCode() {
      return closeCode;
    }

    public String closeReason() {
      return closeReason;
    }

    public boolean isClosed() {
      return closeCode != null || ws.isClosed();
    }

    public void send(String text) {
      ws.writeTextMessage(text);
    }

    public void close() {
      await(ws.close());
    }
  }
}
