package io.odin.ws.cluster;

import io.odin.ws.GatewaySchema;
import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Scrape;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 33, item 4 and the Hazelcast side of item 6, against a clustered node started by the real launcher: the
 * cluster name derived from cluster.secret (all Hazelcast checks at join) is in no log line, not in /health nor
 * /metrics; garbage on the Hazelcast port is counted and logged as one short line, not a stack trace per connection.
 */
class ClusterPortTest {

  private static final String SECRET = "a-cluster-secret-of-this-test";

  @Test
  void theDerivedClusterNameStaysOutOfLogsAndHealthAndGarbageOnThePortIsOneShortLine() throws Exception {
    int clusterPort = Ports.free();
    Map<String, String> env = Map.of(
      "ODIN_CLUSTER", "true",
      "ODIN_CLUSTER_HOST", "127.0.0.1",
      "ODIN_CLUSTER_PORT", String.valueOf(clusterPort),
      "ODIN_CLUSTER_MEMBERS", "127.0.0.1:" + clusterPort,
      "ODIN_CLUSTER_SECRET", SECRET);
    String derived = new ClusterSettings(GatewaySchema.resolve(new JsonObject(), env)).hazelcastClusterName();
    String digest = derived.substring(derived.lastIndexOf('-') + 1);
    assertEquals(64, digest.length(), derived);
    try (ChildNode node = ChildNode.launch("secret", 1, env).awaitReady()) {
      // Hazelcast's start-up warnings (CP subsystem, ...) carried "[127.0.0.1]:PORT [derived name] [5.3.8]"
      assertFalse(node.logText().contains(digest), "the derived cluster name in the start-up log:\n" + node.logText());
      Random random = new Random(33);
      List<byte[]> garbage = List.of(
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "CB2".getBytes(StandardCharsets.US_ASCII),
        "HZCxxxxxxxxxxxxxxxxxxxxxxxxx".getBytes(StandardCharsets.US_ASCII),
        new byte[] {0, 1, 2, 3, 4, 5, 6, 7});
      int sent = 30;
      for (int i = 0; i < sent; i++) {
        byte[] bytes = i < garbage.size() ? garbage.get(i) : new byte[64 + random.nextInt(2000)];
        if (i >= garbage.size()) {
          random.nextBytes(bytes);
        }
        sendAndWaitForClose(clusterPort, bytes);
      }
      await().atMost(Duration.ofSeconds(30)).until(() ->
        new Scrape(node.api().get("/metrics").body).sum("odin_cluster_bad_connections_total") >= sent);
      String log = node.logText();
      long lines = log.lines().filter(l -> l.contains("cluster port: closed a connection from 127.0.0.1:")).count();
      assertTrue(lines >= 1 && lines <= 2, lines + " lines about bad connections in:\n" + log);
      assertFalse(log.contains("\tat com.hazelcast"), "no stack trace:\n" + log);
      assertEquals(200, node.api().get("/health").status, "the node stays healthy");
      for (String where : List.of(log, node.api().get("/health").body, node.api().get("/metrics").body)) {
        assertFalse(where.contains(digest), "the derived cluster name is out:\n" + where);
      }
    }
  }

  /** Sends {@code bytes} on a new connection and reads until Hazelcast closes it (or 10 s pass). */
  private static void sendAndWaitForClose(int port, byte[] bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(bytes);
      out.flush();
      try {
        while (s.getInputStream().read(new byte[4096]) >= 0) {
          // Hazelcast may answer (a protocol header) before it closes
        }
      } catch (IOException e) {
        // reset or timed out: either way this connection is done
      }
    }
  }
}
