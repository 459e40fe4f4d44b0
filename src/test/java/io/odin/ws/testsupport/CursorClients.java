package io.odin.ws.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Real WebSocket clients that do what docs/protocol.md asks of a client that must not lose messages: keep the
 * {@code id} of the last message received and reconnect with {@code since=} it. Each records the messages it
 * received (their {@code data.id}), the {@code resumed} frames, and how its connections ended.
 */
public final class CursorClients implements AutoCloseable {

  private final Vertx vertx;
  private final WebSocketClient client;

  public CursorClients() {
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
      .setDefaultHost("127.0.0.1").setMaxConnections(100_000).setConnectTimeout(30_000));
  }

  public Client client(String token) {
    return new Client(token);
  }

  /** Connects every client to {@code port} (with its cursor when it has one) and waits for all. */
  public void connectAll(List<Client> clients, int port) {
    List<Future<Void>> all = new ArrayList<>();
    for (Client c : clients) {
      all.add(c.connectAsync(port));
    }
    WsClients.awaitResult(Future.all(all));
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** One client: one token, one connection at a time, a cursor kept across its connections. */
  public final class Client {
    public final String token;
    /** {@code data.id} of every message received, in order, over all its connections. */
    public final List<String> received = new CopyOnWriteArrayList<>();
    /** The {@code resumed} frames, one per reconnect with a cursor. */
    public final List<JsonObject> resumed = new CopyOnWriteArrayList<>();
    /** Close codes of its connections, in order (1006 when the TCP connection just went). */
    public final List<Integer> closes = new CopyOnWriteArrayList<>();
    /** Frames that were neither messages nor resumed (errors), for failure messages. */
    public final List<String> other = new CopyOnWriteArrayList<>();
    /** {@code subscribed} and {@code unsubscribed} answers, in order. */
    public final List<JsonObject> answers = new CopyOnWriteArrayList<>();
    /** {@code channel} (or "" for a message without one) and {@code data.id} of every message, in order. */
    public final List<String[]> messages = new CopyOnWriteArrayList<>();
    /** The channels its next connections subscribe to at the handshake ({@code ?channels=}); empty: none. */
    private volatile List<String> channels = List.of();
    private volatile String lastId;
    private volatile WebSocket ws;
    private volatile Function<String, String> uri = since -> "/ws?token=" + Client.this.token
      + (channels.isEmpty() ? "" : "&channels=" + URLEncoder.encode(String.join(",", channels), StandardCharsets.UTF_8))
      + (since == null ? "" : "&since=" + URLEncoder.encode(since, StandardCharsets.UTF_8));

    Client(String token) {
      this.token = token;
    }

    /** The id of the last message received, or null. */
    public String lastId() {
      return lastId;
    }

    /** Uses {@code since} as the cursor of the next connection (e.g. another client's, or garbage). */
    public void cursor(String since) {
      lastId = since;
    }

    /** Its next connections subscribe to {@code channels} at the handshake. */
    public Client channels(List<String> channels) {
      this.channels = List.copyOf(channels);
      return this;
    }

    /** Sends a text frame (an op) on its connection. */
    public void send(String text) {
      ws.writeTextMessage(text);
    }

    /** The {@code data.id} of the messages it received on {@code channel}, in order. */
    public List<String> receivedOn(String channel) {
      List<String> out = new java.util.ArrayList<>();
      for (String[] m : messages) {
        if (m[0].equals(channel)) {
          out.add(m[1]);
        }
      }
      return out;
    }

    public boolean connected() {
      WebSocket w = ws;
      return w != null && !w.isClosed();
    }

    public Future<Void> connectAsync(int port) {
      String since = lastId;
      Promise<Void> done = Promise.promise();
      // handlers set before the handshake: the resumed frame, written the moment the socket opens, is not dropped
      ClientWebSocket w = client.webSocket();
      w.textMessageHandler(this::onFrame);
      w.closeHandler(v -> closes.add(w.closeStatusCode() == null ? 1006 : (int) w.closeStatusCode()));
      w.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI(uri.apply(since)))
        .onComplete(ar -> {
          if (ar.failed()) {
            done.fail(ar.cause());
            return;
          }
          ws = w;
          done.complete();
        });
      return done.future();
    }

    public void connect(int port) {
      WsClients.awaitResult(connectAsync(port));
    }

    private void onFrame(String text) {
      JsonObject f = new JsonObject(text);
      String id = f.getString("id");
      String type = f.getString("type");
      if (id != null && ("subscribed".equals(type) || "unsubscribed".equals(type))) {
        lastId = id;
        answers.add(f);
      } else if (id != null) {
        lastId = id;
        Object data = f.getValue("data");
        String dataId = data instanceof JsonObject ? ((JsonObject) data).getString("id") : String.valueOf(data);
        received.add(dataId);
        messages.add(new String[] {f.getString("channel", ""), dataId});
      } else if ("resumed".equals(f.getString("type"))) {
        resumed.add(f);
      } else {
        other.add(text);
      }
    }

    /** Closes its connection (a client going offline). */
    public void close() {
      WebSocket w = ws;
      if (w != null && !w.isClosed()) {
        WsClients.awaitResult(w.close());
      }
    }

    @Override
    public String toString() {
      return token + " received " + received.size() + ", resumed " + resumed + ", closes " + closes + ", other " + other;
    }
  }
}
