package io.odin.ws.history;

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
}
