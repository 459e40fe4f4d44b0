package io.odin.ws.channel;

import io.odin.ws.history.RecoveryClusterTest;
import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.CursorClients;
import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Channels through a drain, an offline spell and a crash, under continuous publishing: clustered nodes with Redis,
 * clients subscribed to several channels each (at the handshake, so every reconnect restores them in one step) that
 * keep their cursor. Every client must end with every message of each of its channels exactly once and in order,
 * every reconnect recovered; and {@code /api/channels/{name}} must count the subscribers through the joins, the
 * leaves and the crash, without asking the nodes.
 */
class ChannelRecoveryClusterTest {

  static final int CLIENTS = 40;
  static final int CHANNELS = 8;

  final List<ChildNode> nodes = new ArrayList<>();
  RedisServer redis;
  CursorClients clients;

  @AfterEach
  void stop() throws Exception {
    if (clients != null) {
      clients.close();
    }
    for (ChildNode n : nodes) {
      n.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  ChildNode node(String name, int port, List<Integer> ports) throws Exception {
    ChildNode n = ChildNode.launch(name, 2, Map.of(
      "ODIN_CLUSTER", "true",
      "ODIN_CLUSTER_HOST", "127.0.0.1",
      "ODIN_CLUSTER_PORT", String.valueOf(port),
      "ODIN_CLUSTER_MEMBERS", String.join(",", ports.stream().map(p -> "127.0.0.1:" + p).toList()),
      "ODIN_CLUSTER_FAILURE_DETECTION_SECONDS", "3",
      "ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000",
      "ODIN_REDIS_URL", redis.url(),
      "ODIN_REDIS_TIMEOUT", "5000",
      // a channel stream keeps history.size messages and a reconnect replays at most history.maxReplay: on a loaded
      // machine more than the defaults (300 per stream, 1,000 in all) are published between the crash and the
      // reconnects (failure detection, the counts dropping to 0), and those cursors would rightly be answered
      // recovered:false (too_old, too_many); this test is about recovering through the crash, within those bounds
      "ODIN_HISTORY_SIZE", "5000",
      "ODIN_HISTORY_MAX_REPLAY", "20000"));
    nodes.add(n);
    return n;
  }

  static String channel(int i) {
    return "room:" + i;
  }

  /** Client i's channels: three of the eight, so every channel has subscribers and each client several channels. */
  static List<String> channelsOf(int i) {
    return List.of(channel(i % CHANNELS), channel((i + 3) % CHANNELS), channel((i + 5) % CHANNELS));
  }

  long subscribersOf(String channel, List<Client> connected) {
    return connected.stream().filter(c -> c.connected() && channelsOf(Integer.parseInt(c.token.substring(1))).contains(channel)).count();
  }

  static long count(ChildNode n, String channel) {
    Publisher.Response r = n.api().get("/api/channels/" + channel);
    return r.status == 200 ? new JsonObject(r.body).getLong("subscribers") : -1;
  }

  void awaitCounts(ChildNode at, List<Client> all) {
    for (int ch = 0; ch < CHANNELS; ch++) {
      String name = channel(ch);
      await().atMost(Duration.ofSeconds(30)).until(() -> count(at, name) == subscribersOf(name, all));
    }
  }

  @Test
  void drainOfflineSpellsAndACrashWhileChannelsAreLiveLoseNothingAndCountsFollow() throws Exception {
    redis = RedisServer.start();
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free(), Ports.free());
    ChildNode publisherNode = node("p", ports.get(0), ports);
    ChildNode first = node("a", ports.get(1), ports);
    ChildNode second = node("b", ports.get(2), ports);
    for (ChildNode n : nodes) {
      n.awaitReady();
    }
    clients = new CursorClients();
    List<Client> all = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      all.add(clients.client("u" + i).channels(channelsOf(i)));
    }
    clients.connectAll(all, first.wsPort);
    awaitCounts(publisherNode, all);

    // the producer: channel messages (one request at a time: each channel's numbers are its order) and a few targeted
    Map<String, List<String>> log = new ConcurrentHashMap<>();
    AtomicBoolean publishing = new AtomicBoolean(true);
    AtomicInteger published = new AtomicInteger();
    Thread producer = new Thread(() -> {
      Random random = new Random(27);
      try (Publisher api = new Publisher(publisherNode.httpPort)) {
        int n = 0;
        while (publishing.get()) {
          JsonArray batch = new JsonArray();
          Map<String, List<String>> sent = new HashMap<>();
          for (int k = 1 + random.nextInt(3); k > 0; k--) {
            String id = "m" + (++n);
            String target = random.nextInt(6) == 0 ? "u" + random.nextInt(CLIENTS) : channel(random.nextInt(CHANNELS));
            JsonObject e = new JsonObject().put("type", "t").put("data", new JsonObject().put("id", id));
            batch.add(target.startsWith("u") ? e.put("token", target) : e.put("channel", target));
            sent.computeIfAbsent(target, t -> new ArrayList<>()).add(id);
          }
          Publisher.Response r = api.post(batch.encode());
          if (r.status != 202) {
            throw new IllegalStateException(r.status + " " + r.body);
          }
          sent.forEach((target, ids) -> log.computeIfAbsent(target, t -> new java.util.concurrent.CopyOnWriteArrayList<>()).addAll(ids));
          published.addAndGet(batch.size());
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    producer.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> all.stream().allMatch(c -> c.received.size() >= 3));

    // 1. the clients' node is drained; they come back to another node with their cursor and their channels
    first.terminate();
    await().atMost(Duration.ofSeconds(60)).until(() -> all.stream().noneMatch(Client::connected));
    awaitCounts(publisherNode, all);
    int mark = published.get();
    await().atMost(Duration.ofSeconds(60)).until(() -> published.get() >= mark + 100);
    clients.connectAll(all, second.wsPort);
    assertTrue(all.stream().allMatch(c -> c.closes.equals(List.of(1001))), "drained with 1001");
    awaitCounts(publisherNode, all);

    // 2. a third of them go offline for a while: the counts drop, then come back
    List<Client> away = all.subList(0, CLIENTS / 3);
    away.forEach(Client::close);
    awaitCounts(publisherNode, all);
    int mark2 = published.get();
    await().atMost(Duration.ofSeconds(60)).until(() -> published.get() >= mark2 + 200);
    clients.connectAll(away, second.wsPort);
    awaitCounts(publisherNode, all);

    // 3. the node holding everyone is killed: its subscribers stop counting once the cluster sees it gone; they
    // reconnect to a fresh node (started beforehand, as behind a load balancer)
    ChildNode fresh = node("c", ports.get(3), ports);
    fresh.awaitReady();
    int mark3 = published.get();
    await().atMost(Duration.ofSeconds(60)).until(() -> published.get() >= mark3 + 100);
    second.kill();
    await().atMost(Duration.ofSeconds(60)).until(() -> all.stream().noneMatch(Client::connected));
    awaitCounts(publisherNode, all);
    clients.connectAll(all, fresh.wsPort);
    awaitCounts(publisherNode, all);
    int mark4 = published.get();
    await().atMost(Duration.ofSeconds(60)).until(() -> published.get() >= mark4 + 200);
    publishing.set(false);
    producer.join(60_000);

    // a reconnect not recovered: which answer it was, and the history's store identity on every node that is up
    List<Client> notRecovered = all.stream()
      .filter(c -> c.resumed.stream().anyMatch(r -> !r.getBoolean("recovered")))
      .toList();
    if (!notRecovered.isEmpty()) {
      System.out.println("ChannelRecoveryClusterTest: " + notRecovered.size() + " reconnects not recovered; fresh node: "
        + fresh.api().get("/metrics").body.lines().filter(l -> l.startsWith("odin_recovery") || l.startsWith("odin_history"))
          .toList());
      for (ChildNode n : List.of(publisherNode, fresh)) {
        System.out.println("ChannelRecoveryClusterTest: " + n.name + " health: " + n.health());
      }
    }
    for (int i = 0; i < CLIENTS; i++) {
      Client c = all.get(i);
      List<String> expected = new ArrayList<>(log.getOrDefault(c.token, List.of()));
      for (String ch : channelsOf(i)) {
        expected.addAll(log.getOrDefault(ch, List.of()));
      }
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> c.received.size() >= expected.size());
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        // the assertions below say what is missing
      }
      for (String ch : channelsOf(i)) {
        List<String> want = log.getOrDefault(ch, List.of());
        List<String> got = c.receivedOn(ch);
        assertEquals(want, got, () -> c.token + " on " + ch + ": " + RecoveryClusterTest.difference(want, got) + "; " + c);
      }
      List<String> wantTargeted = log.getOrDefault(c.token, List.of());
      List<String> gotTargeted = c.receivedOn("");
      assertEquals(wantTargeted, gotTargeted, () -> c.token + " targeted: " + RecoveryClusterTest.difference(wantTargeted, gotTargeted));
      assertTrue(c.resumed.stream().allMatch(r -> r.getBoolean("recovered")), c.toString());
      assertTrue(c.other.isEmpty(), c.toString());
    }
    // every reconnect said resumed, but for the known missing frame of one first reconnect (RecoveryClusterTest)
    List<Client> short1 = all.stream().filter(c -> c.resumed.size() != (all.indexOf(c) < CLIENTS / 3 ? 3 : 2)).toList();
    assertTrue(short1.size() <= 1 && short1.stream().allMatch(c -> c.resumed.size() == (all.indexOf(c) < CLIENTS / 3 ? 2 : 1)),
      () -> "every reconnect said resumed; not: " + short1);
  }
}
