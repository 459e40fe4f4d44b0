package io.odin.ws.cluster;

import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.TestPki;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two real clustered nodes (Hazelcast on loopback, each its own Vert.x) with a cluster secret and the event bus
 * over mutual TLS (cluster.tls, a CA and node certificate made at test time): a message published on one node
 * reaches a client of the other, so node-to-node delivery works over the encrypted event bus.
 */
class ClusterTlsTest {

  @Test
  void clusteredPairDeliversAcrossNodesOverTls() throws Exception {
    Path dir = Files.createTempDirectory("odin-cluster-tls-");
    TestPki.ca(dir, "cluster-ca");
    TestPki.Certs certs = TestPki.signed(dir, "cluster-ca", "node");
    List<Integer> ports = List.of(Ports.free(), Ports.free());
    JsonArray members = new JsonArray().add("127.0.0.1:" + ports.get(0)).add("127.0.0.1:" + ports.get(1));
    try (TestNode a = TestNode.builder().shards(1).clustered(true).config(conf("tls-a", ports.get(0), members, certs)).start();
         TestNode b = TestNode.builder().shards(1).clustered(true).config(conf("tls-b", ports.get(1), members, certs)).start();
         Publisher viaA = new Publisher(a.httpPort);
         Publisher viaB = new Publisher(b.httpPort);
         WsClients clients = new WsClients(b.wsPort)) {
      await().atMost(Duration.ofSeconds(120)).until(() -> clusterSize(viaA) == 2 && clusterSize(viaB) == 2);
      Conn conn = clients.connect("across");
      // published on node a, the client is on node b: the batch crosses the TLS event bus
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        Publisher.Response r = viaA.post(new JsonObject().put("type", "note").put("token", "across")
          .put("data", new JsonObject().put("via", "a")).encode());
        return r.status == 202 && !conn.frames.isEmpty();
      });
      assertEquals("a", conn.messages().get(0).getJsonObject("data").getString("via"));
    }
  }

  private static int clusterSize(Publisher p) {
    JsonObject cluster = new JsonObject(p.get("/health").body).getJsonObject("dependencies").getJsonObject("cluster");
    return cluster == null ? 0 : cluster.getJsonObject("nodes").size();
  }

  private static JsonObject conf(String id, int port, JsonArray members, TestPki.Certs certs) {
    return new JsonObject()
      .put("node.id", id)
      .put("cluster.enabled", true)
      .put("cluster.host", "127.0.0.1")
      .put("cluster.port", port)
      .put("cluster.members", members)
      .put("cluster.announceIntervalMs", 500)
      .put("cluster.name", "tls-test")
      .put("cluster.secret", "a-cluster-secret-for-this-test")
      .put("cluster.tls", true)
      .put("cluster.tlsCertPath", certs.cert().toString())
      .put("cluster.tlsKeyPath", certs.key().toString())
      .put("cluster.tlsCaPath", certs.caCert().toString());
  }
}
