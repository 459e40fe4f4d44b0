package io.odin.ws.metrics;

import io.odin.ws.testsupport.FailingRegistry;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.odin.ws.testsupport.Tokens.tokens;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real node with Vert.x metrics on, real WebSocket clients and the real publish API: {@code GET /metrics} is
 * scraped while traffic flows and its counters must move exactly as the traffic says.
 */
class MetricsEndToEndTest {

  static final int SHARDS = 3;

  static TestNode node;
  static WsClients clients;
  static Publisher api;

  @BeforeAll
  static void start() {
    node = TestNode.builder().shards(SHARDS).vertxMetrics(true).start();
    clients = new WsClients(node.wsPort);
    api = new Publisher(node.httpPort);
  }

  @AfterAll
  static void stop() throws Exception {
    api.close();
    clients.close();
    node.close();
  }

  static Scrape scrape(Publisher from) {
    Publisher.Response r = from.get("/metrics");
    assertEquals(200, r.status, r.body);
    return new Scrape(r.body);
  }

  static JsonObject envelope(String type, Object token, int id) {
    JsonObject e = new JsonObject().put("type", type).put("data", new JsonObject().put("id", id));
    return token == null ? e.put("broadcast", true) : e.put("token", token);
  }

  @Test
  void countersFollowConnectionsTargetedAndBroadcastTraffic() {
    Scrape before = scrape(api);
    double connections0 = before.sum("odin_ws_connections");
    int n = 30;
    List<Conn> conns = clients.connectAll(tokens("m", n));

    // connections up: the gauge over all shards and the connect counter
    await().atMost(Duration.ofSeconds(20)).until(() -> scrape(api).sum("odin_ws_connections") == connections0 + n);
    Scrape up = scrape(api);
    assertEquals(n, up.sum("odin_ws_connects_total") - before.sum("odin_ws_connects_total"));
    assertEquals(SHARDS, up.samples("odin_ws_connections").size(), "one series per shard: " + up.samples("odin_ws_connections"));

    // traffic: one targeted message per token, two broadcasts (one by type, one asked for), in two requests
    JsonArray targeted = new JsonArray();
    for (int i = 0; i < n; i++) {
      targeted.add(envelope("order", "m" + i, i));
    }
    JsonArray broadcasts = new JsonArray()
      .add(new JsonObject().put("type", "system-announcement").put("data", new JsonObject().put("id", 100)))
      .add(envelope("news", null, 101));
    assertEquals(202, api.post(targeted.encode()).status);
    assertEquals(202, api.post(broadcasts.encode()).status);
    await().atMost(Duration.ofSeconds(20)).until(() -> conns.stream().allMatch(c -> c.frames.size() == 3));

    Scrape after = scrape(api);
    assertEquals(n, delta(before, after, "odin_dispatch_total", "type", "targeted"));
    assertEquals(2, delta(before, after, "odin_dispatch_total", "type", "broadcast"));
    assertEquals(0, delta(before, after, "odin_dispatch_total", "type", "fallback"));
    assertEquals(3 * n, delta(before, after, "odin_ws_deliveries_total"), "every connection got 3 frames");
    // fan-out: each targeted message to one shard, each broadcast to every shard
    assertEquals(n + 2, delta(before, after, "odin_dispatch_fanout_size_count"));
    assertEquals(n + 2 * SHARDS, delta(before, after, "odin_dispatch_fanout_size_sum"));
    assertEquals(2, delta(before, after, "odin_dispatch_batch_size_count"));
    assertEquals(n + 2, delta(before, after, "odin_dispatch_batch_size_sum"));
    // the latency histogram: one observation per message per shard that delivered it
    long shardsHolding = up.samples("odin_ws_connections").stream().filter(s -> s.value > 0).count();
    assertEquals(n + 2 * shardsHolding, delta(before, after, "odin_delivery_latency_seconds_count"));
    assertEquals(delta(before, after, "odin_delivery_latency_seconds_count"),
      delta(before, after, "odin_delivery_latency_seconds_bucket", "le", "+Inf"));
    assertTrue(after.samples("odin_delivery_latency_seconds_bucket").size() > 10, "a histogram with buckets");
    assertEquals("histogram", after.type("odin_delivery_latency_seconds"));
    assertEquals(0, delta(before, after, "odin_messages_dropped_total"));

    // a message for a token nobody holds: counted as dropped for no connection, not as an error
    assertEquals(202, api.post(envelope("order", "nobody-here", 1).encode()).status);
    assertEquals(1, delta(after, scrape(api), "odin_messages_dropped_total", "reason", "no_connection"));

    // connections down: the gauge falls, disconnects are counted with their reason
    Scrape beforeClose = scrape(api);
    for (Conn c : conns.subList(0, 10)) {
      c.close();
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> scrape(api).sum("odin_ws_connections") == connections0 + n - 10);
    Scrape down = scrape(api);
    assertEquals(10, delta(beforeClose, down, "odin_ws_disconnects_total", "reason", "client"));
    assertEquals(10, delta(beforeClose, down, "odin_ws_disconnects_total"));
    for (Conn c : conns.subList(10, n)) {
      c.close();
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> scrape(api).sum("odin_ws_connections") == connections0);
  }

