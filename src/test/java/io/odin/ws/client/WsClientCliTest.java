package io.odin.ws.client;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** scripts/ws-client's main against a real node over TCP: messages out as lines, the close code, refusals. */
class WsClientCliTest {

  @Test
  void printsEachMessageAsALineAndExitsWhenTheServerGoesAway() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    TestNode node = TestNode.start(1);
    CompletableFuture<Integer> exit;
    try (Publisher api = new Publisher(node.httpPort); PipedOutputStream keyboard = new PipedOutputStream()) {
      PipedInputStream stdin = new PipedInputStream(keyboard);
      String url = "ws://127.0.0.1:" + node.wsPort + "/ws?token=user-42";
      exit = CompletableFuture.supplyAsync(() -> WsClientCli.run(new String[] {url}, stdin,
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
      await().atMost(Duration.ofSeconds(30)).until(() -> node.node().shards().values().stream().anyMatch(s -> s.connections() > 0));
      await().atMost(Duration.ofSeconds(10)).until(() -> err.toString(StandardCharsets.UTF_8).contains("connected to " + url));
      assertEquals(202, api.post("{\"type\":\"order-update\",\"token\":\"user-42\",\"data\":{\"id\":42,\"state\":\"shipped\"}}").status);
      // one line per message, as the server sent it (its cursor "id" first)
      await().atMost(Duration.ofSeconds(20)).until(() -> out.toString(StandardCharsets.UTF_8)
        .matches("\\{\"id\":\"[0-9a-z.]+\",\"type\":\"order-update\",\"data\":\\{\"id\":42,\"state\":\"shipped\"}}\n"));
      // a typed line goes to the server as a text message (the gateway ignores client text; the socket stays open)
      keyboard.write("hello\n".getBytes(StandardCharsets.UTF_8));
      keyboard.flush();
    } finally {
      node.close();
    }
    assertEquals(0, exit.get(30, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("closed by the server: 1001"), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void saysWhyItCannotConnect() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int closedPort = Ports.free();
    int status = WsClientCli.run(new String[] {"ws://127.0.0.1:" + closedPort + "/ws?token=a"},
      new java.io.ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(1, status);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("cannot connect to ws://127.0.0.1:" + closedPort), err.toString());

    assertEquals(2, WsClientCli.run(new String[] {"http://x"}, System.in, System.out, new PrintStream(new ByteArrayOutputStream())));
  }

  @Test
  void showsTheStatusOfARefusedHandshake() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (TestNode node = TestNode.start(1)) {
      int status = WsClientCli.run(new String[] {"ws://127.0.0.1:" + node.wsPort + "/ws"},
        new java.io.ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
      assertEquals(1, status);
      // the gateway answers 400 with its reason in the body, and the client shows both
      String said = err.toString(StandardCharsets.UTF_8);
      assertTrue(said.contains("refused: HTTP 400: missing token"), said);
    }
  }
}
