package io.odin.ws.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Real WebSocket clients that do what docs/protocol.md asks of a client that must not lose messages: keep the
 * {@code id} of the last message received and reconnect with {@code since=} it. Each records the messages it
 * received (their {@code data.id}), the {@code resumed} frames, and how its connections ended.
 *
 * <p>They are the JDK's WebSocket client ({@code java.net.http}), not Vert.x's: under load, Vert.x 5's client
 * dropped now and then the first frame a server writes right behind its 101 (seen as a {@code resumed} frame missing
 * for one reconnect in 140, every message present), and these tests count every frame.
 */
public final class CursorClients implements AutoCloseable {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
  private final List<Client> created = new CopyOnWriteArrayList<>();

  public Client client(String token) {
    Client c = new Client(token);
    created.add(c);
    return c;
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
  public void close() {
    for (Client c : created) {
      WebSocket w = c.ws;
      if (w != null) {
        w.abort();
      }
    }
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
    /**
     * Per connection: whether it was opened with a cursor, and the start of the first frame it received (to tell a
     * {@code resumed} frame that never came from one that came after a message).
     */
    public final List<String> firstFrames = new CopyOnWriteArrayList<>();
    /** {@code subscribed} and {@code unsubscribed} answers, in order. */
    public final List<JsonObject> answers = new CopyOnWriteArrayList<>();
    /** {@code channel} (or "" for a message without one) and {@code data.id} of every message, in order. */
    public final List<String[]> messages = new CopyOnWriteArrayList<>();
    /** The channels its next connections subscribe to at the handshake ({@code ?channels=}); empty: none. */
    private volatile List<String> channels = List.of();
    private volatile String lastId;
    private volatile WebSocket ws;
    private volatile Listener listener;
    private volatile CompletableFuture<WebSocket> sending = CompletableFuture.completedFuture(null);
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
      WebSocket w = ws;
      // one send at a time on a JDK WebSocket: each waits for the one before
      synchronized (this) {
        sending = sending.thenCompose(x -> w.sendText(text, true));
      }
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
      return w != null && !w.isInputClosed();
    }

    public Future<Void> connectAsync(int port) {
      String since = lastId;
      Promise<Void> done = Promise.promise();
      Listener l = new Listener(since != null);
      http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30))
        .buildAsync(URI.create("ws://127.0.0.1:" + port + uri.apply(since)), l)
        .whenComplete((w, failure) -> {
          if (failure != null) {
            done.fail(failure);
            return;
          }
          listener = l;
          ws = w;
          sending = CompletableFuture.completedFuture(w);
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
      Listener listener = this.listener;
      if (w == null || w.isInputClosed()) {
        return;
      }
      try {
        sending.thenCompose(x -> w.sendClose(WebSocket.NORMAL_CLOSURE, "")).get(30, TimeUnit.SECONDS);
        // the server's close frame answers ours: its code is recorded by the listener
        listener.ended.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      } finally {
        w.abort();
      }
    }

    /** Collects a connection's frames (whole messages) and how it ended. */
    private final class Listener implements WebSocket.Listener {
      private final StringBuilder partial = new StringBuilder();
      private final boolean withCursor;
      private boolean first = true;

      Listener(boolean withCursor) {
        this.withCursor = withCursor;
      }
      /** Completed when the connection ended (a close frame, or the TCP connection gone). */
      final CompletableFuture<Void> ended = new CompletableFuture<>();

      @Override
      public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          String text = partial.toString();
          partial.setLength(0);
          if (first) {
            first = false;
            firstFrames.add((withCursor ? "since: " : "") + text.substring(0, Math.min(60, text.length())));
          }
          onFrame(text);
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
        closes.add(statusCode);
        ended.complete(null);
        return null;
      }

      @Override
      public void onError(WebSocket w, Throwable error) {
        // the TCP connection went without a close frame
        closes.add(1006);
        ended.complete(null);
      }
    }

    @Override
    public String toString() {
      return token + " received " + received.size() + ", resumed " + resumed + ", closes " + closes + ", other " + other
        + ", first frames " + firstFrames;
    }
  }
}
