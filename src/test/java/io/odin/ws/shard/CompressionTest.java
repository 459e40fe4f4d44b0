package io.odin.ws.shard;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
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

  /**
   * permessage-deflate payload as a client sends it: raw deflate, flushed, without the 00 00 ff ff tail (RFC 7692).
   * {@code n} bytes of one letter deflate about a thousandfold.
   */
  static byte[] deflated(int n) {
    Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
    deflater.setInput("a".repeat(n).getBytes(StandardCharsets.US_ASCII));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    int k;
    while ((k = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH)) > 0) {
      out.write(buf, 0, k);
      if (k < buf.length && deflater.needsInput()) {
        break;
      }
    }
    deflater.end();
    byte[] all = out.toByteArray();
    return Arrays.copyOf(all, all.length - 4);
  }

  /** CPU time the process has used (user and system), from /proc (Linux). */
  static long cpuMillis(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields 14 and 15 of stat (utime, stime), in clock ticks of 10 ms on Linux
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
  }

  /**
   * Issue 33: with ws.compression a 3.9 KB frame inflated to 3.95 MB before the 4,096-byte limit was checked; 178
   * such frames cost 20 s of CPU. Inflation now stops at ws.maxFrameBytes (Netty's maxAllocation in both deflate
   * handshakers): the frame is refused with 1009 having cost a few KB of inflating.
   */
  @Test
  void aCompressionBombIsClosedWith1009AfterInflatingNoMoreThanTheFrameLimit() throws Exception {
    byte[] bomb = deflated(4_000_000);
    assertTrue(bomb.length < 4096, "the bomb fits in one frame under ws.maxFrameBytes: " + bomb.length);
    try (ChildNode node = ChildNode.launch("bomb", 1, Map.of("ODIN_WS_COMPRESSION", "true")).awaitReady()) {
      // a well-behaved compressing client first: compressed frames within the limit are answered
      try (RawWebSocket ok = new RawWebSocket(node.wsPort, "/ws?token=fine", 0, "Sec-WebSocket-Extensions: permessage-deflate")) {
        assertEquals(101, ok.handshakeStatus);
        assertTrue(ok.handshakeHead.toLowerCase(java.util.Locale.ROOT).contains("permessage-deflate"), ok.handshakeHead);
        ok.sendFrame(0x80 | 0x40 | 0x1, deflatedText("{\"op\":\"ping\"}"));
        RawWebSocket.Frame answer = ok.read(10_000);
        while (answer != null && answer.opcode == 0x9) {
          // the server's WebSocket ping may come first
          answer = ok.read(10_000);
        }
        assertTrue(answer != null && answer.opcode == 1, "an answer to the compressed ping: opcode " + (answer == null ? -1 : answer.opcode));
      }
      long before = cpuMillis(node.pid());
      int frames = 0;
      for (int conn = 0; conn < 20; conn++) {
        try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=bomber-" + conn, 0,
          "Sec-WebSocket-Extensions: permessage-deflate")) {
          assertEquals(101, raw.handshakeStatus);
          for (int i = 0; i < 10; i++) {
            raw.sendFrame(0x80 | 0x40 | 0x1, bomb);
            frames++;
          }
          assertEquals(1009, raw.awaitCloseCode(20_000), "connection " + conn);
        }
      }
      // the older deflate-frame extension (x-webkit-deflate-frame) is bounded the same way
      try (RawWebSocket raw = new RawWebSocket(node.wsPort, "/ws?token=framer", 0, "Sec-WebSocket-Extensions: deflate-frame")) {
        assertTrue(raw.handshakeHead.contains("deflate-frame"), raw.handshakeHead);
        raw.sendFrame(0x80 | 0x40 | 0x1, bomb);
        frames++;
        assertEquals(1009, raw.awaitCloseCode(20_000), "deflate-frame");
      }
      long spent = cpuMillis(node.pid()) - before;
      // inflated whole, 200 frames are 800 MB to inflate and copy: 35 s of CPU measured; bounded, 800 KB: 0.2 s
      assertTrue(spent < 2_000, frames + " bomb frames cost the node " + spent + " ms of CPU");
      assertEquals(200, node.api().get("/health").status);
    }
  }

  /** A short text deflated as a permessage-deflate frame's payload. */
  static byte[] deflatedText(String text) {
    Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
    deflater.setInput(text.getBytes(StandardCharsets.UTF_8));
    byte[] buf = new byte[1024];
    int k = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
    deflater.end();
    return Arrays.copyOf(buf, k - 4);
  }
}
