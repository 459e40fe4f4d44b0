package io.odin.ws.cluster;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import io.odin.ws.testsupport.ClusterDeliveryCheck;
import io.odin.ws.testsupport.ClusterDeliveryCheck.Node;
import io.odin.ws.testsupport.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.lifecycle.Startables;
import org.testcontainers.utility.DockerImageName;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ClusterTest's delivery scenario with every part in a container of the stack's images (scripts/images): three
 * odin-ws containers clustered over Hazelcast TCP-IP on a container network, the Redis registry and a KRaft
 * broker in containers too; clients, the publish API and a Kafka producer from the test JVM through the published
 * ports. Needs a Docker API (DOCKER_HOST, e.g. scripts/podman-service) and the images; skipped without them,
 * unless ODIN_REQUIRE_CONTAINERS=1 (CI), where it fails instead. ClusterTest covers the same with local processes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterContainersTest {

  static final String TOPIC = "containers-events";

  private final List<GenericContainer<?>> nodes = new ArrayList<>();
  private Network network;
  private GenericContainer<?> redis;
  private GenericContainer<?> kafka;
  private int kafkaPort;
  /** Why the containers cannot run here, or null when they can: found once, before anything starts. */
  private String unavailable;

  private static String image(String env, String fallback) {
    String v = System.getenv(env);
    return v == null || v.isBlank() ? fallback : v;
  }

  /** The local images are never pulled (no registry here); a missing one skips or fails the test. */
  private static GenericContainer<?> container(String image) {
    return new GenericContainer<>(DockerImageName.parse(image)).withImagePullPolicy(name -> false);
  }

  @BeforeAll
  void startContainers() {
    String odin = image("ODIN_IMAGE", "odin-ws:local");
    String redisImage = image("ODIN_REDIS_IMAGE", "odin-redis:local");
    String kafkaImage = image("ODIN_KAFKA_IMAGE", "odin-kafka:local");
    boolean required = "1".equals(System.getenv("ODIN_REQUIRE_CONTAINERS"));
    unavailable = missing(List.of(odin, redisImage, kafkaImage));
    if (unavailable != null) {
      if (required) {
        fail("ODIN_REQUIRE_CONTAINERS=1 but " + unavailable);
      }
      // each test says it is skipped, and why (an assumption here would report no test at all: "Tests run: 0")
      return;
    }

    network = Network.newNetwork();
    redis = container(redisImage).withNetwork(network).withNetworkAliases("redis")
      .withCommand("redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no")
      .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));
    // the test JVM produces through a fixed host port that the broker advertises (the port must be known before start)
    kafkaPort = Ports.free();
    kafka = container(kafkaImage).withNetwork(network).withNetworkAliases("kafka")
      .withEnv("CLUSTER_ID", "MkU3OEVBNTcwNTJENDM2Qk")
      .withEnv("KAFKA_NODE_ID", "1")
      .withEnv("KAFKA_PROCESS_ROLES", "broker,controller")
      .withEnv("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@kafka:9093")
      .withEnv("KAFKA_LISTENERS", "INTERNAL://:19092,CONTROLLER://:9093,EXTERNAL://:9092")
      .withEnv("KAFKA_ADVERTISED_LISTENERS", "INTERNAL://kafka:19092,EXTERNAL://127.0.0.1:" + kafkaPort)
      .withEnv("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT")
      .withEnv("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
      .withEnv("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL")
      .withEnv("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
      .withEnv("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "4")
      .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
      .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
      .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
      .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
      .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
      .withCreateContainerCmdModifier(cmd -> cmd.withExposedPorts(ExposedPort.tcp(9092)).getHostConfig()
        .withPortBindings(PortBinding.parse("127.0.0.1:" + kafkaPort + ":9092")))
      .waitingFor(Wait.forLogMessage(".*Kafka Server started.*", 1).withStartupTimeout(Duration.ofSeconds(120)));
    Startables.deepStart(redis, kafka).join();

    String members = "node-1:5701,node-2:5701,node-3:5701";
    for (int i = 1; i <= 3; i++) {
      String name = "node-" + i;
      nodes.add(container(odin).withNetwork(network).withNetworkAliases(name)
        .withCreateContainerCmdModifier(cmd -> cmd.withHostName(name))
        .withExposedPorts(3001, 3004)
        .withEnv("JAVA_OPTS", "-XX:MaxRAMPercentage=25")
        .withEnv("ODIN_NODE_ID", name)
        .withEnv("ODIN_SHARDS", "2")
        .withEnv("ODIN_CLUSTER", "true")
        .withEnv("ODIN_CLUSTER_HOST", name)
        .withEnv("ODIN_CLUSTER_MEMBERS", members)
        .withEnv("ODIN_CLUSTER_ANNOUNCE_INTERVAL_MS", "1000")
        .withEnv("ODIN_REDIS_URL", "redis://redis:6379")
        .withEnv("ODIN_KAFKA_BOOTSTRAP_SERVERS", "kafka:19092")
        .withEnv("ODIN_KAFKA_TOPICS", TOPIC)
        .withEnv("ODIN_KAFKA_AUTO_OFFSET_RESET", "earliest")
        // the launcher's last start-up line (after every verticle deployed); not an HTTP wait, which would go to
        // Testcontainers' idea of the docker host (the bridge gateway when it believes it runs in a container)
        .waitingFor(Wait.forLogMessage(".*Succeeded in deploying verticle.*", 1)
          .withStartupTimeout(Duration.ofSeconds(180))));
    }
    Startables.deepStart(nodes).join();
  }

  /** Why the containers cannot run here, or null when they can. */
  private static String missing(List<String> images) {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      return "no Docker API (set DOCKER_HOST, e.g. scripts/podman-service start)";
    }
    for (String image : images) {
      try {
        DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      } catch (NotFoundException e) {
        return "image " + image + " is missing (scripts/images)";
      }
    }
    return null;
  }

  @AfterAll
  void stopContainers() {
    for (GenericContainer<?> c : nodes) {
      c.stop();
    }
    if (kafka != null) {
      kafka.stop();
    }
    if (redis != null) {
      redis.stop();
    }
    if (network != null) {
      network.close();
    }
  }

  @BeforeEach
  void containersAvailable() {
    assumeTrue(unavailable == null, unavailable);
  }

  @Test
  void containersClusterAndDeliverExactlyThroughKafkaAndTheApi() throws Exception {
    List<Node> view = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      GenericContainer<?> c = nodes.get(i);
      view.add(new Node("node-" + (i + 1), c.getMappedPort(3001), c.getMappedPort(3004)));
    }
    try (ClusterDeliveryCheck check = new ClusterDeliveryCheck(view, "127.0.0.1:" + kafkaPort, TOPIC)) {
      check.awaitCluster(3);
      check.awaitConsumers(6);
      check.run("tc", 20, 1);
      // the image's own healthcheck command agrees
      for (GenericContainer<?> c : nodes) {
        assertTrue(c.execInContainer("/usr/local/bin/odin-healthcheck").getExitCode() == 0, c.getLogs());
      }
    }
  }
}
