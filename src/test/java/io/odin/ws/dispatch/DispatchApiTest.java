package io.odin.ws.dispatch;

import io.odin.ws.node.DispatchSetting;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code PUT /api/dispatch} on one real node with a Redis registry and real clients: the answer, /health, /metrics
 * and the publish answers follow the setting, and messages reach exactly their clients on either path.
 * (The cluster-wide switch under traffic: cluster.RolloutClusterTest.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatchApiTest {

  RedisServer redis;
  TestNode node;
  WsClients clients;
  Publisher api;
  final List<Conn> conns = new ArrayList<>();

  @BeforeAll
  void start() {
    redis = RedisServer.start();
    node = TestNode.start(3, new JsonObject().put("redis.url", redis.url()).put("redis.timeout", 2000));
    clients = new WsClients(node.wsPort);
    api = new Publisher(node.httpPort);
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      tokens.add("user-" + i);
    }
    conns.addAll(clients.connectAll(tokens));
    await().atMost(Duration.ofSeconds(10)).until(() -> node.node().registry().complete());
  }

  @AfterAll
  void stop() throws Exception {
    api.close();
    clients.close();
    node.close();
    redis.close();
  }

  JsonObject put(String body, int status) {
    Publisher.Response r = api.request(HttpMethod.PUT, "/api/dispatch", body);
    assertEquals(status, r.status, r.body);
    return r.json();
  }

  double metric(String line) {
    for (String l : api.get("/metrics").body.split("\n")) {
      if (l.startsWith(line + " ")) {
        return Double.parseDouble(l.substring(line.length() + 1));
      }
    }
    throw new AssertionError("no " + line + " in /metrics");
  }

  /** One message per connected token plus one for an offline token; returns the publish answer. */
  JsonObject publishRound(String tag) {
    conns.forEach(c -> c.frames.clear());
    JsonArray batch = new JsonArray();
    for (Conn c : conns) {
      batch.add(new JsonObject().put("type", "order").put("token", c.token).put("data", new JsonObject().put("id", tag + c.token)));
    }
    batch.add(new JsonObject().put("type", "order").put("token", "nobody").put("data", new JsonObject().put("id", tag)));
    Publisher.Response r = api.post(batch.encode());
    assertEquals(202, r.status, r.body);
    await().atMost(Duration.ofSeconds(10)).until(() -> conns.stream().allMatch(c -> c.frames.size() >= 1));
    for (Conn c : conns) {
      assertEquals(1, c.messages().size(), c.token);
      assertEquals(tag + c.token, c.messages().get(0).getJsonObject("data").getString("id"));
    }
    return r.json();
  }

  @Test
  void theSettingFollowsEveryChangeAndEachPathDeliversExactly() {
    assertEquals("targeted", node.node().dispatchControl().current().mode());
    assertTrue(put("{\"targetedPercent\":-1}", 400).getString("error").startsWith("targetedPercent:"));
    assertTrue(put("{\"mode\":\"sideways\"}", 400).getString("error").startsWith("mode:"));
    assertTrue(put("not json", 400).getString("error").startsWith("body:"));
    assertTrue(put("{\"speed\":3}", 400).getString("error").startsWith("speed:"));

    JsonObject all = publishRound("a");
    assertEquals(60, all.getInteger("targeted"));
    assertEquals(1, all.getInteger("undeliverable"), "the offline token costs nothing");
    assertEquals(0, all.getInteger("fallback"));
    assertEquals(0, all.getInteger("filtered"));

    JsonObject ten = put("{\"targetedPercent\":10}", 200);
    assertEquals(10, ten.getInteger("targetedPercent"));
    assertEquals(ten, api.get("/health").json().getJsonObject("dispatch"));
    assertEquals(ten, api.get("/api/dispatch").json());
    assertEquals(10.0, metric("odin_dispatch_targeted_percent"));
    JsonObject canary = publishRound("b");
    long expectedTargeted = conns.stream().filter(c -> DispatchSetting.bucket(c.token) < 10).count();
    assertEquals(expectedTargeted, (long) canary.getInteger("targeted"));
    assertEquals(61 - expectedTargeted, (long) (canary.getInteger("filtered") + canary.getInteger("undeliverable")));

    JsonObject broadcast = put("{\"mode\":\"broadcast\"}", 200);
    assertEquals(10, broadcast.getInteger("targetedPercent"), "a field left out keeps its value");
    assertEquals(1.0, metric("odin_dispatch_mode{mode=\"broadcast\"}"));
    double before = metric("odin_path_messages_total{path=\"broadcast\"}");
    JsonObject old = publishRound("c");
    assertEquals(61, old.getInteger("filtered"), "every message with a token on the broadcast path");
    assertEquals(0, old.getInteger("targeted"));
    assertEquals(before + 61, metric("odin_path_messages_total{path=\"broadcast\"}"));
    assertTrue(metric("odin_path_fanout_size_sum{path=\"broadcast\"}") >= 61 * 3, "to every shard");

    put("{\"mode\":\"targeted\",\"targetedPercent\":100}", 200);
    assertEquals(0.0, metric("odin_dispatch_mode{mode=\"broadcast\"}"));
    assertEquals(60, publishRound("d").getInteger("targeted"));
  }
}
