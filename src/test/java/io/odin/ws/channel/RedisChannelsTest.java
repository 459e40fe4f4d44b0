package io.odin.ws.channel;

import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.RedisServer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ChannelsTest}'s cases with the registry (interest entries, subscriber counts) and the history in a real Redis,
 * and what only Redis does: the interest and the counts survive Redis restarting empty (the shards re-assert them).
 */
class RedisChannelsTest extends ChannelsTest {

  RedisServer redis;

  @BeforeEach
  void startRedis() {
    redis = RedisServer.start();
  }

  @AfterEach
  void stopRedis() {
    redis.close();
  }

  @Override
  JsonObject store() {
    return new JsonObject().put("redis.url", redis.url()).put("redis.timeout", 5000).put("redis.breakerProbeMs", 100);
  }

  @Test
  void interestAndCountsComeBackAfterRedisRestartedEmpty() {
    start(new JsonObject());
    Client alice = clients.client("alice").channels(List.of("prices:BTC"));
    Client bob = clients.client("bob").channels(List.of("prices:BTC", "news"));
    clients.connectAll(List.of(alice, bob), node.wsPort);
    // counts reach the registry with its coalesced writes (registry.coalesceMs): a join shows a little later
    await().atMost(Duration.ofSeconds(10)).until(() -> count("prices:BTC") == 2);
    redis.restartEmpty();
    // the shards re-register their tokens and channels: routed by interest again, and counted again
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      publish("prices:BTC", "after");
      return alice.received.contains("after") && api.get("/api/channels/news").status == 200 && count("news") == 1
        && count("prices:BTC") == 2;
    });
    JsonObject routed = publish("news", "n1");
    assertEquals(1, routed.getInteger("channel"), routed.encode());
    await().atMost(Duration.ofSeconds(10)).until(() -> bob.receivedOn("news").contains("n1"));
    assertTrue(alice.receivedOn("news").isEmpty());
  }
}
