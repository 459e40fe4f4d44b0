package io.odin.ws.client;


import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

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
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final StringBuilder message = new StringBuilder();

      @Override
      public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        message.append(data);
        if (last) {
          out.println(message);
          out.flush();
          message.setLength(0);
        }
        ws.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
        err.println("ws-client: closed by the server: " + code + (reason == null || reason.isEmpty() ? "" : " " + reason));
        exit.complete(code == 1000 || code == 1001 ? 0 : 1);
        return null;
      }

      @Override
      public void onError(WebSocket ws, Throwable t) {
        err.println("ws-client: connection lost: " + t);
        exit.complete(1);
      }
    };
    // the JDK's own WebSocket client (java.net.http): nothing but the JDK is needed, and it answers pings itself
    HttpClient http = HttpClient.newHttpClient();
    http.newWebSocketBuilder().buildAsync(uri, listener).whenComplete((ws, t) -> {
      if (t == null) {
        err.println("ws-client: connected to " + args[0]);
        relayStdin(in, ws);
        return;
      }
      Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
      if (cause instanceof WebSocketHandshakeException rejected) {
        Object body = rejected.getResponse().body();
        String said = body == null ? "" : body.toString().trim();
        err.println("ws-client: refused: HTTP " + rejected.getResponse().statusCode() + (said.isEmpty() ? "" : ": " + said));
      } else {
        err.println("ws-client: cannot connect to " + args[0] + ": " + cause);
      }
      exit.complete(1);
    });
    return exit.join();
  }

  /** Lines from stdin become text messages; at the end of stdin the connection stays open (a client in the background). */
  private static void relayStdin(InputStream in, WebSocket ws) {
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          ws.sendText(line, true).join();
        }
      } catch (Exception e) {
        // stdin closed or unreadable: keep listening
      }
    }, "ws-client-stdin");
    reader.setDaemon(true);
    reader.start();
  }
}
