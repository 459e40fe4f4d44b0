package io.odin.ws.shard;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Scrape;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node at its real open-file limit (lowered with prlimit on a child JVM): accept failures are counted and
 * logged once per 10 s without a stack trace, where Netty alone logs a WARN with a stack trace every second.
 */
class OpenFileLimitTest {

  @Test
  void acceptFailuresAtTheOpenFileLimitAreOneLineNoStackTrace() throws Exception {
    try (ChildNode node = ChildNode.launch("fdlimit", 1, Map.of()).awaitReady()) {
      long pid = node.pid();
      int open = new File("/proc/" + pid + "/fd").list().length;
      int limit = open + 20;
      Process prlimit = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + limit + ":" + limit)
        .inheritIO().start();
      assertEquals(0, prlimit.waitFor());

      List<Socket> sockets = new ArrayList<>();
      try {
        // more TCP connections than descriptors left: the kernel queues them, the node cannot accept them all
        for (int i = 0; i < 60; i++) {
          Socket s = new Socket();
          s.connect(new InetSocketAddress("127.0.0.1", node.wsPort), 5_000);
          sockets.add(s);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> node.logText().contains("cannot accept connections"));
        // Netty retries the accept every second: let it fail a few more times
        long until = System.currentTimeMillis() + 3_500;
        await().atMost(Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() > until);
      } finally {
        for (Socket s : sockets) {
          s.close();
        }
      }
      // descriptors come back as the node sees the peers gone; the management port answers again
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> node.api().get("/metrics").status == 200);
      Scrape scrape = new Scrape(node.api().get("/metrics").body);
      assertTrue(scrape.sum("odin_ws_accept_errors_total") >= 2, "accept failures counted: " + scrape.sum("odin_ws_accept_errors_total"));
      String log = node.logText();
      assertEquals(1, log.split("cannot accept connections", -1).length - 1, log);
      assertFalse(log.contains("exceptionCaught() event was fired"), log);
      assertFalse(log.contains("\tat io.netty"), "no stack trace: " + log);
    }
  }
}
