package io.odin.ws.shard;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawWebSocket;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random and mutated client frames (text, binary, fragments, control frames, bad opcodes and RSV bits, bad
 * UTF-8, huge lengths, bit flips) from raw clients against a live shard, for a bounded time: no exception
 * escapes to Vert.x, the node stays healthy and a well-behaved client still gets its messages.
 * {@code -Dodin.fuzz.seconds=N} runs longer; the seed is printed so a failure can be replayed ({@code -Dodin.fuzz.seed}).
 */
class ClientFrameFuzzTest {

  private static final String[] TEXTS = {
    "{\"op\":\"ping\"}", "{\"op\":\"subscribe\",\"channel\":\"x\"}", "{}", "[]", "null", "{\"op\":1}", "{\"op\":\"",
    "\"ping\"", "{\"op\":\"ping\",\"op\":\"ping\"}", "", " ", "{\"op\":\"" + "x".repeat(300) + "\"}",
  };

  @Test
  void randomClientFramesNeverHurtTheNode() throws Exception {
    long seconds = Long.getLong("odin.fuzz.seconds", 4);
    long seed = Long.getLong("odin.fuzz.seed", System.nanoTime());
    System.out.println("ClientFrameFuzzTest seed " + seed);
    try (TestNode node = TestNode.start(2, new JsonObject().put("ws.maxFrameBytes", 4096)
      .put("ws.maxClientFramesPerSecond", 200).put("ws.writeQueueMaxBytes", 32 * 1024).put("ws.closeTimeoutMs", 1000));
         WsClients clients = new WsClients(node.wsPort);
         Publisher api = new Publisher(node.httpPort)) {
      List<Throwable> escaped = new CopyOnWriteArrayList<>();
      node.vertx.exceptionHandler(escaped::add);
      Conn good = clients.connect("well-behaved");

      long deadline = System.currentTimeMillis() + seconds * 1000;
      AtomicInteger connections = new AtomicInteger();
      AtomicInteger frames = new AtomicInteger();
      List<Throwable> fuzzerFailures = new CopyOnWriteArrayList<>();
      List<Thread> fuzzers = new ArrayList<>();
      for (int f = 0; f < FUZZERS; f++) {
        Random random = new Random(seed + f);
        Thread t = new Thread(() -> {
          try {
            while (System.currentTimeMillis() < deadline) {
              connections.incrementAndGet();
              fuzzOneConnection(node.wsPort, random, frames);
            }
          } catch (Throwable e) {
            fuzzerFailures.add(e);
          }
        }, "fuzzer-" + f);
        t.start();
        fuzzers.add(t);
      }
      for (Thread t : fuzzers) {
        t.join(seconds * 1000 + 60_000);
      }
      System.out.println("ClientFrameFuzzTest: " + connections + " connections, " + frames + " frames");
      assertEquals(List.of(), fuzzerFailures);

      assertEquals(List.of(), escaped, "exceptions that reached Vert.x");
      assertEquals(200, api.get("/health").status);
      Publisher.Response r = api.post(new JsonObject().put("type", "t").put("token", "well-behaved")
        .put("data", new JsonObject().put("id", "after-fuzz")).encode());
      assertEquals(202, r.status, r.body);
      await().atMost(Duration.ofSeconds(10)).until(() -> good.messages().stream()
        .anyMatch(m -> m.getValue("data") instanceof JsonObject && "after-fuzz".equals(m.getJsonObject("data").getString("id"))));
      // every fuzzing socket is gone: only the well-behaved one is left, and capacity slots were given back
      await().atMost(Duration.ofSeconds(15)).until(() -> node.node().connectionLimits().inUse() == 1);
      await().atMost(Duration.ofSeconds(5)).until(() ->
        node.node().shards().values().stream().mapToInt(s -> s.connections()).sum() == 1);
      assertTrue(!good.isClosed());
    }
  }

  private static final int FUZZERS = 3;

  private static void fuzzOneConnection(int port, Random random, AtomicInteger frames) throws IOException {
    try (RawWebSocket raw = new RawWebSocket(port, "/ws?token=fuzz-" + random.nextInt(8), 8192)) {
      if (raw.handshakeStatus != 101) {
        return;
      }
      int n = 1 + random.nextInt(40);
      for (int i = 0; i < n; i++) {
        sendRandom(raw, random);
        frames.incrementAndGet();
      }
      if (random.nextBoolean()) {
        raw.read(20);
      }
    } catch (java.net.SocketException | java.io.EOFException closedByServer) {
      // the server closed a misbehaving client: that is the point
    }
  }

  private static void sendRandom(RawWebSocket raw, Random random) throws IOException {
    switch (random.nextInt(10)) {
      case 0:
        raw.sendText(TEXTS[random.nextInt(TEXTS.length)]);
        break;
      case 1:
        raw.send(2, bytes(random, random.nextInt(200)));
        break;
      case 2: {
        // a fragmented text message, sometimes over the limit, sometimes never finished
        int parts = 1 + random.nextInt(5);
        for (int p = 0; p < parts; p++) {
          boolean last = p == parts - 1 && random.nextInt(4) != 0;
          raw.sendFrame((last ? 0x80 : 0) | (p == 0 ? 1 : 0), "x".repeat(random.nextInt(2000)).getBytes(StandardCharsets.UTF_8));
        }
        break;
      }
      case 3:
        // control frames: ping, pong, close (sometimes with a bad payload)
        raw.send(new int[] {8, 9, 10}[random.nextInt(3)], bytes(random, random.nextInt(130)));
        break;
      case 4: {
        // invalid UTF-8 inside otherwise plausible text
        byte[] b = "{\"op\":\"ping\"}".getBytes(StandardCharsets.UTF_8);
        b[random.nextInt(b.length)] = (byte) (0x80 | random.nextInt(0x80));
        raw.send(1, b);
        break;
      }
      case 5:
        // reserved opcodes, RSV bits, no FIN on a control frame
        raw.sendFrame(random.nextInt(256), bytes(random, random.nextInt(50)));
        break;
      case 6:
        // larger than ws.maxFrameBytes in one frame
        raw.send(random.nextBoolean() ? 1 : 2, bytes(random, 4097 + random.nextInt(20_000)));
        break;
      case 7: {
        // a valid frame with bits flipped anywhere, header included
        byte[] frame = frame(0x81, TEXTS[random.nextInt(TEXTS.length)].getBytes(StandardCharsets.UTF_8), true);
        for (int k = 0; k < 1 + random.nextInt(3); k++) {
          frame[random.nextInt(frame.length)] ^= (byte) (1 << random.nextInt(8));
        }
        raw.sendRaw(frame);
        break;
      }
      case 8:
        // an unmasked frame (clients must mask) or a header announcing a huge payload
        raw.sendRaw(random.nextBoolean() ? frame(0x81, "{\"op\":\"ping\"}".getBytes(StandardCharsets.UTF_8), false)
          : new byte[] {(byte) 0x81, (byte) 0xFF, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
          (byte) 0xFF, (byte) 0xFF, 1, 2, 3, 4});
        break;
      default:
        raw.sendRaw(bytes(random, random.nextInt(64)));
        break;
    }
  }

  private static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static byte[] frame(int first, byte[] payload, boolean masked) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write(first);
    f.write((masked ? 0x80 : 0) | payload.length);
    byte[] mask = {5, 6, 7, 8};
    if (masked) {
      f.write(mask, 0, 4);
    }
    for (int i = 0; i < payload.length; i++) {
      f.write(masked ? payload[i] ^ mask[i % 4] : payload[i]);
    }
    return f.toByteArray();
  }
}
