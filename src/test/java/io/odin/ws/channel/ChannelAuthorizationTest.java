package io.odin.ws.channel;

import io.odin.ws.metrics.ChannelMetrics.SubscribeResult;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.TestJwts;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who may subscribe with {@code auth.mode=jwt}: the channels and patterns of the JWT's {@code channels} claim, the
 * channels of public namespaces, the channels of its {@code subscribe} claim (subscribed at the handshake); anything
 * else is refused with the reason, at the handshake (403) or as an error answer, and a refused connection never
 * receives the channel's messages.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChannelAuthorizationTest {

  static final String SECRET = "an-hmac-secret-of-at-least-32-characters";
  static final Duration WAIT = Duration.ofSeconds(15);

  TestNode node;
  WsClients clients;
  Publisher api;

  @BeforeAll
  void start() {
    node = TestNode.start(2, new JsonObject().put("auth.mode", "jwt").put("auth.jwt.hmacSecret", SECRET)
      .put("channels.publicNamespaces", new JsonArray().add("news")));
    clients = new WsClients(node.wsPort);
    api = new Publisher(node.httpPort);
  }

  @AfterAll
  void stop() throws Exception {
    api.close();
    clients.close();
    node.close();
  }

  String jwt(String sub, JsonArray channels, JsonArray subscribe) {
    JsonObject claims = TestJwts.claims(sub, 600);
    if (channels != null) {
      claims.put("channels", channels);
    }
    if (subscribe != null) {
      claims.put("subscribe", subscribe);
    }
    return TestJwts.hs256(SECRET, claims);
  }

  Conn connect(String jwt, String query) {
    return WsClients.awaitResult(clients.connectAsync("c", new WebSocketConnectOptions()
      .setURI("/ws?access_token=" + jwt + (query == null ? "" : "&" + query))));
  }

  int refused(String jwt, String query) {
    Exception e = assertThrows(IllegalStateException.class, () -> connect(jwt, query));
    return assertInstanceOf(UpgradeRejectedException.class, e.getCause().getCause()).getStatus();
  }

  void publish(String channel, String id) {
    Publisher.Response r = api.post(new JsonObject().put("type", "t").put("channel", channel)
      .put("data", new JsonObject().put("id", id)).encode());
    assertEquals(202, r.status, r.body);
  }

  static String op(String op, String channel) {
    return new JsonObject().put("op", op).put("channel", channel).encode();
  }

  @Test
  void theJwtsClaimsAndPublicNamespacesDecideAndEveryRefusalSaysWhy() {
    Conn trader = connect(jwt("trader", new JsonArray().add("prices:*").add("desk:7"), null), null);
    trader.send(op("subscribe", "prices:BTC"));
    trader.send(op("subscribe", "desk:7"));
    trader.send(op("subscribe", "news:today"));
    trader.send(op("subscribe", "desk:8"));
    trader.send(op("subscribe", "admin"));
    await().atMost(WAIT).until(() -> trader.frames.size() == 5);
    List<JsonObject> got = trader.messages();
    for (String allowed : List.of("prices:BTC", "desk:7", "news:today")) {
      assertEquals("subscribed", ChannelsTest.frameOf(got, allowed).getString("type"), allowed);
    }
    ChannelsTest.assertError(ChannelsTest.frameOf(got, "desk:8"), "subscribe", "desk:8", "not allowed");
    ChannelsTest.assertError(ChannelsTest.frameOf(got, "admin"), "subscribe", "admin", "channels claim");

    // a JWT without claims: public namespaces only
    Conn guest = connect(jwt("guest", null, null), null);
    guest.send(op("subscribe", "prices:BTC"));
    guest.send(op("subscribe", "news:today"));
    await().atMost(WAIT).until(() -> guest.frames.size() == 2);
    ChannelsTest.assertError(ChannelsTest.frameOf(guest.messages(), "prices:BTC"), "subscribe", "prices:BTC", "not allowed");

    publish("prices:BTC", "p1");
    publish("desk:8", "d8");
    publish("admin", "x");
    publish("news:today", "n1");
    await().atMost(WAIT).until(() -> trader.frames.size() == 7 && guest.frames.size() == 3);
    assertTrue(trader.bodies().get(5).contains("\"p1\""), trader.frames.toString());
    assertTrue(trader.bodies().get(6).contains("\"n1\""), trader.frames.toString());
    assertTrue(guest.bodies().get(2).contains("\"n1\""), guest.frames.toString());
    assertTrue(node.node().metrics().channels().subscribes(SubscribeResult.REFUSED) >= 3);
  }

  @Test
  void channelsAtTheHandshakeAreAllowedByTheSubscribeClaimOrJudgedLikeOpsAndARefusalIsA403() {
    // the backend's subscribe claim: subscribed from the start, whatever the channels claim says
    Conn vip = connect(jwt("vip", null, new JsonArray().add("vip:lounge")), null);
    // ?channels= is judged like a subscribe op
    Conn trader = connect(jwt("trader2", new JsonArray().add("prices:*"), null), "channels=prices:ETH,news:x");
    publish("vip:lounge", "v1");
    publish("prices:ETH", "e1");
    await().atMost(WAIT).until(() -> vip.frames.size() == 1 && trader.frames.size() == 1);
    assertTrue(vip.bodies().get(0).contains("\"v1\""));
    assertTrue(trader.bodies().get(0).contains("\"e1\""));

    assertEquals(403, refused(jwt("trader3", new JsonArray().add("prices:*"), null), "channels=prices:ETH,vip:lounge"));
    assertEquals(400, refused(jwt("trader4", null, null), "channels=news:ok,bad%20name"));
    // a claim that is not a list of names is a bad JWT
    assertEquals(401, refused(TestJwts.hs256(SECRET, TestJwts.claims("odd", 600).put("subscribe", 7)), null));
    assertEquals(401, refused(jwt("odd2", null, new JsonArray().add("not valid")), null));
    assertEquals(401, refused(jwt("odd3", new JsonArray().add("pri*ces"), null), null));
  }

  @Test
  void aRefreshWithOtherGrantsJudgesLaterSubscriptions() {
    Conn c = connect(jwt("mover", new JsonArray(), null), null);
    c.send(op("subscribe", "desk:1"));
    await().atMost(WAIT).until(() -> c.frames.size() == 1);
    assertEquals("error", c.messages().get(0).getString("type"));
    c.send(new JsonObject().put("op", "refresh").put("token", jwt("mover", new JsonArray().add("desk:*"), null)).encode());
    c.send(op("subscribe", "desk:1"));
    await().atMost(WAIT).until(() -> c.frames.size() == 3);
    assertEquals("refreshed", c.messages().get(1).getString("type"));
    assertEquals("subscribed", c.messages().get(2).getString("type"));
  }
}
