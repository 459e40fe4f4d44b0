package io.odin.ws.metrics;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Grafana dashboard in conf/grafana asks only for metrics a real node exports: every metric name in its PromQL
 * (panels and template variables) must be in a scrape of a running node with traffic.
 */
public class DashboardTest {

  public static final Path DASHBOARD = Path.of("conf/grafana/dashboards/odin-ws.json");

  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "inf", "nan", "atan2");
  private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");

  /** The metric names a PromQL expression reads. */
  static Set<String> metricNames(String expr) {
    String e = expr
      .replaceAll("\\$\\{[^}]*}|\\$\\w+", "0")                                 // Grafana variables
      .replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'", "\"\"")    // string literals
      .replaceAll("\\{[^}]*}", " ")                                           // label matchers
      .replaceAll("\\[[^\\]]*]", " ")                                         // ranges and subqueries
      .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ") // label lists
      .replaceAll("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,[^)]*\\)", "$1");     // Grafana's label_values(metric, label)
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(e);
    while (m.find()) {
      boolean function = m.group(2) != null;
      if (!function && !KEYWORDS.contains(m.group(1).toLowerCase())) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  /** Every query of the dashboard: panel targets (rows included) and template variables. */
  public static List<String> queries(JsonObject dashboard) {
    List<String> out = new ArrayList<>();
    collectPanels(dashboard.getJsonArray("panels", new JsonArray()), out);
    for (Object o : dashboard.getJsonObject("templating", new JsonObject()).getJsonArray("list", new JsonArray())) {
      JsonObject v = (JsonObject) o;
      if ("query".equals(v.getString("type"))) {
        Object q = v.getValue("query");
        out.add(q instanceof JsonObject ? ((JsonObject) q).getString("query") : String.valueOf(q));
      }
    }
    return out;
  }

  private static void collectPanels(JsonArray panels, List<String> out) {
    for (Object o : panels) {
      JsonObject p = (JsonObject) o;
      for (Object t : p.getJsonArray("targets", new JsonArray())) {
        String expr = ((JsonObject) t).getString("expr");
        if (expr != null && !expr.isBlank()) {
          out.add(expr);
        }
      }
      collectPanels(p.getJsonArray("panels", new JsonArray()), out);
    }
  }

  @Test
  void extractsMetricNamesFromPromQl() {
    assertEquals(Set.of("odin_delivery_latency_seconds_bucket"), metricNames(
      "histogram_quantile(0.99, sum by (le) (rate(odin_delivery_latency_seconds_bucket{instance=~\"$instance\"}[$__rate_interval])))"));
    assertEquals(Set.of("a_sum", "a_count"), metricNames("sum(rate(a_sum{x=\"y\"}[5m])) / sum without (shard) (rate(a_count[1m] offset 5m))"));
    assertEquals(Set.of("odin_ws_connections"), metricNames("label_values(odin_ws_connections, instance)"));
    assertEquals(Set.of("m1", "m2"), metricNames("sum by (route, code) (m1{route!=\"\"}) * on (instance) group_left (version) m2 > 1e3"));
  }

  @Test
  void everyMetricTheDashboardQueriesExistsInARealScrape() throws Exception {
    JsonObject dashboard = new JsonObject(Files.readString(DASHBOARD));
    assertEquals("odin-ws", dashboard.getString("uid"));
    List<String> queries = queries(dashboard);
    Set<String> wanted = new TreeSet<>();
    queries.forEach(q -> wanted.addAll(metricNames(q)));
    assertTrue(queries.size() > 20, "dashboard queries: " + queries);

    // what the issue asks the dashboard to show
    for (String name : List.of("odin_ws_connections", "odin_dispatch_total", "odin_ws_deliveries_total",
      "odin_dispatch_fanout_size_bucket", "vertx_eventbus_sent_total", "vertx_eventbus_received_total",
      "vertx_eventbus_pending", "odin_redis_lookup_duration_seconds_bucket", "odin_redis_errors_total",
      "odin_kafka_records_total", "odin_kafka_lag", "odin_delivery_latency_seconds_bucket", "odin_messages_dropped_total",
      // the rollout row: canary (path="targeted") beside control (path="broadcast"), docs/rollout.md
      "odin_dispatch_targeted_percent", "odin_dispatch_mode", "odin_path_messages_total", "odin_path_deliveries_total",
      "odin_path_delivery_latency_seconds_bucket", "odin_path_fanout_size_sum", "odin_path_dropped_total")) {
      assertTrue(wanted.contains(name), "the dashboard does not show " + name);
    }

    Scrape scrape;
    try (TestNode node = TestNode.builder().shards(2).vertxMetrics(true).start();
         WsClients clients = new WsClients(node.wsPort);
         Publisher api = new Publisher(node.httpPort)) {
      List<Conn> conns = clients.connectAll(List.of("d0", "d1", "d2", "d3"));
      JsonArray traffic = new JsonArray()
        .add(new JsonObject().put("type", "order").put("token", "d0").put("data", 1))
        .add(new JsonObject().put("type", "order").put("token", "d1").put("data", 2))
        .add(new JsonObject().put("type", "news").put("broadcast", true).put("data", 3));
      assertEquals(202, api.post(traffic.encode()).status);
      await().atMost(Duration.ofSeconds(20)).until(() -> conns.get(0).frames.size() == 2 && conns.get(1).frames.size() == 2
        && conns.get(2).frames.size() == 1 && conns.get(3).frames.size() == 1);
      // jvm_gc_pause_seconds exists once the JVM has paused for a collection
      System.gc();
      await().atMost(Duration.ofSeconds(20)).until(() -> new Scrape(api.get("/metrics").body).has("jvm_gc_pause_seconds_sum"));
      scrape = new Scrape(api.get("/metrics").body);
    }
    Set<String> missing = new TreeSet<>(wanted);
    missing.removeAll(scrape.names());
    assertTrue(missing.isEmpty(), "the dashboard queries metrics a node does not export: " + missing);
  }

  @Test
  void provisioningFilesFitTogether() throws Exception {
    String datasources = Files.readString(Path.of("conf/grafana/provisioning/datasources/prometheus.yml"));
    String dashboards = Files.readString(Path.of("conf/grafana/provisioning/dashboards/odin-ws.yml"));
    String prometheus = Files.readString(Path.of("conf/prometheus/prometheus.yml"));
    assertTrue(datasources.contains("type: prometheus"));
    assertTrue(dashboards.contains("type: file") && dashboards.contains("path: "));
    assertTrue(prometheus.contains("metrics_path: /metrics") && prometheus.contains(":3004"));
    // every panel reads the dashboard's Prometheus datasource variable
    JsonObject dashboard = new JsonObject(Files.readString(DASHBOARD));
    for (Object o : dashboard.getJsonArray("panels")) {
      JsonObject p = (JsonObject) o;
      if (!"row".equals(p.getString("type"))) {
        assertEquals("${datasource}", p.getJsonObject("datasource").getString("uid"), p.getString("title"));
      }
    }
  }
}
