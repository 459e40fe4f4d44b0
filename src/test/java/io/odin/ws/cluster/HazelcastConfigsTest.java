package io.odin.ws.cluster;

import com.hazelcast.config.Config;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.ConfigException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HazelcastConfigsTest {

  private static ClusterSettings settings(JsonObject conf, Map<String, String> env) {
    return new ClusterSettings(GatewaySchema.resolve(conf, env));
  }

  @Test
  void builtFromKeysAndEnvironment() {
    Config c = HazelcastConfigs.build(settings(new JsonObject(), Map.of(
      "ODIN_CLUSTER_HOST", "127.0.0.1", "ODIN_CLUSTER_PORT", "15801",
      "ODIN_CLUSTER_MEMBERS", "127.0.0.1:15801,127.0.0.1:15802")));
    assertEquals(15801, c.getNetworkConfig().getPort());
    assertFalse(c.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
    assertTrue(c.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
    assertEquals(List.of("127.0.0.1:15801", "127.0.0.1:15802"), c.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertEquals("127.0.0.1", c.getProperty("hazelcast.local.localAddress"));
    assertEquals("10", c.getProperty("hazelcast.max.no.heartbeat.seconds"));
    assertEquals("10", c.getProperty("hazelcast.merge.first.run.delay.seconds"));
    assertEquals("10", c.getProperty("hazelcast.merge.next.run.delay.seconds"));
    // the structures Vert.x needs are kept
    assertNotNull(c.getMultiMapConfigs().get("__vertx.subs"));
  }

  @Test
  void shippedXmlFilesParse() {
    Config loopback = HazelcastConfigs.build(settings(new JsonObject().put("cluster.config", "conf/cluster/hazelcast-loopback.xml"), Map.of()));
    assertEquals(5701, loopback.getNetworkConfig().getPort());
    assertTrue(loopback.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
    assertEquals("10", loopback.getProperty("hazelcast.merge.next.run.delay.seconds"));
    Config gcp = HazelcastConfigs.build(settings(new JsonObject().put("cluster.config", "conf/cluster/hazelcast-gcp.xml"), Map.of()));
    assertTrue(gcp.getNetworkConfig().getJoin().getGcpConfig().isEnabled());
    assertNotNull(gcp.getMultiMapConfigs().get("__vertx.subs"));
    // the cluster name (derived from cluster.secret) is not the prefix of every Hazelcast log line (issue 33)
    for (Config c : List.of(loopback, gcp, HazelcastConfigs.build(settings(new JsonObject(), Map.of())))) {
      assertEquals("false", c.getProperty("hazelcast.logging.details.enabled"));
    }
  }

  @Test
  void missingFileIsAClearError() {
    ConfigException e = assertThrows(ConfigException.class, () ->
      HazelcastConfigs.build(settings(new JsonObject().put("cluster.config", "nope.xml"), Map.of())));
    assertTrue(e.getMessage().startsWith("cluster.config: no such file nope.xml"));
    assertEquals(0, new JsonArray().size());
  }

  @Test
  void secretIsFoldedIntoTheClusterName() {
    String open = HazelcastConfigs.build(settings(new JsonObject(), Map.of())).getClusterName();
    assertEquals("odin-ws", open);
    String withSecret = HazelcastConfigs.build(settings(new JsonObject(), Map.of("ODIN_CLUSTER_SECRET", "s3cret"))).getClusterName();
    String otherSecret = HazelcastConfigs.build(settings(new JsonObject(), Map.of("ODIN_CLUSTER_SECRET", "other"))).getClusterName();
    assertTrue(withSecret.startsWith("odin-ws-"), withSecret);
    assertFalse(withSecret.contains("s3cret"), "the secret itself never goes on the wire");
    assertFalse(withSecret.equals(otherSecret), "nodes with another secret form another cluster");
    assertEquals(withSecret, HazelcastConfigs.build(settings(new JsonObject(), Map.of("ODIN_CLUSTER_SECRET", "s3cret"))).getClusterName());
  }

  @Test
  void clusterTlsNeedsItsFiles() {
    ConfigException e = assertThrows(ConfigException.class, () -> settings(new JsonObject().put("cluster.tls", true), Map.of()));
    assertTrue(e.getMessage().startsWith("cluster.tlsCertPath: a readable PEM file is required"), e.getMessage());
  }
}
