package io.odin.ws.history;

import io.odin.ws.testsupport.CursorClients.Client;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.TcpProxy;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RecoveryTest}'s cases with the history in a real Redis, and what only Redis can lose. */
class RedisRecoveryTest extends RecoveryTest {

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

  @Override
  boolean historySurvivesARestart() {
    return true;
  }

  @Test
  void aCursorFromBeforeRedisRestartedEmptyIsNotRecovered() {
    start(new JsonObject());
    Client alice = clients.client("alice");
    alice.connect(node.wsPort);
    publish("a1", "alice");
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.received.size() == 1);
    alice.close();
    redis.restartEmpty();
    // published after the restart: stored in the new, empty Redis (or, while the node notices, not stored)
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      publish("a2", "alice");
      return node.node().registry().history().health().getString("status").equals("up");
    });
    alice.connect(node.wsPort);
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.resumed.size() == 1);
    assertEquals(false, alice.resumed.get(0).getBoolean("recovered"), alice.toString());
    publish("live", "alice");
    await().atMost(Duration.ofSeconds(10)).until(() -> alice.received.contains("live"));
    assertEquals(List.of("a1", "live"), alice.received);
  }

  /**
   * A connection whose registration could not be written (Redis unreachable for that moment) joins where nobody
   * knows the token's stream stood: its shard has no position for the stream, and until the registration is written
   * its token's messages may be routed elsewhere (in a cluster, to the shard it left). Its first message in the middle
   * of the stream therefore cannot vouch for the ones before it: the cursor stays "unknown" (a reconnect with it
   * answers recovered:false) until the stream's next epoch starts. It took that first message's position: in the soak
   * a client that missed three messages was later told recovered:true without them.
   */
  @Test
  void aConnectionWhoseRegistrationWasNotWrittenDoesNotVouchForMessagesBeforeItsFirst() {
    try (TcpProxy link = new TcpProxy(redis.port)) {
      start(new JsonObject().put("redis.url", link.url()));
      // alice's stream holds messages already
      publish("a1", "alice");
      publish("a2", "alice");
      link.cut();
      Client alice = clients.client("alice");
      alice.connect(node.wsPort);
      link.restore();
      await().atMost(Duration.ofSeconds(20)).until(() -> node.node().registry().complete());
      publish("a3", "alice");
      await().atMost(Duration.ofSeconds(10)).until(() -> alice.received.contains("a3"));
      assertEquals(List.of("a3"), alice.received);
      assertTrue(alice.lastId().startsWith("0.0."), () -> "the token's position stays unknown: " + alice.lastId());
      alice.close();
      alice.connect(node.wsPort);
      await().atMost(Duration.ofSeconds(10)).until(() -> alice.resumed.size() == 1);
      assertEquals(false, alice.resumed.get(0).getBoolean("recovered"), alice.toString());
      publish("a4", "alice");
      await().atMost(Duration.ofSeconds(10)).until(() -> alice.received.contains("a4"));
      assertEquals(List.of("a3", "a4"), alice.received);
    }
  }
}
