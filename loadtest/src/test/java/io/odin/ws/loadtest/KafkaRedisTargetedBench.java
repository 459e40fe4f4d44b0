package io.odin.ws.loadtest;

import io.odin.ws.loadtest.testsupport.GatewayProcess;
import io.odin.ws.loadtest.testsupport.KafkaBroker;
import io.odin.ws.loadtest.testsupport.RedisServer;
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
 * clients. A KRaft broker and redis-server in child processes, the gateway's jar in its own JVM (default GC), the load
 * tool's clients in two child JVMs bound to 127.0.0.2 and .3, its Kafka producer here. In loadtest/, once the gateway's
 * jar is built:
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
      try (GatewayProcess node = GatewayProcess.start(2, env, List.of("-Xms1g", "-Xmx2g"))) {
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(node::kafkaAssigned);
        LoadTestOptions o = LoadTestOptions.parse("--url", node.wsUrl(),
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
