package io.odin.ws.status;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The status page over plain HTTP: self-contained, and the JSON it polls follows the node. */
class StatusPageTest {

  @Test
  void pageIsSelfContainedAndStatsFollowTheNode() throws Exception {
    try (TestNode node = TestNode.start(2);
         WsClients clients = new WsClients(node.wsPort);
         Publisher api = new Publisher(node.httpPort)) {
      Publisher.Response page = api.get("/");
      assertEquals(200, page.status);
      assertTrue(page.body.contains("<canvas id=\"chart-connections\""), "the page draws charts");
      // no CDN, no web font, no other origin: nothing to fetch but /api/stats
      assertFalse(Pattern.compile("(src|href)\\s*=\\s*\"(https?:)?//", Pattern.CASE_INSENSITIVE).matcher(page.body).find(), "external resource");
      assertFalse(Pattern.compile("url\\(|@import|@font-face|<link\\b(?![^>]*href=\"data:)|<script\\s+src", Pattern.CASE_INSENSITIVE).matcher(page.body).find(),
        "external style, font or script");

      JsonObject stats = api.get("/api/stats").json();
      String self = stats.getString("self");
      assertEquals(node.node().nodeId(), self);
      JsonArray nodes = stats.getJsonArray("nodes");
      assertEquals(1, nodes.size(), "not clustered: this node only");
      JsonObject me = nodes.getJsonObject(0);
      assertEquals(self, me.getString("node"));
      assertEquals(0, me.getInteger("connections"));
      assertEquals(2, me.getJsonArray("shards").size());
      assertEquals(0L, me.getJsonObject("latency").getLong("count"));

      List<Conn> conns = clients.connectAll(List.of("s0", "s1", "s2"));
      assertEquals(202, api.post("[{\"type\":\"t\",\"token\":\"s0\",\"data\":1},{\"type\":\"news\",\"broadcast\":true,\"data\":2}]").status);
      await().atMost(Duration.ofSeconds(20)).until(() -> conns.stream().mapToInt(c -> c.frames.size()).sum() == 4);
      JsonObject after = api.get("/api/stats").json().getJsonArray("nodes").getJsonObject(0);
      assertEquals(3, after.getInteger("connections"));
      // /health shows the same per-shard summary
      JsonObject health = api.get("/health").json();
      assertEquals(after.getJsonArray("shards"), health.getJsonArray("shards"));
      assertEquals(3, health.getInteger("connections"));
      assertEquals(3L, after.getLong("connects"));
      assertEquals(1L, after.getJsonObject("dispatch").getLong("targeted"));
      assertEquals(1L, after.getJsonObject("dispatch").getLong("broadcast"));
      assertEquals(4L, after.getLong("deliveries"));
      JsonObject latency = after.getJsonObject("latency");
      assertTrue(latency.getLong("count") >= 2);
      JsonArray buckets = latency.getJsonArray("buckets");
      assertEquals(latency.getLong("count"), buckets.getJsonArray(buckets.size() - 1).getLong(1), "cumulative buckets end at the count");
      assertTrue(after.getLong("time") >= me.getLong("time"));
      // the rollout panel: the setting in force and, per path, the totals the page compares
      assertTrue(page.body.contains("<table id=\"rollout\""), "the page has the rollout panel");
      JsonObject rollout = after.getJsonObject("rollout");
      assertEquals("targeted", rollout.getJsonObject("setting").getString("mode"));
      assertEquals(100, rollout.getJsonObject("setting").getInteger("targetedPercent"));
      JsonObject canary = rollout.getJsonObject("paths").getJsonObject("targeted");
      assertEquals(1L, canary.getLong("messages"), "the targeted message, not the broadcast");
      assertEquals(1L, canary.getLong("deliveries"));
      assertEquals(0L, rollout.getJsonObject("paths").getJsonObject("broadcast").getLong("messages"));
    }
  }

  @Test
  void clusterSeamListsEveryNodeTheClusterReports() throws Exception {
    try (TestNode node = TestNode.start(1); Publisher api = new Publisher(node.httpPort)) {
      node.node().clusterStats(self -> io.vertx.core.Future.succeededFuture(List.of(self,
        new JsonObject().put("node", "other").put("reachable", false))));
      JsonObject stats = api.get("/api/stats").json();
      assertEquals(2, stats.getJsonArray("nodes").size());
      // a failing cluster view still shows this node
      node.node().clusterStats(self -> io.vertx.core.Future.failedFuture("cluster down"));
      assertEquals(1, api.get("/api/stats").json().getJsonArray("nodes").size());
    }
  }

  @Test
  void headAnswersLikeGetWithoutABody() throws Exception {
    try (TestNode node = TestNode.start(1); Publisher api = new Publisher(node.httpPort)) {
      // HTTP/1.1 as curl and browsers speak it (the JDK client would otherwise try an h2c upgrade)
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      for (String path : List.of("/", "/health", "/health/ready")) {
        HttpResponse<byte[]> head = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort + path))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
        Publisher.Response get = api.get(path);
        assertEquals(get.status, head.statusCode(), path);
        assertEquals(0, head.body().length, path);
        assertEquals(head.headers().firstValue("content-type").orElse(""), path.equals("/") ? "text/html; charset=utf-8" : "application/json", path);
      }
    }
  }
}
