package io.odin.ws.channel;

import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.metrics.ChannelMetrics.SubscribeResult;
import io.odin.ws.metrics.HistoryMetrics.RecoveryResult;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.shard.ShardBatch;
import io.odin.ws.testsupport.CursorClients;
import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Channels on one node (docs/protocol.md, "Channels"): subscribe and unsubscribe ops and their answers, channels at
 * the handshake, the limits and refusals, subscriber counts, join and leave events, and recovery of several channels
 * through the one cursor. The history is the node's memory here; {@link RedisChannelsTest} runs the same on Redis.
 */
class ChannelsTest {

  static final Duration WAIT = Duration.ofSeconds(15);

  TestNode node;
  Publisher api;
  CursorClients clients = new CursorClients();

  void start(JsonObject conf) {
    node = TestNode.start(2, store().mergeIn(conf));
    api = new Publisher(node.httpPort);
  }

  /** The history and registry: the node's memory here. */
  JsonObject store() {
    return new JsonObject();
  }

  @AfterEach
  void stop() throws Exception {
    clients.close();
    if (api != null) {
      api.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /** Publishes to a channel and waits for the 202; returns the answer. */
  JsonObject publish(String channel, String id) {
    Publisher.Response r = api.post(new JsonObject().put("type", "t").put("channel", channel)
      .put("data", new JsonObject().put("id", id)).encode());
    assertEquals(202, r.status, r.body);
    return new JsonObject(r.body);
  }

  long count(String channel) {
    Publisher.Response r = api.get("/api/channels/" + java.net.URLEncoder.encode(channel, java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(200, r.status, r.body);
    return new JsonObject(r.body).getLong("subscribers");
  }

  static String op(String op, String channel) {
    return new JsonObject().put("op", op).put("channel", channel).encode();
  }

  @Test
  void aSubscriberGetsExactlyItsChannelsMessagesFromItsSubscribedAnswerOnUntilItUnsubscribes() {
    start(new JsonObject());
    Client alice = clients.client("alice");
    Client bob = clients.client("bob");
    clients.connectAll(List.of(alice, bob), node.wsPort);
    assertEquals(1, publish("prices:BTC", "before").getInteger("undeliverable"), "no subscriber: sent nowhere");

    alice.send(op("subscribe", "prices:BTC"));
    bob.send(op("subscribe", "prices:ETH"));
    await().atMost(WAIT).until(() -> alice.answers.size() == 1 && bob.answers.size() == 1);
    JsonObject answer = alice.answers.get(0);
    assertEquals("subscribed", answer.getString("type"));
    assertEquals("prices:BTC", answer.getString("channel"));
    assertTrue(answer.getString("id").split("\\.").length == 7, "the cursor covers the channel: " + answer);

    JsonObject routed = publish("prices:BTC", "b1");
    assertEquals(1, routed.getInteger("channel"), routed.encode());
    publish("prices:ETH", "e1");
    publish("prices:BTC", "b2");
    await().atMost(WAIT).until(() -> alice.received.size() == 2 && bob.received.size() == 1);
    assertEquals(List.of("b1", "b2"), alice.receivedOn("prices:BTC"));
    assertEquals(List.of("e1"), bob.receivedOn("prices:ETH"));
    await().atMost(WAIT).until(() -> count("prices:BTC") == 1);
    assertEquals(0, count("nobody:here"));

    // a second subscribe of the same channel is answered again, nothing doubles
    alice.send(op("subscribe", "prices:BTC"));
    await().atMost(WAIT).until(() -> alice.answers.size() == 2);
    alice.send(op("unsubscribe", "prices:BTC"));
    await().atMost(WAIT).until(() -> alice.answers.size() == 3);
    assertEquals("unsubscribed", alice.answers.get(2).getString("type"));
    assertEquals(4, alice.answers.get(2).getString("id").split("\\.").length, "the cursor no longer covers it");
    publish("prices:BTC", "b3");
    publish("prices:ETH", "e2");
    await().atMost(WAIT).until(() -> bob.received.size() == 2);
    assertEquals(List.of("b1", "b2"), alice.received, "nothing after unsubscribed");
    await().atMost(WAIT).until(() -> count("prices:BTC") == 0);
    assertEquals(2.0, node.node().metrics().channels().subscribes(SubscribeResult.SUBSCRIBED), "a repeated subscribe is answered, not counted");
    assertTrue(alice.other.isEmpty() && bob.other.isEmpty(), alice + " " + bob);

    // a targeted message that names a channel goes to its token, not to the channel's subscribers
    api.post(new JsonObject().put("type", "t").put("token", "alice").put("channel", "prices:ETH")
      .put("data", new JsonObject().put("id", "to-alice")).encode());
    await().atMost(WAIT).until(() -> alice.received.contains("to-alice"));
    assertEquals(List.of("e1", "e2"), bob.received);

    String metrics = api.get("/metrics").body;
    for (String name : List.of("odin_channel_publishes_total", "odin_channel_deliveries_total", "odin_channel_subscriptions",
      "odin_channel_interest_entries", "odin_channel_fanout_shards_count")) {
      assertTrue(metrics.contains(name), name);
    }
    assertFalse(metrics.contains("prices:BTC"), "no series per channel");
  }

  @Test
  void badOpsAndRefusedSubscriptionsAreAnsweredWithTheirReason() {
    start(new JsonObject().put("ws.maxSubscriptionsPerConnection", 2));
    WsClients raw = new WsClients(node.wsPort);
    try (raw) {
      WsClients.Conn c = raw.connect("carol");
      c.send(op("subscribe", "bad channel"));
      c.send(op("subscribe", "global"));
      c.send(op("unsubscribe", "never"));
      c.send(op("subscribe", "a"));
      c.send(op("subscribe", "b"));
      c.send(op("subscribe", "c"));
      c.send("{\"op\":\"subscribe\"}");
      await().atMost(WAIT).until(() -> c.frames.size() == 7);
      // refusals are answered at once, subscribed once the channel's interest is registered (later, with Redis)
      List<JsonObject> got = c.messages();
      assertError(frameOf(got, "bad channel"), "subscribe", "bad channel", "may contain only");
      assertError(frameOf(got, "global"), "subscribe", "global", "broadcast");
      assertError(frameOf(got, "never"), "unsubscribe", "never", "not subscribed");
      assertEquals("subscribed", frameOf(got, "a").getString("type"));
      assertEquals("subscribed", frameOf(got, "b").getString("type"));
      assertError(frameOf(got, "c"), "subscribe", "c", "ws.maxSubscriptionsPerConnection");
      assertTrue(got.stream().anyMatch(f -> f.getString("message", "").contains("subscribe needs \"channel\"")), got.toString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }

    // at the handshake: a malformed or too long list is refused with 400, before the upgrade
    assertEquals(400, refusedStatus("/ws?token=dave&channels=ok,not%20ok"));
    assertEquals(400, refusedStatus("/ws?token=dave&channels=a,b,c"));
    assertEquals(1.0, node.node().metrics().channels().subscribes(SubscribeResult.TOO_MANY));
  }

  static JsonObject frameOf(List<JsonObject> frames, String channel) {
    return frames.stream().filter(f -> channel.equals(f.getString("channel"))).findFirst()
      .orElseThrow(() -> new AssertionError("no answer for " + channel + ": " + frames));
  }

  static void assertError(JsonObject frame, String op, String channel, String reason) {
    assertEquals("error", frame.getString("type"), frame.encode());
    assertEquals(op, frame.getString("op"), frame.encode());
    assertEquals(channel, frame.getString("channel"), frame.encode());
    assertTrue(frame.getString("message").contains(reason), frame.encode());
  }

  int refusedStatus(String uri) {
    try (WsClients raw = new WsClients(node.wsPort)) {
      Exception e = assertThrows(IllegalStateException.class, () -> WsClients.awaitResult(
        raw.client().connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(node.wsPort).setURI(uri))));
      return ((UpgradeRejectedException) e.getCause().getCause()).getStatus();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void severalChannelsAreRecoveredThroughTheOneCursorExactlyOnceAndInOrder() {
    start(new JsonObject());
    Client alice = clients.client("alice").channels(List.of("news", "prices:BTC", "chat:7"));
    Client bob = clients.client("bob").channels(List.of("news"));
    clients.connectAll(List.of(alice, bob), node.wsPort);
    publish("news", "n1");
    publish("prices:BTC", "p1");
    await().atMost(WAIT).until(() -> alice.received.size() == 2);
    alice.close();
    List<String> missed = new ArrayList<>();
    for (int i = 2; i <= 6; i++) {
      publish("news", "n" + i);
      publish("prices:BTC", "p" + i);
      publish("chat:7", "c" + i);
      api.post(new JsonObject().put("type", "t").put("token", "alice").put("data", new JsonObject().put("id", "a" + i)).encode());
      missed.addAll(List.of("n" + i, "p" + i, "c" + i, "a" + i));
    }
    alice.connect(node.wsPort);
    await().atMost(WAIT).until(() -> alice.received.size() == 2 + missed.size());
    assertEquals(List.of(new JsonObject().put("type", "resumed").put("recovered", true).put("replayed", missed.size())),
      alice.resumed);
    List<String> expected = new ArrayList<>(List.of("n1", "p1"));
    expected.addAll(missed);
    assertEquals(expected, alice.received, "in the order they were dispatched");
    publish("chat:7", "c7");
    await().atMost(WAIT).until(() -> alice.received.size() == 3 + missed.size());
    assertEquals(List.of("c2", "c3", "c4", "c5", "c6", "c7"), alice.receivedOn("chat:7"));
    assertEquals(List.of("n1", "n2", "n3", "n4", "n5", "n6"), bob.received);

    // a channel subscribed by op is in the cursor too; a channel added at the reconnect starts where it joined
    alice.send(op("subscribe", "late"));
    await().atMost(WAIT).until(() -> alice.answers.size() == 1);
    alice.close();
    publish("late", "l1");
    publish("fresh", "f1");
    alice.channels(List.of("news", "prices:BTC", "chat:7", "late", "fresh"));
    alice.connect(node.wsPort);
    await().atMost(WAIT).until(() -> alice.receivedOn("late").size() == 1);
    assertEquals(new JsonObject().put("type", "resumed").put("recovered", true).put("replayed", 1), alice.resumed.get(1));
    publish("fresh", "f2");
    await().atMost(WAIT).until(() -> alice.receivedOn("fresh").size() == 1);
    assertEquals(List.of("f2"), alice.receivedOn("fresh"));
    assertEquals(2.0, node.node().metrics().history().recoveries(RecoveryResult.RECOVERED));
    assertTrue(alice.other.isEmpty(), alice.toString());
  }

  /**
   * A channel message that went out unstored (its store call failed, so it went to every shard and no history holds
   * it) while a subscriber was away: the reconnect is not told it recovered, although the channel's stream still
   * looks contiguous until the sender's new epoch is known (docs/registry.md, UnstoredWhileAway).
   */
  @Test
  void aChannelMessageThatWentOutUnstoredWhileItsSubscriberWasAwayIsNotRecoveredOver() throws Exception {
    node = TestNode.start(1, store());
    api = new Publisher(node.httpPort);
    Client alice = clients.client("alice").channels(List.of("news"));
    Client bob = clients.client("bob").channels(List.of("news"));
    clients.connectAll(List.of(alice, bob), node.wsPort);
    publish("news", "n1");
    await().atMost(WAIT).until(() -> alice.received.size() == 1);
    alice.close();
    // what another node's relay hands this node's shards: n2 with no place in any history
    Envelope unstored = DispatchSettings.parser(node.node().config()).parse(new JsonObject().put("type", "t")
      .put("channel", "news").put("data", new JsonObject().put("id", "n2")).encode().getBytes(StandardCharsets.UTF_8),
      null, null, System.currentTimeMillis());
    for (String shard : node.node().directory().local()) {
      node.vertx.eventBus().send(shard, new ShardBatch(List.of(unstored)));
    }
    // one shard, one event loop: once bob has n3, published after it, the shard has handled n2
    publish("news", "n3");
    await().atMost(WAIT).until(() -> bob.received.contains("n3"));
    assertEquals(List.of("n1", "n2", "n3"), bob.received, "bob was there for the unstored one");
    alice.connect(node.wsPort);
    await().atMost(WAIT).until(() -> alice.resumed.size() == 1);
    assertFalse(alice.resumed.get(0).getBoolean("recovered"), "n2 is in no history: " + alice);
    assertEquals(1.0, node.node().metrics().history().recoveries(RecoveryResult.EPOCH_CHANGED));
    publish("news", "n4");
    await().atMost(WAIT).until(() -> alice.received.contains("n4"));
    assertFalse(alice.received.contains("n2"));
    assertFalse(alice.received.contains("n3"), "not replayed either: recovered:false");
  }

  @Test
  void subscriberCountsFollowJoinsAndLeavesAndJoinLeaveEventsAreSentWhereAsked() {
    start(new JsonObject().put("channels.joinLeaveNamespaces", new JsonArray().add("room")));
    Client watcher = clients.client("watcher").channels(List.of("room:1", "quiet:1"));
    watcher.connect(node.wsPort);
    // (counts reach the registry with its next coalesced write: registry.coalesceMs with Redis)
    await().atMost(WAIT).until(() -> count("room:1") == 1);
    List<Client> others = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      others.add(clients.client("u" + i).channels(List.of("room:1", "quiet:1")));
    }
    clients.connectAll(others, node.wsPort);
    await().atMost(WAIT).until(() -> count("room:1") == 6 && count("quiet:1") == 6);
    others.get(0).close();
    others.get(1).send(op("unsubscribe", "room:1"));
    await().atMost(WAIT).until(() -> count("room:1") == 4 && count("quiet:1") == 5);
    // the watcher saw its own join, five joins and two leaves on room:1; nothing on quiet:1
    await().atMost(WAIT).until(() -> watcher.received.size() == 8);
    watcher.messages.forEach(m -> assertEquals("room:1", m[0]));
    assertTrue(watcher.receivedOn("quiet:1").isEmpty());
    assertEquals(8, watcher.receivedOn("room:1").size());
    assertEquals(400, api.get("/api/channels/global").status);
    assertEquals(400, api.get("/api/channels/a%20b").status);
    // a channel whose name has a slash, URL-encoded
    Client doc = clients.client("doc").channels(List.of("doc:42/comments"));
    doc.connect(node.wsPort);
    await().atMost(WAIT).until(() -> count("doc:42/comments") == 1);
  }
}
