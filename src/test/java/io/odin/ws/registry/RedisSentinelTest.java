package io.odin.ws.registry;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.RedisServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** redis.mode sentinel against a real master, replica and Sentinel; a failover is survived. */
class RedisSentinelTest {

  RedisServer master;
  RedisServer replica;
  RedisServer sentinel;
  Vertx vertx;
  RedisConnectionRegistry registry;

  @BeforeEach
  void start() {
    master = RedisServer.start();
    replica = RedisServer.replicaOf(master);
    sentinel = RedisServer.sentinel(master, "odin-registry");
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    if (registry != null) {
      registry.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    sentinel.close();
    replica.close();
    master.close();
  }

  @Test
  void registersThroughSentinelAndSurvivesAFailover() {
    await("replica in sync").atMost(Duration.ofSeconds(20))
      .until(() -> String.valueOf(replica.command("INFO", "replication")).contains("master_link_status:up"));
    await("sentinel sees the replica").atMost(Duration.ofSeconds(20))
      .until(() -> !((List<?>) sentinel.command("SENTINEL", "REPLICAS", "odin-registry")).isEmpty());
    GatewayConfig config = GatewaySchema.resolve(new JsonObject()
      .put("redis.mode", "sentinel")
      .put("redis.sentinels", new JsonArray().add("redis://127.0.0.1:" + sentinel.port))
      .put("redis.masterName", "odin-registry")
      .put("redis.timeout", 300).put("redis.breakerProbeMs", 200)
      .put("registry.ttl", 60).put("registry.heartbeat", 30), Map.of());
    ShardDirectory directory = new ShardDirectory("test-node");
    registry = new RedisConnectionRegistry(vertx, vertx.getOrCreateContext(), RegistrySettings.redisOptions(config),
      new RegistrySettings(config), "n1", directory, new GatewayMetrics(new SimpleMeterRegistry()), (n, h) -> { });
    String shard = "odin.shard.n1.0";
    Set<String> held = ConcurrentHashMap.newKeySet();
    Context shardContext = vertx.getOrCreateContext();
    registry.attachShard(shard, shardContext, () -> new ArrayList<>(held));
    directory.add(shard);
    await().atMost(Duration.ofSeconds(10)).until(registry::available);
    Promise<Void> registered = Promise.promise();
    shardContext.runOnContext(v -> {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        held.add("t" + i);
        fs.add(registry.register("t" + i, shard));
      }
      Future.all(fs).<Void>mapEmpty().onComplete(registered);
    });
    RedisConnectionRegistryTest.get(registered.future());
    assertEquals(100, RedisConnectionRegistryTest.lookup(registry, new ArrayList<>(held)).size());
    assertEquals(1L, master.command("EXISTS", "odin:t:t7"), "written to the master");

    long killedAt = System.currentTimeMillis();
    master.kill();
    await("failover and recovery").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
      .until(() -> RedisConnectionRegistryTest.lookupSucceeds(registry, List.of("t1"))
        && RedisConnectionRegistryTest.lookup(registry, new ArrayList<>(held)).size() == 100);
    System.out.println("registry answered from the promoted replica " + (System.currentTimeMillis() - killedAt)
      + " ms after the master was killed");
    assertEquals("master", ((List<?>) replica.command("ROLE")).get(0));
  }
}
