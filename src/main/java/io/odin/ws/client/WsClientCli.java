package io.odin.ws.client;

import io.vertx.core.Vertx;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * {@code scripts/ws-client URL}: a WebSocket client for trying the gateway with nothing but the JDK, shipped in the
 * jar. Each text message received is printed as one line on stdout; each line typed on stdin is sent as a text
 * message; the handshake outcome and the close code go to stderr. Exit status 0 when the server closes normally
 * (1000, 1001), 1 when the connection is refused or closed otherwise, 2 on usage errors.
 */
public final class WsClientCli {

  private WsClientCli() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.in, System.out, System.err));
  }

  /** Connects, relays until the server closes, returns the exit status. */
  public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
    if (args.length != 1 || args[0].startsWith("-")) {
      err.println("usage: scripts/ws-client ws://HOST:PORT/ws?token=TOKEN");
      return 2;
    }
    URI uri;
    try {
      uri = URI.create(args[0]);
    } catch (IllegalArgumentException e) {
      err.println("ws-client: not a URL: " + args[0]);
      return 2;
    }
    boolean tls = "wss".equalsIgnoreCase(uri.getScheme());
    if (!tls && !"ws".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
      err.println("ws-client: the URL must be ws://HOST:PORT/PATH or wss://..., got " + args[0]);
      return 2;
    }
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
      + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "");
    Vertx vertx = Vertx.vertx();
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    try {
      vertx.createWebSocketClient(new WebSocketClientOptions().setMaxMessageSize(16 << 20).setMaxFrameSize(16 << 20))
        .connect(new WebSocketConnectOptions().setHost(uri.getHost()).setPort(port).setSsl(tls).setURI(path))
        .onSuccess(ws -> {
          err.println("ws-client: connected to " + args[0]);
          ws.textMessageHandler(text -> {
            out.println(text);
            out.flush();
          });
          ws.closeHandler(v -> {
            Short code = ws.closeStatusCode();
            err.println("ws-client: closed by the server: " + (code == null ? "no close frame" : code)
              + (ws.closeReason() == null || ws.closeReason().isEmpty() ? "" : " " + ws.closeReason()));
            exit.complete(code != null && (code == 1000 || code == 1001) ? 0 : 1);
          });
          relayStdin(in, ws);
        })
        .onFailure(t -> {
          if (t instanceof UpgradeRejectedException rejected) {
            String body = rejected.getBody() == null ? "" : rejected.getBody().toString().trim();
            err.println("ws-client: refused: HTTP " + rejected.getStatus() + (body.isEmpty() ? "" : ": " + body));
          } else {
            err.println("ws-client: cannot connect to " + args[0] + ": " + t.getMessage());
          }
          exit.complete(1);
        });
      return exit.join();
    } finally {
      vertx.close();
    }
  }

  /** Lines from stdin become text messages; at the end of stdin the connection stays open (a client in the background). */
  private static void relayStdin(InputStream in, WebSocket ws) {
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          ws.writeTextMessage(line);
        }
      } catch (Exception e) {
        // stdin closed or unreadable: keep listening
      }
    }, "ws-client-stdin");
    reader.setDaemon(true);
    reader.start();
  }
}