  @Test
  void vertxMetricsAreOnWithBoundedEventBusLabels() {
    List<Conn> conns = clients.connectAll(tokens("eb", 6));
    assertEquals(202, api.post(envelope("news", null, 1).encode()).status);
    await().atMost(Duration.ofSeconds(20)).until(() -> conns.stream().allMatch(c -> c.frames.size() == 1));
    await().atMost(Duration.ofSeconds(20)).until(() -> scrape(api).sum("vertx_eventbus_processed_total", "address", "odin.shard") > 0);
    Scrape s = scrape(api);

    // event bus: addresses grouped by role, never one series per shard, node or reply
    for (String family : List.of("vertx_eventbus_sent_total", "vertx_eventbus_received_total", "vertx_eventbus_pending",
      "vertx_eventbus_handlers", "vertx_eventbus_processed_total")) {
      for (Scrape.Sample sample : s.samples(family)) {
        String address = sample.labels.get("address");
        assertTrue(VertxMetricsSetup.ADDRESS_CLASSES.containsValue(address) || VertxMetricsSetup.OTHER_ADDRESSES.equals(address),
          "unbounded address label: " + sample);
      }
    }
    assertTrue(s.sum("vertx_eventbus_sent_total", "address", "odin.shard") >= SHARDS);
    assertTrue(s.sum("vertx_eventbus_sent_total", "address", "odin.dispatch") >= 1);
    assertEquals(SHARDS, s.sum("vertx_eventbus_handlers", "address", "odin.shard"), "one consumer per shard");
    assertTrue(s.has("vertx_eventbus_pending"));

    // HTTP server (management port, by route); the WebSocket port is the shards' own (odin_ws_connections)
    assertTrue(s.sum("vertx_http_server_requests_total", "route", "/api/publish", "code", "202") >= 1);
    // JVM and process
    for (String name : List.of("jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_classes_loaded_classes",
      "process_cpu_usage", "process_uptime_seconds", "process_files_open_files", "system_cpu_count")) {
      assertTrue(s.has(name), name + " missing");
    }
    conns.forEach(Conn::close);
  }

  @Test
  void fallbackIsCountedWhenTheRegistryCannotAnswer() throws Exception {
    try (TestNode failing = TestNode.builder().shards(2).registry(config -> new FailingRegistry()).start();
         WsClients fc = new WsClients(failing.wsPort);
         Publisher fapi = new Publisher(failing.httpPort)) {
      List<Conn> conns = fc.connectAll(tokens("f", 8));
      await().atMost(Duration.ofSeconds(20)).until(() -> scrape(fapi).sum("odin_ws_connections") == 8);
      Scrape before = scrape(fapi);
      JsonArray batch = new JsonArray();
      for (int i = 0; i < 8; i++) {
        batch.add(envelope("order", "f" + i, i));
      }
      batch.add(envelope("news", null, 99));
      Publisher.Response r = fapi.post(batch.encode());
      assertEquals(202, r.status, r.body);
      assertEquals(8, r.json().getInteger("fallback"));
      // every message still reaches exactly its connections: each shard delivers only to the tokens it holds
      await().atMost(Duration.ofSeconds(20)).until(() -> conns.stream().allMatch(c -> c.frames.size() == 2));
      Scrape after = scrape(fapi);
      assertEquals(8, delta(before, after, "odin_dispatch_total", "type", "fallback"));
      assertEquals(0, delta(before, after, "odin_dispatch_total", "type", "targeted"));
      assertEquals(1, delta(before, after, "odin_dispatch_total", "type", "broadcast"));
      assertEquals(9 * 2, delta(before, after, "odin_dispatch_fanout_size_sum"), "fallback goes to every shard");
      assertEquals(16, delta(before, after, "odin_ws_deliveries_total"));
      conns.forEach(c -> assertEquals(2, c.frames.size(), c.token + ": " + c.frames));
    }
  }

  static double delta(Scrape before, Scrape after, String name, String... labels) {
    return after.sum(name, labels) - before.sum(name, labels);
  }
}
