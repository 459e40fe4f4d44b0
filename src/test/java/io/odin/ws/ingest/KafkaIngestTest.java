package io.odin.ws.ingest;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.testsupport.KafkaBroker;
import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.kafka.admin.KafkaAdminClient;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real KRaft broker, a real node consuming from it, real WebSocket clients. */
class KafkaIngestTest {

  static KafkaBroker broker;
  static KafkaProducer<String, String> producer;

  @BeforeAll
  static void startBroker() {
    broker = KafkaBroker.create().start();
    producer = new KafkaProducer<>(Map.of(
      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
      ProducerConfig.ACKS_CONFIG, "all",
      ProducerConfig.LINGER_MS_CONFIG, 5,
      ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000,
      ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000),
      new StringSerializer(), new StringSerializer());
  }

  /** The shared broker is a test fixture: if an earlier test's load took it down, say so and bring it back. */
  @BeforeEach
  void brokerRunning() {
    if (!broker.isRunning()) {
      System.err.println("KafkaIngestTest: the shared test broker had stopped; restarting it");
      broker.start();
    }
  }

  @AfterAll
  static void stopBroker() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    if (broker != null) {
      broker.close();
    }
  }

  private static TestNode node(String topic, int consumers, JsonObject extra) {
    JsonObject conf = new JsonObject()
      .put("kafka.bootstrapServers", broker.bootstrapServers())
      .put("kafka.topics", new JsonArray().add(topic))
      .put("kafka.groupId", "g-" + UUID.randomUUID())
      .put("kafka.consumers", consumers)
      .put("kafka.autoOffsetReset", "earliest")
      .put("dispatch.instances", 2);
    if (extra != null) {
      conf.mergeIn(extra);
    }
    return TestNode.start(4, conf);
  }

  private static void send(String topic, String key, String value) {
    producer.send(new ProducerRecord<>(topic, key, value));
  }

  private static JsonObject data(Conn c, int i) {
    return c.messages().get(i).getJsonObject("data");
  }

  /** Waits until every consumer of the node has partitions, so records produced now are read. */
  private static void awaitAssigned(TestNode node, int consumers) {
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      int assigned = 0;
      for (int i = 0; i < consumers; i++) {
        var dep = node.node().dependencies().get("kafka-" + i);
        if (dep != null && !dep.get().getJsonArray("assigned").isEmpty()) {
          assigned++;
        }
      }
      return assigned == consumers;
    });
  }

  @Test
  void aTopicMappedToChannelsSendsEachRecordToTheSubscribersOfItsKeysChannel() throws Exception {
    String topic = "prices";
    broker.createTopic(topic, 3);
    try (TestNode node = node(topic, 1, new JsonObject().put("kafka.channelTopics", new JsonArray().add("prices=prices:{key}")));
         WsClients clients = new WsClients(node.wsPort)) {
      Conn btc = io.odin.ws.testsupport.WsClients.awaitResult(clients.connectAsync("btc",
        new io.vertx.core.http.WebSocketConnectOptions().setURI("/ws?token=w1&channels=prices:BTC")));
      Conn eth = io.odin.ws.testsupport.WsClients.awaitResult(clients.connectAsync("eth",
        new io.vertx.core.http.WebSocketConnectOptions().setURI("/ws?token=w2&channels=prices:ETH")));
      Conn owner = clients.connect("BTC");
      awaitAssigned(node, 1);
      for (int n = 0; n < 50; n++) {
        String key = n % 2 == 0 ? "BTC" : "ETH";
        send(topic, key, new JsonObject().put("type", "tick").put("data", new JsonObject().put("n", n)).encode());
      }
      // an envelope's own target wins: this one goes to the token BTC, not to the channel
      send(topic, "BTC", new JsonObject().put("type", "direct").put("token", "BTC").encode());
      producer.flush();
      await().atMost(Duration.ofSeconds(60)).until(() -> btc.frames.size() == 25 && eth.frames.size() == 25
        && owner.frames.size() == 1);
      for (int i = 0; i < 25; i++) {
        assertEquals("prices:BTC", btc.messages().get(i).getString("channel"));
        assertEquals(i * 2, data(btc, i).getInteger("n"), "in partition order");
        assertEquals(i * 2 + 1, data(eth, i).getInteger("n"));
      }
      assertEquals("direct", owner.messages().get(0).getString("type"));
    }
  }

  @Test
  void tenThousandRecordsReachExactlyTheirClientsInPerTokenOrder() throws Exception {
    String topic = "e2e";
    broker.createTopic(topic, 6);
    try (TestNode node = node(topic, 1, null); WsClients clients = new WsClients(node.wsPort)) {
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        tokens.add("k" + i);
        if (i < 100) {
          tokens.add("k" + i);
        }
      }
      List<Conn> conns = clients.connectAll(tokens);
      awaitAssigned(node, 1);
      Map<String, Integer> perToken = new HashMap<>();
      int broadcasts = 0;
      for (int n = 0; n < 10_000; n++) {
        if (n % 100 == 99) {
          send(topic, null, new JsonObject().put("type", "news").put("broadcast", true).put("data", new JsonObject().put("b", broadcasts++)).encode());
          continue;
        }
        String token = "k" + (n % 300);
        int seq = perToken.merge(token, 1, Integer::sum) - 1;
        // half carry their token in the envelope, half only as the record key
        JsonObject envelope = new JsonObject().put("type", "tick").put("data", new JsonObject().put("seq", seq).put("t", token));
        if (n % 2 == 0) {
          envelope.put("token", token);
        }
        send(topic, token, envelope.encode());
      }
      producer.flush();
      int totalBroadcasts = broadcasts;
      await().atMost(Duration.ofSeconds(120)).until(() -> conns.stream().allMatch(c ->
        c.frames.size() >= perToken.getOrDefault(c.token, 0) + totalBroadcasts));
      for (Conn c : conns) {
        assertEquals(perToken.getOrDefault(c.token, 0) + totalBroadcasts, c.frames.size(), c.token + " got extras or duplicates");
        int expectedSeq = 0;
        Set<Integer> seenBroadcasts = new HashSet<>();
        for (int i = 0; i < c.frames.size(); i++) {
          JsonObject d = data(c, i);
          if (d.containsKey("b")) {
            assertTrue(seenBroadcasts.add(d.getInteger("b")));
          } else {
            assertEquals(c.token, d.getString("t"), "misrouted");
            assertEquals(expectedSeq++, d.getInteger("seq"), c.token + " out of order");
          }
        }
        assertEquals(totalBroadcasts, seenBroadcasts.size());
      }
      var registry = node.node().metrics().registry();
      assertEquals(10_000, (long) registry.counter("odin.kafka.records").count());
      // every assigned partition has its lag, and with everything handed over and committed the node's is 0
      await().atMost(Duration.ofSeconds(30)).until(() ->
        registry.find("odin.kafka.partition.lag").tag("topic", topic).gauges().size() == 6
          && registry.get("odin.kafka.lag").gauge().value() == 0);
    }
  }

  /**
   * With kafka.maxInFlightRecords far below a poll's size, the consumer pauses its partitions after every poll and
   * resumes them once dispatch has caught up: every record still arrives once, in per-token order, nothing stays in
   * flight, and each stage of the way shows in odin_ingest_stage_seconds.
   */
  /**
   * The lag, from vertx-kafka-client's admin client: each assigned partition's end less the group's committed offset
   * (0 where the group has not committed), per partition and summed; a revoked partition's gauge goes away.
   */
  @Test
  void lagIsEachAssignedPartitionsEndLessTheGroupsCommittedOffset() throws Exception {
    String topic = "lagged";
    String group = "lag-" + UUID.randomUUID();
    broker.createTopic(topic, 2);
    for (int i = 0; i < 10; i++) {
      producer.send(new ProducerRecord<>(topic, 0, null, "a" + i));
    }
    for (int i = 0; i < 5; i++) {
      producer.send(new ProducerRecord<>(topic, 1, null, "b" + i));
    }
    producer.flush();
    TopicPartition p0 = new TopicPartition(topic, 0);
    TopicPartition p1 = new TopicPartition(topic, 1);
    try (KafkaConsumer<String, String> committer = new KafkaConsumer<>(Map.of(
      ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG, group),
      new StringDeserializer(), new StringDeserializer())) {
      committer.assign(List.of(p0));
      committer.commitSync(Map.of(p0, new OffsetAndMetadata(4)));
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Vertx.vertx();
    KafkaAdminClient admin = KafkaAdminClient.create(vertx, Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    try {
      KafkaLag lag = new KafkaLag(admin, group, new GatewayMetrics(registry));
      lag.assigned(Set.of(p0, p1));
      lag.refresh().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(Map.of(p0, 6L, p1, 0L), lag.lags());
      Scrape s = new Scrape(registry.scrape());
      assertEquals(6, s.sum("odin_kafka_partition_lag", "topic", topic, "partition", "0"));
      assertEquals(0, s.sum("odin_kafka_partition_lag", "topic", topic, "partition", "1"));
      assertEquals(6, s.sum("odin_kafka_lag"));
      lag.revoked(Set.of(p0));
      s = new Scrape(registry.scrape());
      assertTrue(s.samples("odin_kafka_partition_lag", "partition", "0").isEmpty());
      assertEquals(0, s.sum("odin_kafka_lag"));
    } finally {
      admin.close(2_000).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close();
    }
  }

  /**
   * kafka.commitIntervalMs: the first hand-over is committed at once, what follows within the interval waits for the
   * next commit (a commit holds the consumer's next poll), and stopping commits everything handed over.
   */
  @Test
  void commitsAtMostOncePerCommitIntervalAndEverythingOnStop() throws Exception {
    String topic = "committed";
    broker.createTopic(topic, 1);
    String group = "g-" + UUID.randomUUID();
    TopicPartition tp = new TopicPartition(topic, 0);
    TestNode node = node(topic, 1, new JsonObject().put("kafka.groupId", group).put("kafka.commitIntervalMs", 60_000));
    try (WsClients clients = new WsClients(node.wsPort)) {
      Conn c = clients.connect("c0");
      awaitAssigned(node, 1);
      send(topic, "c0", new JsonObject().put("type", "t").put("token", "c0").put("data", 0).encode());
      producer.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> c.frames.size() == 1);
      await().atMost(Duration.ofSeconds(30)).until(() -> committed(group, tp) == 1);
      for (int i = 1; i <= 100; i++) {
        send(topic, "c0", new JsonObject().put("type", "t").put("token", "c0").put("data", i).encode());
      }
      producer.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> c.frames.size() == 101);
      // handed over, not yet committed: the interval has not passed
      assertEquals(1, committed(group, tp));
    } finally {
      node.close();
    }
    assertEquals(101, committed(group, tp), "stopping commits what was handed over");
  }

  private static long committed(String group, TopicPartition tp) throws Exception {
    try (var admin = broker.admin()) {
      OffsetAndMetadata o = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).get(tp);
      return o == null ? 0 : o.offset();
    }
  }

  @Test
  void pausesAtTheInFlightRecordBoundResumesAndRecordsEachStage() throws Exception {
    String topic = "bounded";
    broker.createTopic(topic, 3);
    try (TestNode node = node(topic, 1, new JsonObject().put("kafka.maxInFlightRecords", 20).put("kafka.maxPollRecords", 200));
         WsClients clients = new WsClients(node.wsPort)) {
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        tokens.add("b" + i);
      }
      List<Conn> conns = clients.connectAll(tokens);
      awaitAssigned(node, 1);
      int records = 4_000;
      for (int n = 0; n < records; n++) {
        String token = "b" + (n % 40);
        send(topic, token, new JsonObject().put("type", "tick").put("token", token)
          .put("data", new JsonObject().put("seq", n / 40)).encode());
      }
      producer.flush();
      await().atMost(Duration.ofSeconds(120)).until(() -> conns.stream().allMatch(c -> c.frames.size() >= records / 40));
      for (Conn c : conns) {
        assertEquals(records / 40, c.frames.size(), c.token + " got extras or duplicates");
        for (int i = 0; i < c.frames.size(); i++) {
          assertEquals(i, data(c, i).getInteger("seq"), c.token + " out of order");
        }
      }
      var registry = node.node().metrics().registry();
      assertTrue(registry.counter("odin.kafka.pauses").count() > 0, "the consumer never paused at 20 records in flight");
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        JsonObject health = node.node().dependencies().get("kafka-0").get();
        return health.getLong("inFlightRecords") == 0 && !health.getBoolean("paused");
      });
      assertEquals(0.0, registry.get("odin.kafka.inflight.records").gauge().value());
      for (var stage : io.odin.ws.metrics.GatewayMetrics.IngestStage.values()) {
        long count = registry.get("odin.ingest.stage").tag("stage", stage.name().toLowerCase()).timer().count();
        assertTrue(count > 0, "no " + stage + " samples");
      }
      assertEquals(records, registry.get("odin.ingest.stage").tag("stage", "fetch").timer().count(),
        "fetch is recorded once per record");
    }
  }

  @Test
  void poisonRecordsAreSkippedCountedAndCopiedToTheDeadLetterTopic() throws Exception {
    String topic = "poison";
    String dlq = "poison-dlq";
    broker.createTopic(topic, 1);
    broker.createTopic(dlq, 1);
    try (TestNode node = node(topic, 1, new JsonObject().put("kafka.deadLetterTopic", dlq).put("dispatch.maxEnvelopeBytes", 1024));
         WsClients clients = new WsClients(node.wsPort)) {
      Conn c = clients.connect("victim");
      Conn bystander = clients.connect("bystander");
      awaitAssigned(node, 1);
      send(topic, "victim", "{\"type\":\"t\",\"data\":{\"n\":1}}");
      // no key, no token (a typo of it), no broadcast: no target, never a broadcast
      send(topic, null, "{\"type\":\"t\",\"tokens\":[\"victim\"],\"data\":{\"n\":-3}}");
      send(topic, "victim", "this is not json");
      send(topic, "victim", "[1,2,3]");
      send(topic, "victim", "{\"data\":{\"n\":-1}}");
      send(topic, "bad token!", "{\"type\":\"t\",\"data\":{\"n\":-2}}");
      send(topic, "victim", "{\"type\":\"t\",\"data\":\"" + "x".repeat(2000) + "\"}");
      send(topic, "victim", "{\"type\":\"t\",\"data\":{\"n\":2}}");
      producer.flush();
      await().atMost(Duration.ofSeconds(60)).until(() -> c.frames.size() >= 2);
      assertEquals(1, data(c, 0).getInteger("n"));
      assertEquals(2, data(c, 1).getInteger("n"));
      // the partition is in order: the no-target record was handled before n=2 reached the victim
      assertEquals(List.of(), bystander.frames);
      var registry = node.node().metrics().registry();
      await().atMost(Duration.ofSeconds(10)).until(() ->
        registry.counter("odin.kafka.bad.records", "reason", "not_json").count() == 1
          && registry.counter("odin.kafka.bad.records", "reason", "not_object").count() == 1
          && registry.counter("odin.kafka.bad.records", "reason", "no_type").count() == 1
          && registry.counter("odin.kafka.bad.records", "reason", "bad_token").count() == 1
          && registry.counter("odin.kafka.bad.records", "reason", "oversized").count() == 1
          && registry.counter("odin.kafka.bad.records", "reason", "no_target").count() == 1);
      // the six bad records are in the dead-letter topic with the reason
      Map<String, Integer> reasons = new HashMap<>();
      try (KafkaConsumer<String, String> reader = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader",
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer())) {
        reader.subscribe(List.of(dlq));
        long deadline = System.currentTimeMillis() + 30_000;
        while (reasons.values().stream().mapToInt(Integer::intValue).sum() < 6 && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : reader.poll(Duration.ofMillis(500))) {
            reasons.merge(new String(r.headers().lastHeader("odin-error").value(), StandardCharsets.UTF_8), 1, Integer::sum);
          }
        }
      }
      assertEquals(Map.of("not_json", 1, "not_object", 1, "no_type", 1, "bad_token", 1, "oversized", 1, "no_target", 1), reasons);
    }
  }

  /**
   * Issue 33: a record keyed by a token goes to that token only, even when its type (from the envelope or the
   * type header) or its channel would broadcast; "broadcast": true with a token is a bad record; "broadcast": true
   * is a broadcast whatever the key.
   */
  @Test
  void aRecordThatNamesATokenIsNeverWidenedToEveryone() throws Exception {
    String topic = "widened";
    broker.createTopic(topic, 1);
    try (TestNode node = node(topic, 1, null); WsClients clients = new WsClients(node.wsPort)) {
      Conn alice = clients.connect("alice");
      Conn bob = clients.connect("bob");
      awaitAssigned(node, 1);
      send(topic, "alice", "{\"type\":\"system-announcement\",\"data\":{\"n\":1}}");
      ProducerRecord<String, String> typedByHeader = new ProducerRecord<>(topic, "alice", "{\"data\":{\"n\":2}}");
      typedByHeader.headers().add("type", "maintenance-notify".getBytes(StandardCharsets.UTF_8));
      producer.send(typedByHeader);
      send(topic, null, "{\"type\":\"t\",\"channel\":\"global\",\"token\":\"alice\",\"data\":{\"n\":3}}");
      send(topic, "alice", "{\"type\":\"t\",\"broadcast\":true,\"token\":\"alice\",\"data\":{\"n\":-1}}");
      send(topic, "a-partition-key", "{\"type\":\"news\",\"broadcast\":true,\"data\":{\"n\":4}}");
      producer.flush();
      await().atMost(Duration.ofSeconds(60)).until(() -> alice.frames.size() >= 4 && bob.frames.size() >= 1);
      List<Integer> toAlice = new ArrayList<>();
      for (int i = 0; i < alice.frames.size(); i++) {
        toAlice.add(data(alice, i).getInteger("n"));
      }
      assertEquals(List.of(1, 2, 3, 4), toAlice);
      // one partition, in order: bob's only frame is the broadcast sent last
      assertEquals(1, bob.frames.size(), "bob got " + bob.frames);
      assertEquals(4, data(bob, 0).getInteger("n"));
      var registry = node.node().metrics().registry();
      await().atMost(Duration.ofSeconds(10)).until(() ->
        registry.counter("odin.kafka.bad.records", "reason", "conflicting_target").count() == 1);
    }
  }

  @Test
  void aMissingTopicIsReportedAndConsumedOnceCreated() throws Exception {
    String topic = "created-late";
    try (TestNode node = node(topic, 1, null); WsClients clients = new WsClients(node.wsPort)) {
      Conn c = clients.connect("late");
      await().atMost(Duration.ofSeconds(30)).until(() -> missingTopics(node).contains(topic));
      broker.createTopic(topic, 1);
      await().atMost(Duration.ofSeconds(30)).until(() -> missingTopics(node).isEmpty());
      awaitAssigned(node, 1);
      send(topic, "late", "{\"type\":\"t\",\"data\":{\"n\":1}}");
      producer.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> c.frames.size() >= 1);
      assertEquals(1, data(c, 0).getInteger("n"));
    }
  }

  private static List<Object> missingTopics(TestNode node) {
    return node.node().dependencies().get("kafka-0").get().getJsonArray("missingTopics").getList();
  }

  @Test
  void typeFromHeaderAndTokenFromKey() throws Exception {
    String topic = "headers";
    broker.createTopic(topic, 1);
    try (TestNode node = node(topic, 1, null); WsClients clients = new WsClients(node.wsPort)) {
      Conn c = clients.connect("keyed");
      awaitAssigned(node, 1);
      ProducerRecord<String, String> r = new ProducerRecord<>(topic, "keyed", "{\"data\":{\"via\":\"header\"}}");
      r.headers().add("type", "from-header".getBytes(StandardCharsets.UTF_8));
      producer.send(r);
      producer.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> c.frames.size() >= 1);
      assertEquals("from-header", c.messages().get(0).getString("type"));
      assertEquals("header", data(c, 0).getString("via"));
    }
  }

  @Test
  void twoConsumersShareThePartitionsAndEachRecordIsHandledOnce() throws Exception {
    String topic = "shared";
    broker.createTopic(topic, 4);
    try (TestNode node = node(topic, 2, null); WsClients clients = new WsClients(node.wsPort)) {
      List<Conn> conns = clients.connectAll(List.of("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"));
      awaitAssigned(node, 2);
      Set<Object> a = new HashSet<>(node.node().dependencies().get("kafka-0").get().getJsonArray("assigned").getList());
      Set<Object> b = new HashSet<>(node.node().dependencies().get("kafka-1").get().getJsonArray("assigned").getList());
      assertEquals(4, a.size() + b.size());
      a.retainAll(b);
      assertTrue(a.isEmpty(), "a partition is read by one consumer only");
      for (int n = 0; n < 2000; n++) {
        send(topic, "s" + (n % 8), new JsonObject().put("type", "t").put("data", new JsonObject().put("n", n)).encode());
      }
      producer.flush();
      await().atMost(Duration.ofSeconds(60)).until(() -> conns.stream().mapToInt(c -> c.frames.size()).sum() >= 2000);
      for (Conn c : conns) {
        assertEquals(250, c.frames.size(), c.token);
      }
    }
  }

  @Test
  void brokerDownAtStartAndMidStreamNothingCrashesAndEveryRecordArrives() throws Exception {
    try (KafkaBroker own = KafkaBroker.create()) {
      String topic = "outage";
      // the node starts while Kafka is down and serves WebSockets and the publish API anyway
      try (TestNode node = TestNode.start(2, new JsonObject()
             .put("kafka.bootstrapServers", own.bootstrapServers())
             .put("kafka.topics", new JsonArray().add(topic))
             .put("kafka.autoOffsetReset", "earliest")
             .put("kafka.reconnectBackoffMaxMs", 500));
           WsClients clients = new WsClients(node.wsPort);
           Publisher api = new Publisher(node.httpPort)) {
        Conn c = clients.connect("stayer");
        assertEquals(202, api.post("{\"type\":\"t\",\"token\":\"stayer\",\"data\":{\"via\":\"http\"}}").status);
        await().atMost(Duration.ofSeconds(10)).until(() -> c.frames.size() == 1);
        await().atMost(Duration.ofSeconds(20)).until(() -> "down".equals(kafkaStatus(api)));

        own.start();
        own.createTopic(topic, 2);
        await().atMost(Duration.ofSeconds(60)).until(() -> "up".equals(kafkaStatus(api)));
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, own.bootstrapServers(),
          ProducerConfig.ACKS_CONFIG, "all",
          ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000,
          ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
          ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500), new StringSerializer(), new StringSerializer())) {
          for (int n = 0; n < 2000; n++) {
            p.send(new ProducerRecord<>(topic, "stayer", new JsonObject().put("type", "t").put("data", new JsonObject().put("n", n)).encode()));
          }
          p.flush();
          // mid-stream: the broker goes away while the node consumes, and comes back
          await().atMost(Duration.ofSeconds(60)).until(() -> c.frames.size() > 1);
          own.stop();
          await().atMost(Duration.ofSeconds(30)).until(() -> "down".equals(kafkaStatus(api)));
          own.start();
          for (int n = 2000; n < 4000; n++) {
            p.send(new ProducerRecord<>(topic, "stayer", new JsonObject().put("type", "t").put("data", new JsonObject().put("n", n)).encode()));
          }
          p.flush();
        }
        await().atMost(Duration.ofSeconds(120)).until(() -> distinct(c).size() == 4000);
        int duplicates = c.frames.size() - 1 - 4000;
        System.out.println("broker restart: 4000 records, " + duplicates + " delivered twice (at-least-once)");
        assertTrue(duplicates >= 0);
        assertTrue(node.vertx.deploymentIDs().size() > 3, "no verticle died");
      }
    }
  }

  private static String kafkaStatus(Publisher api) {
    return api.get("/health").json().getJsonObject("dependencies").getJsonObject("kafka-0").getString("status");
  }

  private static Set<Integer> distinct(Conn c) {
    Set<Integer> out = new HashSet<>();
    for (JsonObject m : c.messages()) {
      Integer n = m.getJsonObject("data").getInteger("n");
      if (n != null) {
        out.add(n);
      }
    }
    return out;
  }
}
