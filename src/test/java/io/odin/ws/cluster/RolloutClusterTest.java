package io.odin.ws.cluster;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rollout of targeted dispatch on a real three-node cluster (child JVMs, Hazelcast, Redis, Kafka, WebSocket
 * clients on every node): continuous traffic over HTTP (every node's publish API) and Kafka while the targeted
 * percentage moves 0 → 10 → 50 → 100 → 0, then to broadcast mode and back, each change made with one
 * {@code PUT /api/dispatch} on a different node. A fourth node joins mid-way and must run the cluster's setting
 * as soon as it is ready. Every connection must receive exactly its token's messages, each stream (one ingress
 * node, one Kafka partition) in publish order: nothing lost, duplicated or reordered across any switch.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RolloutClusterTest {

  static final String TOPIC = "rollout-events";
  static final int TOKENS = 48;
  /** Messages per HTTP request; a fifth of them for tokens nobody holds (offline). */
  static final int PER_REQUEST = 10;

  private final List<ChildNode> nodes = new ArrayList<>();
  private final List<WsClients> clientPools = new ArrayList<>();
  private final List<Conn> conns = new CopyOnWriteArrayList<>();
  private RedisServer redis;
  private KafkaBroker kafka;
  private KafkaProducer<String, String> producer;
  private String members;

  /** Per token, the ids published for it, per stream ("h" HTTP, "k" Kafka), in publish order. */
  private final Map<String, List<String>> http = new ConcurrentHashMap<>();
  private final Map<String, List<String>> kafkaIds = new ConcurrentHashMap<>();
  private final AtomicLong httpAccepted = new AtomicLong();
  private final AtomicLong kafkaSent = new AtomicLong();
  private final AtomicLong httpFailures = new AtomicLong();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private Vertx trafficVertx;
  private HttpClient trafficClient;
  private ScheduledExecutorService kafkaPacer;

  @BeforeAll
  void startCluster() throws Exception {
    redis = RedisServer.start();
    kafka = KafkaBroker.create().start();
    kafka.createTopic(TOPIC, 6);
    producer = new KafkaProducer<>(Map.of(
      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
      ProducerConfig.ACKS_CONFIG, "all",
      ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
      ProducerConfig.LINGER_MS_CONFIG, 5), new StringSerializer(), new StringSerializer());
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free(), Ports.free());
    // the three nodes list each other; the joiner lists them and itself (an address that is not up yet would
    // slow the others' join down)
    members = String.join(",", ports.subList(0, 3).stream().map(p -> "127.0.0.1:" + p).toList());
    for (int i = 0; i < 3; i++) {
      nodes.add(launch(i, ports.get(i), true));
    }
    for (ChildNode n : nodes) {
      awaitReady(n);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> nodes.stream().allMatch(n -> clusterNodes(n).size() == 3));
    // a stable consumer group: records produced during a rebalance may come twice (Kafka's at-least-once)
    await().atMost(Duration.ofSeconds(90)).until(() -> nodes.stream().allMatch(n -> assignedPartitions(n) == 2));
    joinerPort = ports.get(3);
  }

  private int joinerPort;

  private ChildNode launch(int i, int clusterPort, boolean withKafka) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of(
      "ODIN_CLUSTER", "true",
      "ODIN_CLUSTER_HOST", "127.0.0.1",
      "ODIN_CLUSTER_PORT", String.valueOf(clusterPort),
      "ODIN_CLUSTER_MEMBERS", i < 3 ? members : members + ",127.0.0.1:" + clusterPort,
      "ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000",
      "ODIN_REDIS_URL", redis.url(),
      // a loaded CI machine can hold a Redis answer past the default 500 ms: the batch then goes out unstored, every
      // stream takes a new epoch and shards close connections whose gap can no longer be read (1013, fail-closed).
      // That is RecoveryClusterTest's subject; here the switches are
      "ODIN_REDIS_TIMEOUT", "5000",
      // the configured setting every node starts from: the cluster's changes supersede it
      "ODIN_DISPATCH_TARGETED_PERCENT", "100"));
    if (withKafka) {
      env.putAll(Map.of(
        "ODIN_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "ODIN_KAFKA_TOPICS", TOPIC,
        "ODIN_KAFKA_AUTO_OFFSET_RESET", "earliest",
        "ODIN_KAFKA_SESSION_TIMEOUT_MS", "6000"));
    }
    return ChildNode.launch("r" + (char) ('a' + i), 2, env);
  }

  @AfterAll
  void stop() throws Exception {
    running.set(false);
    if (kafkaPacer != null) {
      kafkaPacer.shutdownNow();
    }
    if (trafficVertx != null) {
      trafficVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    for (WsClients c : clientPools) {
      c.close();
    }
    for (ChildNode n : nodes) {
      n.close();
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    if (kafka != null) {
      kafka.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** Like ChildNode.awaitReady, with room for a machine shared with other work (a clustered JVM took 53 s there). */
  private static void awaitReady(ChildNode n) {
    await().atMost(Duration.ofMinutes(4)).ignoreExceptions().until(() -> {
      if (!n.isAlive()) {
        throw new IllegalStateException(n.name + " exited: " + n.logText());
      }
      return n.api().get("/health/ready").status == 200;
    });
  }

  private static JsonObject clusterNodes(ChildNode n) {
    return n.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes");
  }

  private static int assignedPartitions(ChildNode n) {
    JsonObject k = n.health().getJsonObject("dependencies").getJsonObject("kafka-0");
    return k == null ? 0 : k.getJsonArray("assigned").size();
  }

  private static JsonObject dispatchOf(ChildNode n) {
    return n.health().getJsonObject("dispatch");
  }

  /** A gauge or counter of a node's /metrics, summed over the series whose labels contain {@code labels}. */
  private static double metric(ChildNode n, String name, String labels) {
    String text = n.api().get("/metrics").body;
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{([^}]*)\\})? ([0-9.eE+-]+)$").matcher(text);
    double sum = 0;
    while (m.find()) {
      if (labels.isEmpty() || (m.group(2) != null && m.group(2).contains(labels))) {
        sum += Double.parseDouble(m.group(3));
      }
    }
    return sum;
  }

  private List<Conn> connect(ChildNode n, List<String> tokens) {
    WsClients c = new WsClients(n.wsPort);
    clientPools.add(c);
    List<Conn> opened = c.connectAll(tokens);
    conns.addAll(opened);
    return opened;
  }

  /** One request at a time per ingress node (so its messages have a defined order), for as long as the test runs. */
  private void httpStream(ChildNode ingress, List<String> tokens, int[] next) {
    if (!running.get()) {
      return;
    }
    JsonArray batch = new JsonArray();
    List<String[]> published = new ArrayList<>();
    for (int i = 0; i < PER_REQUEST; i++) {
      if (i % 5 == 4) {
        batch.add(new JsonObject().put("type", "order").put("token", "offline-" + (next[0] % 500))
          .put("data", new JsonObject().put("id", "x" + next[0]++)));
        continue;
      }
      String token = tokens.get(next[0] % tokens.size());
      String id = "h" + ingress.name + "-" + next[0]++;
      batch.add(new JsonObject().put("type", "order").put("token", token).put("data", new JsonObject().put("id", id)));
      published.add(new String[] {token, id});
    }
    trafficClient.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(ingress.httpPort)
        .setURI("/api/publish").putHeader("content-type", "application/json"))
      .compose(req -> req.send(Buffer.buffer(batch.encode())))
      .compose(resp -> resp.body().map(b -> resp.statusCode()))
      .onComplete(ar -> {
        if (ar.succeeded() && ar.result() == 202) {
          for (String[] p : published) {
            http.computeIfAbsent(p[0], t -> new CopyOnWriteArrayList<>()).add(p[1]);
          }
          httpAccepted.addAndGet(published.size());
        } else {
          httpFailures.incrementAndGet();
        }
        httpStream(ingress, tokens, next);
      });
  }

  private void kafkaStream(List<String> tokens) {
    int[] next = {0};
    kafkaPacer = Executors.newSingleThreadScheduledExecutor();
    kafkaPacer.scheduleAtFixedRate(() -> {
      for (int i = 0; i < 10 && running.get(); i++) {
        String token = tokens.get(next[0] % tokens.size());
        String id = "k" + next[0]++;
        // recorded before the send: the producer keeps send order per partition (idempotent), and the key is the token
        kafkaIds.computeIfAbsent(token, t -> new CopyOnWriteArrayList<>()).add(id);
        producer.send(new ProducerRecord<>(TOPIC, token, new JsonObject().put("type", "order")
          .put("data", new JsonObject().put("id", id)).encode()));
        kafkaSent.incrementAndGet();
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
  }

  /** Lets traffic flow under the current setting: enough messages on every stream to cross the switch. */
  private void flow() {
    long h = httpAccepted.get();
    long k = kafkaSent.get();
    await().atMost(Duration.ofSeconds(60)).until(() -> httpAccepted.get() >= h + 200 && kafkaSent.get() >= k + 100);
  }

  /** One request on {@code via}; every node (and the joiner, once there) runs the new setting. */
  private JsonObject change(ChildNode via, JsonObject body) {
    var resp = via.api().request(HttpMethod.PUT, "/api/dispatch", body.encode());
    assertEquals(200, resp.status, resp.body);
    JsonObject now = resp.json();
    await().atMost(Duration.ofSeconds(10)).until(() -> nodes.stream().allMatch(n -> now.equals(dispatchOf(n))));
    return now;
  }

  @Test
  void noMessageIsLostDuplicatedOrReorderedThroughEverySwitchAndTheJoinerTakesTheCurrentSetting() throws Exception {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < TOKENS; i++) {
      tokens.add("t" + i);
    }
    // token i on node i % 3; the first 12 with a second device on the next node
    for (int n = 0; n < 3; n++) {
      List<String> here = new ArrayList<>();
      for (int i = 0; i < TOKENS; i++) {
        if (i % 3 == n || (i < 12 && (i + 1) % 3 == n)) {
          here.add(tokens.get(i));
        }
      }
      connect(nodes.get(n), here);
    }
    assertEquals(TOKENS + 12, conns.size());
    assertEquals(400, nodes.get(0).api().request(HttpMethod.PUT, "/api/dispatch", "{\"targetedPercent\":101}").status);

    change(nodes.get(0), new JsonObject().put("targetedPercent", 0));
    trafficVertx = Vertx.vertx();
    trafficClient = trafficVertx.createHttpClient();
    for (int n = 0; n < 3; n++) {
      // each ingress node publishes for tokens held on every node
      List<String> mine = new ArrayList<>();
      for (int i = n; i < TOKENS; i += 3) {
        mine.add(tokens.get((i + 1) % TOKENS));
      }
      ChildNode ingress = nodes.get(n);
      trafficVertx.runOnContext(v -> httpStream(ingress, mine, new int[] {0}));
    }
    kafkaStream(tokens);
    flow();

    int[] stages = {10, 50, 100, 0};
    JsonObject current = null;
    for (int s = 0; s < stages.length; s++) {
      current = change(nodes.get((s + 1) % 3), new JsonObject().put("targetedPercent", stages[s]));
      assertEquals(stages[s], current.getInteger("targetedPercent"));
      flow();
      if (stages[s] == 50) {
        // a node joins mid-way: ready means it runs the cluster's setting, not its configured 100%
        ChildNode joiner = launch(3, joinerPort, false);
        nodes.add(joiner);
        awaitReady(joiner);
        assertEquals(current, dispatchOf(joiner), "the joiner applies the cluster's current setting");
        await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n -> clusterNodes(n).size() == 4));
        flow();
      }
    }
    // the old system's behaviour, then back: through the joiner's API this time
    JsonObject broadcast = change(nodes.get(3), new JsonObject().put("mode", "broadcast"));
    assertEquals("broadcast", broadcast.getString("mode"));
    double broadcastBefore = nodes.stream().mapToDouble(n -> metric(n, "odin_path_messages_total", "path=\"broadcast\"")).sum();
    flow();
    double broadcastAfter = nodes.stream().mapToDouble(n -> metric(n, "odin_path_messages_total", "path=\"broadcast\"")).sum();
    assertTrue(broadcastAfter - broadcastBefore >= 200, "broadcast mode took the broadcast path");
    change(nodes.get(1), new JsonObject().put("mode", "targeted").put("targetedPercent", 100));
    flow();

    running.set(false);
    kafkaPacer.shutdown();
    assertTrue(kafkaPacer.awaitTermination(10, TimeUnit.SECONDS));
    producer.flush();
    assertEquals(0, httpFailures.get(), "every publish request was accepted");

    // every connection receives exactly its token's messages, each stream in publish order
    await().atMost(Duration.ofSeconds(60)).until(() -> conns.stream().allMatch(c -> received(c).size() >= expected(c).size()));
    for (Conn c : conns) {
      List<String> got = received(c);
      List<String> want = expected(c);
      assertEquals(want.size(), got.size(), c.token + ": lost, duplicated or foreign messages: " + difference(want, got)
        + "\n" + consumerEvents());
      assertEquals(streamOf(want, "k"), streamOf(got, "k"), c.token + " (Kafka)");
      for (ChildNode n : nodes) {
        assertEquals(streamOf(want, "h" + n.name + "-"), streamOf(got, "h" + n.name + "-"), c.token + " (HTTP via " + n.name + ")");
      }
    }
    // both paths carried traffic, and offline tokens were sent nowhere
    double targeted = nodes.stream().mapToDouble(n -> metric(n, "odin_path_messages_total", "path=\"targeted\"")).sum();
    assertTrue(targeted > 0 && broadcastAfter > 0, "targeted " + targeted + ", broadcast " + broadcastAfter);
    double offline = nodes.stream().mapToDouble(n -> metric(n, "odin_path_dropped_total", "reason=\"no_connection\"")).sum();
    assertTrue(offline > 0, "offline tokens on the targeted path were counted as undeliverable");
    for (ChildNode n : nodes) {
      assertEquals(100.0, metric(n, "odin_dispatch_targeted_percent", ""), n.name);
      assertEquals(1.0, metric(n, "odin_dispatch_mode", "mode=\"targeted\""), n.name);
    }
  }

  private List<String> expected(Conn c) {
    List<String> out = new ArrayList<>(http.getOrDefault(c.token, List.of()));
    out.addAll(kafkaIds.getOrDefault(c.token, List.of()));
    return out;
  }

  private static List<String> received(Conn c) {
    List<String> out = new ArrayList<>();
    for (JsonObject m : c.messages()) {
      out.add(m.getJsonObject("data").getString("id"));
    }
    return out;
  }

  /** Each node's Kafka assignments and warnings, for a failure message: a rebalance redelivers what was uncommitted. */
  private String consumerEvents() {
    StringBuilder out = new StringBuilder();
    for (ChildNode n : nodes) {
      n.logText().lines().filter(l -> l.contains("assigned") || l.contains("revoked") || l.contains("WARN")
        || l.contains("ERROR")).forEach(l -> out.append(n.name).append(": ").append(l).append('\n'));
    }
    return out.toString();
  }

  /** What one list has more of than the other, both ways, for the failure message. */
  private static String difference(List<String> want, List<String> got) {
    Map<String, Integer> count = new HashMap<>();
    want.forEach(id -> count.merge(id, 1, Integer::sum));
    got.forEach(id -> count.merge(id, -1, Integer::sum));
    StringBuilder out = new StringBuilder();
    count.forEach((id, n) -> {
      if (n > 0) {
        out.append(" missing ").append(id);
      } else if (n < 0) {
        out.append(" extra ").append(id).append(" x").append(-n).append(" at ").append(got.indexOf(id))
          .append('/').append(got.lastIndexOf(id));
      }
    });
    return out.toString();
  }

  private static List<String> streamOf(List<String> ids, String prefix) {
    return ids.stream().filter(id -> id.startsWith(prefix)).toList();
  }
}
