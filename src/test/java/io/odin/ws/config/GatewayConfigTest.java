package io.odin.ws.config;

import io.odin.ws.GatewaySchema;
import io.odin.ws.api.ApiSettings;
import io.odin.ws.dispatch.DispatchSettings;
import io.odin.ws.shard.ShardSettings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewayConfigTest {

  @Test
  void defaults() {
    GatewayConfig c = GatewaySchema.defaults();
    assertEquals(3001, c.getInt(ShardSettings.PORT));
    assertEquals(3004, c.getInt(ApiSettings.PORT));
    assertEquals(Runtime.getRuntime().availableProcessors(), ShardSettings.shardCount(c));
    assertEquals(List.of("system-announcement", "maintenance-notify"), c.getStringList(DispatchSettings.BROADCAST_TYPES));
  }

  @Test
  void fileThenEnvironment() {
    JsonObject file = new JsonObject().put("ws.port", 4000).put("shards.instances", 3).put("//ws.port", "a comment");
    GatewayConfig c = GatewaySchema.resolve(file, Map.of("ODIN_HTTP_PORT", "4001", "ODIN_SHARDS", "5",
      "ODIN_DISPATCH_BROADCAST_TYPES", "a, b", "ODIN_WS_COMPRESSION", "true"));
    assertEquals(4000, c.getInt(ShardSettings.PORT));
    assertEquals(4001, c.getInt(ApiSettings.PORT));
    assertEquals(5, ShardSettings.shardCount(c), "the environment overrides the file");
    assertEquals(List.of("a", "b"), c.getStringList(DispatchSettings.BROADCAST_TYPES));
    assertTrue(c.getBoolean(ShardSettings.COMPRESSION));
    assertEquals(3, ShardSettings.shardCount(GatewaySchema.resolve(file, Map.of())));
  }

  @Test
  void badConfigNamesTheKey() {
    assertMessage(new JsonObject().put("ws.prot", 1), "ws.prot: unknown configuration key (did you mean ws.port?)");
    assertMessage(new JsonObject().put("ws.port", 70000), "ws.port: must be between 1 and 65535, got 70000");
    assertMessage(new JsonObject().put("ws.port", "3001"), "ws.port: must be a whole number, got \"3001\"");
    assertMessage(new JsonObject().put("ws.port", 1.5), "ws.port: must be a whole number");
    assertMessage(new JsonObject().put("shards.instances", "many"), "shards.instances: must be a whole number or \"auto\"");
    assertMessage(new JsonObject().put("dispatch.broadcastTypes", new JsonArray().add(1)), "dispatch.broadcastTypes: must be an array of strings");
    assertMessage(new JsonObject().put("ws.compression", "yes"), "ws.compression: must be true or false");
    // a bootstrap list that can never work stops the start; a name that does not resolve is Kafka down (KafkaUnreachableTest)
    assertMessage(new JsonObject().put("kafka.bootstrapServers", "kafka"), "kafka.bootstrapServers: \"kafka\" is not host:port");
    assertMessage(new JsonObject().put("kafka.bootstrapServers", "a:9092, :9092"), "kafka.bootstrapServers: \":9092\" is not host:port");
    assertMessage(new JsonObject().put("kafka.bootstrapServers", "kafka:99999"), "kafka.bootstrapServers: port of \"kafka:99999\" must be between 1 and 65535");
    GatewaySchema.resolve(new JsonObject().put("kafka.bootstrapServers", "no-such-broker.invalid:9092, [::1]:9092"), Map.of());
    ConfigException env = assertThrows(ConfigException.class,
      () -> GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_WS_PORT", "abc")));
    assertTrue(env.getMessage().startsWith("ws.port: environment variable ODIN_WS_PORT must be a whole number"), env.getMessage());
  }

  @Test
  void anOdinVariableNoKeyReadsIsWarnedWithTheNearestOne() {
    Map<String, String> env = new java.util.HashMap<>(Map.of("ODIN_WS_PROT", "3201", "ODIN_WS_PORT", "4001", "PATH", "/bin",
      "ODIN_KAFKA_PROPERTIES_SASL_MECHANISM", "PLAIN", "ODIN_REQUIRE_BROWSER", "1", "ODIN_SHARDS_INSTANCES", "2",
      "ODIN_API_KEY", "k", "ODIN_NOTHING_LIKE_IT", "x"));
    assertEquals(List.of(
        "environment variable ODIN_API_KEY names no configuration key and is ignored (did you mean ODIN_API_KEYS, api.keys?)",
        "environment variable ODIN_NOTHING_LIKE_IT names no configuration key and is ignored",
        "environment variable ODIN_SHARDS_INSTANCES names no configuration key and is ignored (did you mean ODIN_SHARDS, shards.instances?)",
        "environment variable ODIN_WS_PROT names no configuration key and is ignored (did you mean ODIN_WS_PORT, ws.port?)"),
      GatewaySchema.unknownEnvironment(env));
    // the typo changes nothing, now with a word said
    assertEquals(4001, GatewaySchema.resolve(new JsonObject(), env).getInt(ShardSettings.PORT));
  }

  /**
   * Named in the project's files, deliberately warned about: the README's example of a typo, and scripts/gcp/canary's
   * client-side key (in a gateway's environment most likely ODIN_API_KEYS misspelt).
   */
  private static final java.util.Set<String> NOT_FOR_THE_GATEWAY = java.util.Set.of("ODIN_WS_PROT", "ODIN_API_KEY");

  /**
   * Every ODIN_* variable the project's own scripts, compose file, image and docs use is one the gateway reads or a
   * tool's (GatewaySchema.TOOL_VARIABLES): running the project's tools never draws the unknown-variable warning.
   */
  @Test
  void everyOdinVariableOfTheProjectIsAKeysOrAToolsOwn() throws Exception {
    List<Path> files = new java.util.ArrayList<>(List.of(Path.of("README.md"), Path.of("Dockerfile"),
      Path.of("docker-compose.yml"), Path.of("Taskfile.yml"), Path.of(".ci/run")));
    for (String dir : List.of("scripts", "docs", "conf")) {
      try (var walk = Files.walk(Path.of(dir))) {
        walk.filter(Files::isRegularFile).filter(f -> !f.toString().endsWith(".png")).forEach(files::add);
      }
    }
    java.util.regex.Pattern name = java.util.regex.Pattern.compile("\\bODIN_[A-Z0-9_]*[A-Z0-9]\\b");
    java.util.Set<String> unknown = new java.util.TreeSet<>();
    for (Path f : files) {
      java.util.regex.Matcher m = name.matcher(Files.readString(f));
      while (m.find()) {
        if (!GatewaySchema.unknownEnvironment(Map.of(m.group(), "")).isEmpty() && !NOT_FOR_THE_GATEWAY.contains(m.group())) {
          unknown.add(m.group() + " (" + f + ")");
        }
      }
    }
    assertEquals(java.util.Set.of(), unknown, "add a tool's variable to GatewaySchema.TOOL_VARIABLES");
  }

  @Test
  void envNamesAreDerivedFromKeys() {
    assertEquals("ODIN_KAFKA_BOOTSTRAP_SERVERS", ConfigKey.envNameFor("kafka.bootstrapServers"));
    assertEquals("ODIN_WS_PORT", ShardSettings.PORT.envName());
    assertEquals("ODIN_SHARDS", ShardSettings.INSTANCES.envName());
  }

  @Test
  void confDefaultJsonDescribesEveryKeyWithItsDefault() throws Exception {
    String onDisk = Files.readString(Path.of("conf/default.json"));
    assertEquals(GatewaySchema.SCHEMA.defaultsDocument(), onDisk,
      "conf/default.json is out of date: regenerate it with "
        + "java -cp target/classes:... io.odin.ws.GatewaySchema > conf/default.json");
    // and it is itself a valid config that resolves to the defaults
    assertEquals(GatewaySchema.defaults().toJson(), GatewaySchema.resolve(new JsonObject(onDisk), Map.of()).toJson());
  }

  private static void assertMessage(JsonObject file, String expected) {
    ConfigException e = assertThrows(ConfigException.class, () -> GatewaySchema.resolve(file, Map.of()));
    assertTrue(e.getMessage().startsWith(expected), "'" + e.getMessage() + "' should start with '" + expected + "'");
  }

  @Test
  void kafkaPropertiesArePassedThroughFromFileAndEnvironment() {
    JsonObject file = new JsonObject().put("kafka.properties.security.protocol", "SASL_SSL")
      .put("kafka.properties.fetch.max.wait.ms", 200).put("kafka.properties.sasl.mechanism", "PLAIN");
    GatewayConfig c = GatewaySchema.resolve(file, Map.of(
      "ODIN_KAFKA_PROPERTIES_SASL_MECHANISM", "SCRAM-SHA-512",
      "ODIN_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required;"));
    assertEquals(Map.of("security.protocol", "SASL_SSL", "fetch.max.wait.ms", "200", "sasl.mechanism", "SCRAM-SHA-512",
      "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;"),
      c.getPrefixed(io.odin.ws.ingest.KafkaSettings.PROPERTIES), "the environment overrides the file");
    // they survive the launcher's hand-over to the bootstrap verticle (toJson, then resolved again)
    assertEquals(c.getPrefixed(io.odin.ws.ingest.KafkaSettings.PROPERTIES),
      GatewaySchema.resolve(c.toJson(), Map.of()).getPrefixed(io.odin.ws.ingest.KafkaSettings.PROPERTIES));
    assertMessage(new JsonObject().put("kafka.properties.ssl.keystore.location", new JsonArray()),
      "kafka.properties.ssl.keystore.location: must be a string");
    assertMessage(new JsonObject().put("kafka.properties.", "x"), "kafka.properties.: unknown configuration key");
    assertTrue(GatewaySchema.SCHEMA.defaultsDocument().contains("\"//kafka.properties.*\""));
  }
}
