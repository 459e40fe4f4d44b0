package io.odin.ws.stack;

import io.odin.ws.metrics.DashboardTest;
import io.odin.ws.testsupport.ClusterDeliveryCheck;
import io.odin.ws.testsupport.ClusterDeliveryCheck.Node;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The compose stack (docker-compose.yml), already up (scripts/stack-test brings it up and down): exact delivery
 * through node-1's API and through Kafka to clients on all three nodes, then every query of the Grafana dashboard
 * evaluated against the stack's live Prometheus, each of which must return data. Ports are the compose file's
 * variables (NODE1_WS_PORT, ..., KAFKA_PORT, PROMETHEUS_PORT), read from the environment with the same defaults.
 */
@Tag("stack")
class StackTest {

  static final String HOST = env("STACK_BIND", "127.0.0.1");
  static final String TOPIC = env("ODIN_KAFKA_TOPICS", "odin-events");
  /** Grafana's $__rate_interval for a 5 s scrape interval is at least 4 scrapes; 30 s leaves room for a late one. */
  static final String RATE_INTERVAL = "30s";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }

  private static int port(String name, int fallback) {
    return Integer.parseInt(env(name, String.valueOf(fallback)));
  }

  static List<Node> nodes() {
    return List.of(
      new Node("node-1", port("NODE1_WS_PORT", 3001), port("NODE1_HTTP_PORT", 3004)),
      new Node("node-2", port("NODE2_WS_PORT", 3011), port("NODE2_HTTP_PORT", 3014)),
      new Node("node-3", port("NODE3_WS_PORT", 3021), port("NODE3_HTTP_PORT", 3024)));
  }

  /** A dashboard query with Grafana's variables replaced as Grafana would with "All" nodes selected. */
  static String expand(String query) {
    return query
      .replace("$__rate_interval", RATE_INTERVAL)
      .replace("${__rate_interval}", RATE_INTERVAL)
      .replace("$__interval", "5s")
      .replace("\"$instance\"", "\".*\"")
      .replace("\"${instance}\"", "\".*\"");
  }

  private JsonObject prometheus(String path) throws Exception {
    URI uri = URI.create("http://" + HOST + ":" + port("PROMETHEUS_PORT", 9090) + path);
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
      HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), uri + ": " + r.body());
    JsonObject body = new JsonObject(r.body());
    assertEquals("success", body.getString("status"), r.body());
    return body;
  }

  /** True when the range query has a series with at least one real (not NaN) value in [start, now]. */
  private boolean hasData(String query, long start) throws Exception {
    long end = System.currentTimeMillis() / 1000 + 1;
    JsonArray series = prometheus("/api/v1/query_range?query=" + URLEncoder.encode(expand(query), StandardCharsets.UTF_8)
      + "&start=" + start + "&end=" + end + "&step=5").getJsonObject("data").getJsonArray("result");
    for (Object s : series) {
      for (Object point : ((JsonObject) s).getJsonArray("values")) {
        String value = ((JsonArray) point).getString(1);
        if (!value.equals("NaN")) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void deliversExactlyOnEveryNodeAndEveryDashboardQueryHasLiveData() throws Exception {
    long start = System.currentTimeMillis() / 1000;
    List<Node> nodes = nodes();
    try (ClusterDeliveryCheck check = new ClusterDeliveryCheck(nodes, HOST + ":" + port("KAFKA_PORT", 9092), TOPIC)) {
      check.awaitCluster(3);
      check.awaitConsumers(6);
      check.run("stack", 20, 0);
      check.sendBadRecord();

      // one subscriber of a channel on every node, so the dashboard's channel panels have live data too
      String channel = "stack:news";
      List<WsClients> subscriberPools = new ArrayList<>();
      List<WsClients.Conn> subscribers = new ArrayList<>();
      for (Node n : nodes) {
        WsClients pool = new WsClients(n.wsPort());
        subscriberPools.add(pool);
        subscribers.add(pool.connectAsync("sub-" + n.name(),
          new WebSocketConnectOptions().setURI("/ws?token=stack-sub-" + n.name() + "&channels=" + channel))
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      }

      // the dashboard, as Grafana provisions it from conf/grafana
      JsonObject dashboard = new JsonObject(Files.readString(DashboardTest.DASHBOARD));
      List<String> queries = new ArrayList<>();
      for (String q : DashboardTest.queries(dashboard)) {
        if (!q.startsWith("label_values(")) {
          queries.add(q);
        }
      }
      assertTrue(queries.size() > 20, "dashboard queries: " + queries);
      // the node picker: label_values(odin_ws_connections, instance) lists the three nodes
      JsonArray instances = prometheus("/api/v1/label/instance/values?match[]="
        + URLEncoder.encode("odin_ws_connections", StandardCharsets.UTF_8)).getJsonArray("data");
      assertEquals(3, instances.size(), "instances: " + instances);

      // keep light traffic flowing through every node until Prometheus has data for every panel (or give up)
      Map<String, Boolean> withData = new LinkedHashMap<>();
      queries.forEach(q -> withData.put(q, false));
      AtomicInteger round = new AtomicInteger();
      try {
        await("every dashboard query has data").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(3))
          .until(() -> {
            int r = round.getAndIncrement();
            JsonArray batch = new JsonArray()
              .add(ClusterDeliveryCheck.envelope("order", "stack-n" + (r % 3) + "-0", "traffic-" + r))
              .add(ClusterDeliveryCheck.broadcast("news", "traffic-b" + r))
              .add(ClusterDeliveryCheck.envelope("tick", null, "traffic-c" + r).put("channel", channel));
            assertEquals(202, check.api(r % 3).post(batch.encode()).status);
            for (Map.Entry<String, Boolean> e : withData.entrySet()) {
              if (!e.getValue()) {
                e.setValue(hasData(e.getKey(), start));
              }
            }
            return !withData.containsValue(false);
          });
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        List<String> missing = new ArrayList<>();
        withData.forEach((q, ok) -> {
          if (!ok) {
            missing.add(expand(q));
          }
        });
        fail(missing.size() + " of " + queries.size() + " dashboard queries have no data in Prometheus: " + missing);
      }
      // the channel's messages reached its subscriber on every node (the broadcasts too; no one's targeted message)
      for (WsClients.Conn s : subscribers) {
        await(s.token + " got the channel's first message").atMost(Duration.ofSeconds(10)).until(() ->
          s.messages().stream().anyMatch(m -> channel.equals(m.getString("channel")) && m.getJsonObject("data") != null
            && "traffic-c0".equals(m.getJsonObject("data").getString("id"))));
        assertTrue(s.messages().stream().noneMatch(m -> "order".equals(m.getString("type"))), s.token + " got a targeted message");
      }
      for (WsClients pool : subscriberPools) {
        pool.close();
      }
    }
  }
}
