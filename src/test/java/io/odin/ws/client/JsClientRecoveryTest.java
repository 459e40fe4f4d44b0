package io.odin.ws.client;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Chromium;
import io.odin.ws.testsupport.JsClientDriver;
import io.odin.ws.testsupport.JsClientDriver.Env;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TcpProxy;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * "Every message exactly once, in order" with the JavaScript client (clients/js) in Node.js and in headless Chromium,
 * through what issue 25's history and recovery make possible: two clustered nodes with Redis, a producer publishing
 * continuously over HTTP to a node that stays up, the clients behind a loopback balancer. The clients' node is
 * SIGKILLed, then drained (SIGTERM, 1001), then a client that stops reading is closed with 1013; each time the
 * client reconnects with since= and its list of messages must be 0..N-1, nothing twice, nothing missing.
 * One cluster lives through the class, the scenarios run in order and the message sequence goes on across them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JsClientRecoveryTest {

  static final Duration WITHIN = Duration.ofSeconds(60);
  static final String CLIENT = "c";
  static final String PAD = "p".repeat(4000); // 1013 burst: messages of about 4 KB

  private RedisServer redis;
  private final List<ChildNode> nodes = new ArrayList<>();
  private final List<Integer> clusterPorts = new ArrayList<>();
  private TcpProxy balancer;
  private final List<JsClientDriver> drivers = new ArrayList<>();
  private final AtomicInteger published = new AtomicInteger();

  @BeforeEach
  void cluster() throws Exception {
    if (redis == null) {
      start();
    }
  }

  private void start() throws Exception {
    redis = RedisServer.start();
    for (int i = 0; i < 3; i++) {
      clusterPorts.add(Ports.free());
    }
    nodes.add(launch("ja", 0));
    nodes.add(launch("jb", 1));
    for (ChildNode n : nodes) {
      n.awaitReady();
    }
    await().atMost(Duration.ofSeconds(90)).until(() -> nodes.stream().allMatch(n -> clusterSize(n) == 2));
    balancer = new TcpProxy(nodes.get(0).wsPort);

    drivers.add(JsClientDriver.start(Env.NODE, null));
    if (Chromium.path() != null) {
      drivers.add(JsClientDriver.start(Env.BROWSER, null));
    } else if (System.getenv("ODIN_REQUIRE_BROWSER") != null) {
      fail("ODIN_REQUIRE_BROWSER is set (as .ci/run does) but Chromium is not installed");
    }
    for (JsClientDriver js : drivers) {
      js.open(CLIENT, "ws://127.0.0.1:" + balancer.port + "/ws", token(js),
        new JsonObject().put("minDelayMs", 200).put("maxDelayMs", 2000)
          // liveness (JsClientTest's) must not end the paused connections of the 1013 scenario first
          .put("pingAfterMs", 30_000).put("pongTimeoutMs", 30_000));
      js.awaitEvent(CLIENT, "connected", 0, WITHIN);
    }
  }

  private ChildNode launch(String name, int clusterPortIndex) throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("ODIN_CLUSTER", "true");
    env.put("ODIN_CLUSTER_HOST", "127.0.0.1");
    env.put("ODIN_CLUSTER_PORT", String.valueOf(clusterPorts.get(clusterPortIndex)));
    env.put("ODIN_CLUSTER_MEMBERS", String.join(",", clusterPorts.stream().map(p -> "127.0.0.1:" + p).toList()));
    env.put("ODIN_CLUSTER_FAILURE_DETECTION_SECONDS", "3");
    env.put("ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000");
    env.put("ODIN_REDIS_URL", redis.url());
    env.put("ODIN_REDIS_TIMEOUT", "5000");
    // a 1013 needs a queue that a paused client fills; the history holds the whole burst so that it is replayed
    env.put("ODIN_WS_WRITE_QUEUE_MAX_BYTES", String.valueOf(64 * 1024));
    env.put("ODIN_HISTORY_SIZE", "20000");
    env.put("ODIN_HISTORY_MAX_REPLAY", "20000");
    return ChildNode.launch(name, 1, env);
  }

  private static double slowClientCloses(ChildNode n) {
    return new Scrape(n.api().get("/metrics").body).sum("odin_ws_disconnects_total", "reason", "slow_client");
  }

  private static int clusterSize(ChildNode n) {
    return n.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes").size();
  }

  static String token(JsClientDriver js) {
    return "rec-" + js.env.name().toLowerCase();
  }

  @AfterAll
  void stop() throws Exception {
    for (JsClientDriver js : drivers) {
      js.close();
    }
    if (balancer != null) {
      balancer.close();
    }
    for (ChildNode n : nodes) {
      n.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /**
   * Publishes the next seq to every client's token, request after request (each sent once the previous one was
   * answered: docs/protocol.md's order), until stopped; {@code padding} makes the messages bigger.
   */
  private final class Producer implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile String failure;

    Producer(ChildNode via, int perRequest, String padding, long pauseMicros) {
      thread = new Thread(() -> {
        try (Publisher api = new Publisher(via.httpPort)) {
          while (running.get()) {
            JsonArray batch = new JsonArray();
            int first = published.get();
            for (int i = 0; i < perRequest; i++) {
              for (JsClientDriver js : drivers) {
                batch.add(new JsonObject().put("type", "seq").put("token", token(js))
                  .put("data", new JsonObject().put("seq", first + i).put("pad", padding)));
              }
            }
            Publisher.Response r = api.post(batch.encode());
            if (r.status != 202) {
              failure = "publish answered " + r;
              return;
            }
            published.addAndGet(perRequest);
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(pauseMicros)); // pacing of the load, not a synchronisation
          }
        } catch (Exception | AssertionError e) {
          failure = e.toString();
        }
      }, "js-recovery-producer");
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      thread.join(30_000);
      assertEquals(null, failure, "the producer failed");
    }

    @Override
    public String toString() {
      return "producer: " + published.get() + " published" + (failure == null ? "" : ", failed: " + failure);
    }
  }

  /** Every client has every message published so far, once, in order, and resumed with recovered:true. */
  private void assertExactlyOnceInOrder(int resumedIndex) {
    int total = published.get();
    for (JsClientDriver js : drivers) {
      await(js.env + ": all " + total + " messages").atMost(WITHIN).until(() -> js.seqs(CLIENT).size() >= total);
      List<Integer> seqs = js.seqs(CLIENT);
      for (int i = 0; i < seqs.size(); i++) {
        if (seqs.get(i) != i) {
          fail(js.env + ": message " + i + " is seq " + seqs.get(i) + " (a gap, a duplicate or a reordering); around it "
            + seqs.subList(Math.max(0, i - 5), Math.min(seqs.size(), i + 5)) + "; " + js.describe(CLIENT));
        }
      }
      assertEquals(total, seqs.size(), js.env + ": nothing twice");
      JsonObject resumed = js.events(CLIENT, "resumed").get(resumedIndex);
      assertTrue(resumed.getBoolean("recovered"), js.env + ": " + js.describe(CLIENT));
      assertTrue(js.messages(CLIENT).stream().allMatch(m -> m.getBoolean("hasId")), "every message has its id");
    }
  }

  private void awaitEveryClientHas(int messages) {
    for (JsClientDriver js : drivers) {
      await(js.env + ": " + messages + " messages").atMost(WITHIN).until(() -> js.seqs(CLIENT).size() >= messages);
    }
  }

  @Test
  @Order(1)
  void theClientsNodeIsKilledAndTheyResumeOnTheOtherWithNoLoss() throws Exception {
    ChildNode a = nodes.get(0);
    ChildNode b = nodes.get(1);
    try (Producer producer = new Producer(b, 1, "", 5_000)) {
      awaitEveryClientHas(50);
      balancer.upstream(b.wsPort);
      a.kill();
      for (JsClientDriver js : drivers) {
        js.awaitEvent(CLIENT, "resumed", 0, WITHIN);
        assertEquals(1006, js.events(CLIENT, "disconnected").get(0).getInteger("code"), js.describe(CLIENT));
      }
      awaitEveryClientHas(published.get() + 100);
    }
    assertExactlyOnceInOrder(0);
  }

  @Test
  @Order(2)
  void theClientsNodeIsDrainedAndTheyResumeOnAFreshNodeWithNoLoss() throws Exception {
    ChildNode b = nodes.get(1);
    ChildNode c = launch("jc", 2);
    nodes.add(c);
    c.awaitReady();
    await().atMost(Duration.ofSeconds(90)).until(() -> clusterSize(c) == 2 && clusterSize(b) == 2);
    balancer.upstream(c.wsPort);
    int before = drivers.stream().mapToInt(js -> js.events(CLIENT, "resumed").size()).min().orElseThrow();
    try (Producer producer = new Producer(c, 1, "", 5_000)) {
      awaitEveryClientHas(published.get() + 50);
      int exit = b.terminate();
      assertTrue(exit == 0 || exit == 143, "the drained node stops cleanly (the JVM reports SIGTERM as 143): " + exit);
      for (JsClientDriver js : drivers) {
        js.awaitEvent(CLIENT, "resumed", before, WITHIN);
        assertTrue(js.events(CLIENT, "disconnected").stream().anyMatch(d -> d.getInteger("code") == 1001), js.describe(CLIENT));
      }
      awaitEveryClientHas(published.get() + 100);
    }
    assertExactlyOnceInOrder(before);
  }

  @Test
  @Order(3)
  void aClientThatStopsReadingIsClosedWith1013AndResumesWithNoLoss() throws Exception {
    ChildNode c = nodes.get(2);
    int before = drivers.stream().mapToInt(js -> js.events(CLIENT, "resumed").size()).min().orElseThrow();
    Map<Env, Integer> disconnectsBefore = new HashMap<>();
    drivers.forEach(js -> disconnectsBefore.put(js.env, js.events(CLIENT, "disconnected").size()));
    double slowBefore = slowClientCloses(c);
    for (JsClientDriver js : drivers) {
      // Node.js: the socket is paused; Chromium: the page's main thread waits and reads nothing
      js.command(new JsonObject().put("cmd", "busy").put("name", CLIENT).put("ms", 45_000));
    }
    // about 4 MB a second per client, until the node has closed both (their queues overflowed: 1013)
    try (Producer burst = new Producer(c, 100, PAD, 100_000)) {
      try {
        await().atMost(WITHIN).until(() -> slowClientCloses(c) >= slowBefore + drivers.size());
      } catch (ConditionTimeoutException e) {
        fail("the node did not close the clients that stopped reading: " + burst);
      }
    }
    for (JsClientDriver js : drivers) {
      js.command(new JsonObject().put("cmd", "release"));
    }
    for (JsClientDriver js : drivers) {
      // the client reads what was buffered, then the node's close frame
      JsonObject closed = js.awaitEvent(CLIENT, "disconnected", disconnectsBefore.get(js.env), WITHIN);
      assertEquals(1013, closed.getInteger("code"), js.describe(CLIENT));
    }
    for (JsClientDriver js : drivers) {
      js.awaitEvent(CLIENT, "resumed", before, WITHIN);
    }
    assertExactlyOnceInOrder(before);
  }
}
