package io.odin.ws.registry;

import io.odin.ws.GatewaySchema;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegistrySettingsTest {

  @Test
  void inMemoryUnlessRedisIsConfigured() {
    assertFalse(RegistrySettings.redisEnabled(GatewaySchema.defaults()));
    GatewayConfig env = GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_REDIS_URL", "redis://cache:6380/2"));
    assertTrue(RegistrySettings.redisEnabled(env));
    RedisOptions options = RegistrySettings.redisOptions(env);
    assertEquals(RedisClientType.STANDALONE, options.getType());
    assertEquals("redis://cache:6380/2", options.getEndpoint());
    RegistrySettings s = new RegistrySettings(env);
    assertEquals(60_000, s.ttlMillis);
    assertEquals(30_000, s.heartbeatMillis);
  }

  @Test
  void sentinelMode() {
    GatewayConfig c = GatewaySchema.resolve(new JsonObject().put("redis.mode", "sentinel")
      .put("redis.sentinels", new JsonArray().add("redis://s1:26379").add("redis://s2:26379"))
      .put("redis.masterName", "odin").put("redis.password", "secret"), Map.of());
    assertTrue(RegistrySettings.redisEnabled(c));
    RedisOptions options = RegistrySettings.redisOptions(c);
    assertEquals(RedisClientType.SENTINEL, options.getType());
    assertEquals(List.of("redis://s1:26379", "redis://s2:26379"), options.getEndpoints());
    assertEquals("odin", options.getMasterName());
    assertEquals("secret", options.getPassword());
  }

  @Test
  void clusterModeFromTheEnvironment() {
    GatewayConfig c = GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_REDIS_MODE", "cluster",
      "ODIN_REDIS_ENDPOINTS", "redis://r1:7000,redis://r2:7001", "ODIN_REDIS_PASSWORD", "secret"));
    assertTrue(RegistrySettings.redisEnabled(c));
    RedisOptions options = RegistrySettings.redisOptions(c);
    assertEquals(RedisClientType.CLUSTER, options.getType());
    assertEquals(List.of("redis://r1:7000", "redis://r2:7001"), options.getEndpoints());
    assertEquals("secret", options.getPassword());
    assertEquals("cluster via redis://r1:7000,redis://r2:7001", RegistrySettings.describe(c));
  }

  @Test
  void badSettingsNameTheKey() {
    assertMessage(new JsonObject().put("redis.mode", "clustered"), "redis.mode: must be standalone, sentinel or cluster");
    assertMessage(new JsonObject().put("redis.mode", "cluster"), "redis.endpoints: redis.mode cluster needs at least one seed node");
    assertMessage(new JsonObject().put("redis.mode", "cluster").put("redis.endpoints", new JsonArray().add("r1:7000")),
      "redis.endpoints: must start with redis:// or rediss://");
    assertMessage(new JsonObject().put("redis.mode", "cluster").put("redis.endpoints", new JsonArray().add("redis://r1")),
      "redis.endpoints: needs a host and a port");

    assertMessage(new JsonObject().put("redis.mode", "sentinel"), "redis.sentinels: ");
    assertMessage(new JsonObject().put("redis.url", "localhost:6379"), "redis.url: must start with redis://");
    assertMessage(new JsonObject().put("registry.ttl", 10).put("registry.heartbeat", 10), "registry.heartbeat: must be less than registry.ttl");
  }

  @Test
  void credentialsStayOutOfHealthAndLogs() {
    GatewayConfig c = GatewaySchema.resolve(new JsonObject().put("redis.url", "redis://:hunter2@cache:6379/0"), Map.of());
    assertEquals("redis://cache:6379/0", RegistrySettings.describe(c));
    GatewayConfig cluster = GatewaySchema.resolve(new JsonObject().put("redis.mode", "cluster")
      .put("redis.endpoints", new JsonArray().add("rediss://:hunter2@r1:7000")), Map.of());
    assertEquals("cluster via rediss://r1:7000", RegistrySettings.describe(cluster));
  }

  private static void assertMessage(JsonObject file, String start) {
    ConfigException e = assertThrows(ConfigException.class, () -> RegistrySettings.check(GatewaySchema.resolve(file, Map.of())));
    assertTrue(e.getMessage().startsWith(start), e.getMessage());
  }
}
