package io.odin.ws.cluster;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestPki;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two real nodes (child JVMs, the real launcher) clustered with a secret and the event bus over mutual TLS
 * (cluster.tls, a CA and node certificate made at test time): a message published on one node reaches a client
 * of the other, so node-to-node delivery works over the encrypted event bus.
 */
class ClusterTlsTest {

  @Test
  void clusteredPairDeliversAcrossNodesOverTls() throws Exception {
    Path dir = Files.createTempDirectory("odin-cluster-tls-");
    TestPki.ca(dir, "cluster-ca");
    TestPki.Certs certs = TestPki.signed(dir, "cluster-ca", "node");
    List<Integer> ports = List.of(Ports.free(), Ports.free());
    String members = "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1);
    ChildNode a = null;
    ChildNode b = null;
    try {
      a = ChildNode.launch("tls-a", 1, env(ports.get(0), members, certs));
      b = ChildNode.launch("tls-b", 1, env(ports.get(1), members, certs));
      a.awaitReady();
      b.awaitReady();
      ChildNode na = a;
      ChildNode nb = b;
      await().atMost(Duration.ofSeconds(90)).until(() -> clusterSize(na) == 2 && clusterSize(nb) == 2);
      try (WsClients clients = new WsClients(b.wsPort)) {
        Conn conn = clients.connect("across");
        // published on node a, the client is on node b: the batch crosses the TLS event bus
        await().atMost(Duration.ofSeconds(30)).until(() -> {
          Publisher.Response r = na.api().post(new JsonObject().put("type", "note").put("token", "across")
            .put("data", new JsonObject().put("via", "a")).encode());
          return r.status == 202 && !conn.frames.isEmpty();
        });
        assertEquals("a", conn.messages().get(0).getJsonObject("data").getString("via"));
      }
    } finally {
      if (b != null) {
        b.close();
      }
      if (a != null) {
        a.close();
      }
    }
  }

  private static int clusterSize(ChildNode n) {
    JsonObject cluster = n.health().getJsonObject("dependencies").getJsonObject("cluster");
    return cluster == null ? 0 : cluster.getJsonObject("nodes").size();
  }

  private static Map<String, String> env(int port, String members, TestPki.Certs certs) {
    Map<String, String> env = new HashMap<>();
    env.put("ODIN_CLUSTER", "true");
    env.put("ODIN_CLUSTER_HOST", "127.0.0.1");
    env.put("ODIN_CLUSTER_PORT", String.valueOf(port));
    env.put("ODIN_CLUSTER_MEMBERS", members);
    env.put("ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "500");
    env.put("ODIN_CLUSTER_NAME", "tls-test");
    env.put("ODIN_CLUSTER_SECRET", "a-cluster-secret-for-this-test");
    env.put("ODIN_CLUSTER_TLS", "true");
    env.put("ODIN_CLUSTER_TLS_CERT_PATH", certs.cert().toString());
    env.put("ODIN_CLUSTER_TLS_KEY_PATH", certs.key().toString());
    env.put("ODIN_CLUSTER_TLS_CA_PATH", certs.caCert().toString());
    return env;
  }
}
