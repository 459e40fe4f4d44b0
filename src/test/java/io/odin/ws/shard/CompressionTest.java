package io.odin.ws.shard;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** permessage-deflate only with ws.compression: offered by the client, accepted or not, and messages still arrive. */
class CompressionTest {

  private static WebSocket connect(Vertx vertx, int port, String token, List<String> received) {
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setTryUsePerMessageCompression(true));
    WebSocket ws = WsClients.awaitResult(client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
      .setURI("/ws?token=" + token)));
    ws.textMessageHandler(received::add);
    return ws;
  }

  private static String extensions(WebSocket ws) {
    return ws.headers() == null ? null : ws.headers().get("sec-websocket-extensions");
  }

  @Test
  void deflateIsNegotiatedOnlyWhenTurnedOn() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      for (boolean on : new boolean[] {false, true}) {
        try (TestNode node = TestNode.start(2, new JsonObject().put("ws.compression", on));
             Publisher api = new Publisher(node.httpPort)) {
          List<String> received = new CopyOnWriteArrayList<>();
          WebSocket ws = connect(vertx, node.wsPort, "deflate-" + on, received);
          String ext = extensions(ws);
          if (on) {
            assertTrue(ext != null && ext.contains("permessage-deflate"), "negotiated: " + ext);
          } else {
            assertNull(ext, "no extension without ws.compression");
          }
          String pad = "z".repeat(2000);
          assertEquals(202, api.post(new JsonObject().put("type", "t").put("token", "deflate-" + on)
            .put("data", new JsonObject().put("pad", pad)).encode()).status);
          await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
          assertTrue(received.get(0).contains(pad));
          ws.writeTextMessage("{\"op\":\"ping\"}");
          await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
          assertEquals("{\"type\":\"pong\"}", received.get(1));
        }
      }
    } finally {
      vertx.close();
    }
  }
}
