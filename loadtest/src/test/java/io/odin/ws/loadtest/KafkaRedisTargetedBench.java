package io.odin.ws.loadtest;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.RedisServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The targeted goal as specified: messages produced to Kafka, routed through the Redis registry, to 15,000
 * clients. A KRaft broker and redis-server in child processes, the gateway in its own JVM (the real launcher,
 * default JVM flags), the load tool's clients in two child JVMs bound to 127.0.0.2 and .3, its Kafka producer here.
 * <pre>mvn -q test -Dtest=KafkaRedisTargetedBench -Dodin.bench=true -Dexcluded.test.groups=none \
 *   [-Dbench.connections=15000 -Dbench.rate=20000 -Dbench.seconds=30 -Dbench.warmup=90]</pre>
 * Kafka decouples producer and gateway: whatever the gateway could not take during its JIT warm-up waits in the
 * topic, so the warm-up is long enough for that backlog to drain before latency is measured.
 * The report goes to target/bench/kafka-redis-targeted.json (and .html); the summary to stdout.
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class KafkaRedisTargetedBench {

  @Test
  void targetedThroughKafkaAndRedis() throws Exception {
    int connections = Integer.getInteger("bench.connections", 15_000);
    int rate = Integer.getInteger("bench.rate", 20_000);
    int seconds = Integer.getInteger("bench.seconds", 30);
    String topic = "odin-events";
    try (KafkaBroker broker = KafkaBroker.create().start(); RedisServer redis = RedisServer.start()) {
      broker.createTopic(topic, 6);
      Map<String, String> env = Map.of(
        "ODIN_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers(),
        "ODIN_KAFKA_TOPICS", topic,
        "ODIN_KAFKA_GROUP_ID", "bench",
        "ODIN_REDIS_URL", redis.url());
      try (ChildNode node = ChildNode.launch("bench", 2, env, List.of("-Xms1g", "-Xmx2g")).awaitReady()) {
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
          JsonObject kafka = node.health().getJsonObject("dependencies").getJsonObject("kafka-0");
          JsonArray assigned = kafka == null ? null : kafka.getJsonArray("assigned");
          return assigned != null && !assigned.isEmpty();
        });
        LoadTestOptions o = LoadTestOptions.parse("--url", "ws://127.0.0.1:" + node.wsPort + "/ws",
          "--publish", "kafka", "--kafka-bootstrap", broker.bootstrapServers(), "--topic", topic,
          "--connections", Integer.toString(connections), "--processes", "2", "--source-addresses", "auto",
          "--ramp", "2000", "--rate", Integer.toString(rate), "--mix", "100:0", "--batch", "50",
          "--max-in-flight", "8", "--warmup", Integer.getInteger("bench.warmup", 90) + "s", "--duration", seconds + "s",
          "--drain", "30s", "--verify-routing",
          "--server-pid", Long.toString(node.pid()), "--label", "kafka+redis targeted", "--quiet",
          "--report", "target/bench/kafka-redis-targeted.json");
        LoadTest.LoadReport report = new LoadTest(o).run();
        System.out.println("KafkaRedisTargetedBench:\n" + report.summary());
        assertEquals(0, report.verification().violations(), String.join("\n", report.verification().allExamples()));
      }
    }
  }
}
