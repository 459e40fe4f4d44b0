package io.odin.ws.testsupport;

import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Exact delivery across a running cluster reached from outside (containers, a compose stack): clients with
 * tokens of their own on every node and one token on all nodes; messages through one node's publish API and
 * through Kafka (keyed by token, plus broadcasts); every client must get exactly its messages and every
 * broadcast, each once.
 */
public final class ClusterDeliveryCheck implements AutoCloseable {

  /** A node as seen from the test: its published WebSocket and management ports. */
  public record Node(String name, int wsPort, int httpPort) {
  }

  private final List<Node> nodes;
  private final String bootstrapServers;
  private final String topic;
  private final List<WsClients> pools = new ArrayList<>();
  private final List<Publisher> publishers = new ArrayList<>();
  private KafkaProducer<String, String> producer;

  public ClusterDeliveryCheck(List<Node> nodes, String bootstrapServers, String topic) {
    this.nodes = nodes;
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    for (Node n : nodes) {
      publishers.add(new Publisher(n.httpPort()));
    }
  }

  public Publisher api(int node) {
    return publishers.get(node);
  }

  public JsonObject health(int node) {
    return api(node).get("/health").json();
  }

  /** Creates the topic (if missing) and waits until the cluster's consumer group owns all its partitions. */
  public void awaitConsumers(int partitions) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers,
      "request.timeout.ms", 10_000, "default.api.timeout.ms", 30_000))) {
      try {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
      }
    }
    await("every partition of " + topic + " assigned to a node").atMost(Duration.ofSeconds(120))
      .pollInterval(Duration.ofMillis(500)).ignoreExceptions()
      .until(() -> IntStream.range(0, nodes.size()).map(this::assignedPartitions).sum() == partitions
        && IntStream.range(0, nodes.size()).allMatch(i -> assignedPartitions(i) > 0));
  }

  private int assignedPartitions(int node) {
    JsonObject kafka = health(node).getJsonObject("dependencies").getJsonObject("kafka-0");
    if (kafka == null || kafka.getJsonArray("assigned") == null) {
      return 0;
    }
    int n = 0;
    for (Object p : kafka.getJsonArray("assigned")) {
      if (String.valueOf(p).startsWith(topic + "-")) {
        n++;
      }
    }
    return n;
  }

  /** Waits until every node lists {@code members} nodes in its cluster view. */
  public void awaitCluster(int members) {
    await("a cluster of " + members).atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
      .ignoreExceptions()
      .until(() -> IntStream.range(0, nodes.size()).allMatch(i -> health(i).getJsonObject("dependencies")
        .getJsonObject("cluster").getJsonObject("nodes").size() == members));
  }

  private KafkaProducer<String, String> producer() {
    if (producer == null) {
      producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.LINGER_MS_CONFIG, 5), new StringSerializer(), new StringSerializer());
    }
    return producer;
  }

  /**
   * One round: {@code perNode} clients of their own on every node plus one "everywhere" token on all, messages
   * through node {@code via}'s API and through Kafka; asserts exact delivery. Ids carry {@code round}, so
   * rounds can repeat on the same cluster.
   */
  public void run(String round, int perNode, int via) throws Exception {
    Map<String, List<Conn>> byToken = new HashMap<>();
    List<Conn> all = new ArrayList<>();
    for (int n = 0; n < nodes.size(); n++) {
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < perNode; i++) {
        tokens.add(round + "-n" + n + "-" + i);
      }
      tokens.add(round + "-everywhere");
      WsClients pool = new WsClients(nodes.get(n).wsPort());
      pools.add(pool);
      for (Conn c : pool.connectAll(tokens)) {
        byToken.computeIfAbsent(c.token, t -> new ArrayList<>()).add(c);
        all.add(c);
      }
    }
    Map<String, Set<String>> expected = new HashMap<>();
    Set<String> broadcasts = new HashSet<>();
    for (int k = 0; k < 3; k++) {
      for (String token : byToken.keySet()) {
        String id = token + "#k" + k;
        producer().send(new ProducerRecord<>(topic, token, envelope("order", null, id).encode()));
        expected.computeIfAbsent(token, t -> new HashSet<>()).add(id);
      }
      String b = round + "-broadcast#k" + k;
      producer().send(new ProducerRecord<>(topic, null, broadcast("news", b).encode()));
      broadcasts.add(b);
    }
    producer().flush();
    JsonArray batch = new JsonArray();
    for (String token : byToken.keySet()) {
      String id = token + "@api";
      batch.add(envelope("order", token, id));
      expected.get(token).add(id);
    }
    String b = round + "-broadcast@api";
    batch.add(broadcast("news", b));
    broadcasts.add(b);
    Publisher.Response r = api(via).post(batch.encode());
    assertEquals(202, r.status, r.body);

    await("every client got its messages").atMost(Duration.ofSeconds(60)).until(() -> all.stream().allMatch(c ->
      c.frames.size() >= expected.get(c.token).size() + broadcasts.size()));
    for (Conn c : all) {
      Set<String> want = new HashSet<>(expected.get(c.token));
      want.addAll(broadcasts);
      Set<String> got = new HashSet<>();
      for (JsonObject m : c.messages()) {
        got.add(m.getJsonObject("data").getString("id"));
      }
      assertEquals(want, got, c.token);
      assertEquals(want.size(), c.frames.size(), c.token + " got extras or duplicates");
    }
  }

  public static JsonObject envelope(String type, String token, String id) {
    JsonObject e = new JsonObject().put("type", type).put("data", new JsonObject().put("id", id));
    if (token != null) {
      e.put("token", token);
    }
    return e;
  }

  /** A message for every connection: the producer says so explicitly (a missing token is refused, never a broadcast). */
  public static JsonObject broadcast(String type, String id) {
    return envelope(type, null, id).put("broadcast", true);
  }

  /** Sends a record that is not JSON: the nodes count it as bad and skip it. */
  public void sendBadRecord() {
    producer().send(new ProducerRecord<>(topic, "bad", "not json"));
    producer().flush();
  }

  @Override
  public void close() throws Exception {
    for (WsClients p : pools) {
      p.close();
    }
    for (Publisher p : publishers) {
      p.close();
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
  }
}
