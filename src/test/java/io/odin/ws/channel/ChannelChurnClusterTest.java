package io.odin.ws.channel;

import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Cursor;
import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three clustered nodes with Redis, clients on all of them subscribing and unsubscribing at random while a producer
 * publishes to the channels without pause. Exactness is read from the cursors: a {@code subscribed} answer's id says
 * where the connection joined the channel's stream, and each message's id where it stands after it, so every message
 * between a subscribed and its unsubscribed must arrive (sequence numbers without a gap, the producer's numbers in
 * order), and none outside. Then: the counts of /api/channels/{name} equal the subscriptions left, and a channel whose
 * subscribers are all on one node costs the other nodes no event-bus message.
 */
class ChannelChurnClusterTest {

  static final int CLIENTS_PER_NODE = 12;
  static final List<String> CHANNELS = List.of("c:0", "c:1", "c:2", "c:3", "c:4", "c:5");

  final List<ChildNode> nodes = new ArrayList<>();
  RedisServer redis;
  Vertx clientVertx;

  @AfterEach
  void stop() throws Exception {
    if (clientVertx != null) {
      clientVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    for (ChildNode n : nodes) {
      n.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  static List<ChildNode> cluster(RedisServer redis, int count, List<ChildNode> into) throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ports.add(Ports.free());
    }
    for (int i = 0; i < count; i++) {
      into.add(ChildNode.launch("n" + i, 2, Map.of(
        "ODIN_CLUSTER", "true",
        "ODIN_CLUSTER_HOST", "127.0.0.1",
        "ODIN_CLUSTER_PORT", String.valueOf(ports.get(i)),
        "ODIN_CLUSTER_MEMBERS", String.join(",", ports.stream().map(p -> "127.0.0.1:" + p).toList()),
        "ODIN_CLUSTER_FAILURE_DETECTION_SECONDS", "3",
        "ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000",
        "ODIN_REDIS_URL", redis.url(),
        "ODIN_REDIS_TIMEOUT", "5000")));
    }
    for (ChildNode n : into) {
      n.awaitReady();
    }
    // every node knows every other's shards
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> into.stream().allMatch(n ->
      n.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes").size() == count));
    return into;
  }

  /** One connection, checking every channel frame against its subscriptions as they arrive. */
  static final class Checked {
    final String token;
    final WebSocket ws;
    /** Channel to {position in the channel's stream, last producer number}; present while subscribed. */
    final Map<String, long[]> open = new ConcurrentHashMap<>();
    final Map<String, Long> epochs = new ConcurrentHashMap<>();
    final List<String> violations = new CopyOnWriteArrayList<>();
    final Set<String> wanted = ConcurrentHashMap.newKeySet();
    volatile long received;

    Checked(String token, WebSocket ws) {
      this.token = token;
      this.ws = ws;
      ws.textMessageHandler(this::onFrame);
    }

    void onFrame(String text) {
      JsonObject f = new JsonObject(text);
      String type = f.getString("type");
      String channel = f.getString("channel");
      String id = f.getString("id");
      if ("subscribed".equals(type)) {
        long[] at = Cursor.parse(id).channel(ChannelName.hash(channel));
        if (at == null) {
          violations.add(token + ": subscribed " + channel + " without a position in " + id);
          return;
        }
        open.putIfAbsent(channel, new long[] {at[1], -1});
        epochs.put(channel, at[0]);
      } else if ("unsubscribed".equals(type)) {
        open.remove(channel);
      } else if ("t".equals(type)) {
        received++;
        long[] window = open.get(channel);
        if (window == null) {
          violations.add(token + ": got " + text + " while not subscribed to " + channel);
          return;
        }
        long[] at = Cursor.parse(id).channel(ChannelName.hash(channel));
        long n = f.getJsonObject("data").getLong("n");
        if (at == null || at[0] != epochs.get(channel) || at[1] != window[0] + 1) {
          violations.add(token + ": " + channel + " jumped from " + window[0] + " to " + (at == null ? "none" : at[1]) + ": " + text);
        } else if (window[1] >= 0 && n != window[1] + 1) {
          violations.add(token + ": " + channel + " producer number " + n + " after " + window[1]);
        }
        window[0] = at == null ? window[0] : at[1];
        window[1] = n;
      } else {
        violations.add(token + ": unexpected " + text);
      }
    }

    void toggle(String channel) {
      String op = wanted.remove(channel) ? "unsubscribe" : "subscribe";
      if (op.equals("subscribe")) {
        wanted.add(channel);
      }
      ws.writeTextMessage(new JsonObject().put("op", op).put("channel", channel).encode());
    }
  }

  @Test
  void subscribeAndUnsubscribeChurnOnThreeNodesDeliversExactlyTheSubscribedMessagesInOrder() throws Exception {
    redis = RedisServer.start();
    cluster(redis, 3, nodes);
    clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    WebSocketClient client = clientVertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(10_000));
    List<Checked> all = new ArrayList<>();
    for (ChildNode n : nodes) {
      for (int i = 0; i < CLIENTS_PER_NODE; i++) {
        String token = n.name + "-u" + i;
        WebSocket ws = WsClients.awaitResult(client.connect(new WebSocketConnectOptions().setHost("127.0.0.1")
          .setPort(n.wsPort).setURI("/ws?token=" + token)));
        all.add(new Checked(token, ws));
      }
    }

    // the producer: one request at a time to the first node, so each channel's numbers are its stream's order
    Map<String, Long> lastPublished = new ConcurrentHashMap<>();
    AtomicBoolean publishing = new AtomicBoolean(true);
    Thread producer = new Thread(() -> {
      Random random = new Random(27);
      Map<String, Long> next = new HashMap<>();
      try (Publisher api = new Publisher(nodes.get(0).httpPort)) {
        while (publishing.get()) {
          String channel = CHANNELS.get(random.nextInt(CHANNELS.size()));
          long n = next.merge(channel, 1L, Long::sum);
          Publisher.Response r = api.post(new JsonObject().put("type", "t").put("channel", channel)
            .put("data", new JsonObject().put("n", n)).encode());
          if (r.status != 202) {
            throw new IllegalStateException(r.status + " " + r.body);
          }
          lastPublished.put(channel, n);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    producer.start();

    // churn: a random client flips a random channel, a few hundred times a second, for 8 seconds
    Random random = new Random(72);
    long until = System.currentTimeMillis() + 8_000;
    while (System.currentTimeMillis() < until) {
      Checked c = all.get(random.nextInt(all.size()));
      String channel = CHANNELS.get(random.nextInt(CHANNELS.size()));
      clientVertx.runOnContext(v -> c.toggle(channel));
      // the pace of the churn, not a synchronisation: about 400 ops a second over the 36 clients
      TimeUnit.MILLISECONDS.sleep(1 + random.nextInt(4));
    }
    // the last subscriptions settle (every subscribe answered) while messages still flow
    await().atMost(Duration.ofSeconds(30)).until(() -> all.stream().allMatch(c -> c.open.keySet().equals(c.wanted)));
    long mark = lastPublished.values().stream().mapToLong(Long::longValue).sum();
    await().atMost(Duration.ofSeconds(30)).until(() -> lastPublished.values().stream().mapToLong(Long::longValue).sum() > mark + 200);
    publishing.set(false);
    producer.join(30_000);

    // the tail: every open subscription got everything up to the last message of its channel
    await().atMost(Duration.ofSeconds(30)).until(() -> all.stream().allMatch(c -> c.open.entrySet().stream()
      .allMatch(e -> e.getValue()[1] == lastPublished.getOrDefault(e.getKey(), 0L))));
    List<String> violations = new ArrayList<>();
    all.forEach(c -> violations.addAll(c.violations));
    assertEquals(List.of(), violations.subList(0, Math.min(20, violations.size())), violations.size() + " violations");
    long delivered = all.stream().mapToLong(c -> c.received).sum();
    assertTrue(delivered > 1000, "the churn ran with traffic: " + delivered + " deliveries");

    // presence: every node answers the cluster's count from the registry
    for (String channel : CHANNELS) {
      long subscribed = all.stream().filter(c -> c.wanted.contains(channel)).count();
      for (ChildNode n : nodes) {
        await().atMost(Duration.ofSeconds(10)).until(() -> count(n, channel) == subscribed);
      }
    }

    // a channel whose subscribers are all on one node: the other nodes get no event-bus message for it
    List<Checked> onSecond = all.stream().filter(c -> c.token.startsWith(nodes.get(1).name + "-")).toList();
    for (Checked c : onSecond.subList(0, 4)) {
      clientVertx.runOnContext(v -> c.toggle("solo:1"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> onSecond.subList(0, 4).stream().allMatch(c -> c.open.containsKey("solo:1")));
    double[] before = nodes.stream().mapToDouble(ChannelChurnClusterTest::relayed).toArray();
    try (Publisher api = new Publisher(nodes.get(0).httpPort)) {
      for (int n = 1; n <= 100; n++) {
        assertEquals(202, api.post(new JsonObject().put("type", "t").put("channel", "solo:1")
          .put("data", new JsonObject().put("n", n)).encode()).status);
      }
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> onSecond.subList(0, 4).stream()
      .allMatch(c -> c.open.get("solo:1")[1] == 100));
    double[] after = nodes.stream().mapToDouble(ChannelChurnClusterTest::relayed).toArray();
    assertEquals(0.0, after[2] - before[2], "the third node got nothing for a channel it has no subscriber of");
    assertTrue(after[1] - before[1] >= 1, "the second node got the channel's batches");
    assertEquals(List.of(), onSecond.stream().flatMap(c -> c.violations.stream()).toList());
  }

  static long count(ChildNode n, String channel) {
    Publisher.Response r = n.api().get("/api/channels/" + channel);
    return r.status == 200 ? new JsonObject(r.body).getLong("subscribers") : -1;
  }

  /** Event-bus messages the node's relay received from other nodes' dispatchers. */
  static double relayed(ChildNode n) {
    return new Scrape(n.api().get("/metrics").body).sum("vertx_eventbus_received_total", "address", "odin.node.relay");
  }
}
