package io.odin.ws.loadtest;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The floor the gateway is measured against (docs/benchmarks.md): a minimal Vert.x 5 server that does what odin-ws
 * does on one node and nothing more. WebSocket verticles on one port keep their sockets in a map by {@code ?token=};
 * a node-wide in-memory map says which verticles hold a token. {@code POST /api/publish} parses a JSON envelope or
 * array with Vert.x's own JSON, encodes each message once as {@code {"type":..,"data":..}}, and hands each verticle
 * the messages for its sockets in one task on its event loop, written with {@code writeTextMessage} ({@code "broadcast": true} goes to every socket). No
 * auth, limits, metrics, registry, history or cluster: every figure of it is a floor for the gateway's.
 *
 * <p>With {@code --kafka BOOTSTRAP TOPIC} it also consumes TOPIC with one plain {@link KafkaConsumer} (a consumer
 * group of its own, starting at the end of the topic, the client's default fetch settings and automatic commits):
 * its poll thread parses each record's value as an envelope, routes it by its token from the same map and hands each
 * verticle the poll's messages for it in one task, as the publish path does. The floor of odin-ws's Kafka path
 * ({@code scripts/benchmarks kafka-pair}). In that mode {@code /health} answers the assigned partitions
 * ({@code {"assigned":["TOPIC-0",...]}}), as the gateway's does, so a run can wait for the assignment.
 *
 * <pre>java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.FloorServer [WS_PORT [HTTP_PORT [INSTANCES]]] [--kafka BOOTSTRAP TOPIC]</pre>
 * Defaults: 3101, 3104, and as many WebSocket verticles as the gateway's shards (one per core, at least 2).
 */
public final class FloorServer {

  private FloorServer() {
  }

  public static void main(String[] args) {
    List<String> positional = new ArrayList<>();
    String bootstrap = null;
    String topic = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--kafka")) {
        if (i + 2 >= args.length) {
          System.err.println("floor server: --kafka takes BOOTSTRAP TOPIC");
          System.exit(2);
        }
        bootstrap = args[++i];
        topic = args[++i];
      } else {
        positional.add(args[i]);
      }
    }
    int wsPort = positional.size() > 0 ? Integer.parseInt(positional.get(0)) : 3101;
    int httpPort = positional.size() > 1 ? Integer.parseInt(positional.get(1)) : 3104;
    int instances = positional.size() > 2 ? Integer.parseInt(positional.get(2))
      : Math.max(2, Runtime.getRuntime().availableProcessors());
    Vertx vertx = Vertx.vertx();
    Map<String, Shard[]> owners = new ConcurrentHashMap<>();
    List<Shard> shards = new CopyOnWriteArrayList<>();
    KafkaIngest kafka = bootstrap == null ? null : new KafkaIngest(bootstrap, topic, owners, shards);
    String kafkaSays = kafka == null ? "" : ", kafka " + bootstrap + " topic " + topic;
    vertx.deployVerticle(() -> new Shard(wsPort, owners, shards), new DeploymentOptions().setInstances(instances))
      .compose(id -> vertx.deployVerticle(new Api(httpPort, owners, shards, kafka)))
      .onSuccess(id -> {
        if (kafka != null) {
          kafka.start();
        }
        System.out.println("floor server: ws " + wsPort + " (" + instances + " verticles), http " + httpPort + kafkaSays);
      })
      .onFailure(t -> {
        t.printStackTrace();
        System.exit(1);
      });
  }

  /** Messages for one shard: frame bytes, and the token each goes to (null: every socket). */
  private record Batch(List<String> frames, List<String[]> tokens) {
  }

  static final class Shard extends VerticleBase {
    private final int port;
    private final Map<String, Shard[]> owners;
    private final List<Shard> shards;
    private final Map<String, List<ServerWebSocket>> sockets = new HashMap<>();

    Shard(int port, Map<String, Shard[]> owners, List<Shard> shards) {
      this.port = port;
      this.owners = owners;
      this.shards = shards;
    }

    @Override
    public Future<?> start() {
      shards.add(this);
      return vertx.createHttpServer().webSocketHandler(this::open).listen(port);
    }

    Context context() {
      return context;
    }

    private void open(ServerWebSocket ws) {
      String token = ws.query() == null ? null : queryParam(ws.query(), "token");
      if (token == null) {
        ws.close((short) 1008, "token required");
        return;
      }
      sockets.computeIfAbsent(token, t -> new ArrayList<>(1)).add(ws);
      // the verticles holding a token: a token's connections may sit on several
      owners.compute(token, (t, held) -> held == null ? new Shard[] {this} : with(held, this));
      ws.textMessageHandler(text -> ws.writeTextMessage("{\"type\":\"pong\"}"));
      ws.closeHandler(v -> {
        List<ServerWebSocket> list = sockets.get(token);
        if (list != null && list.remove(ws) && list.isEmpty()) {
          sockets.remove(token);
          owners.computeIfPresent(token, (t, held) -> without(held, this));
        }
      });
    }

    void deliver(Batch batch) {
      for (int i = 0; i < batch.frames.size(); i++) {
        String frame = batch.frames.get(i);
        String[] tokens = batch.tokens.get(i);
        if (tokens == null) {
          for (List<ServerWebSocket> list : sockets.values()) {
            for (ServerWebSocket ws : list) {
              ws.writeTextMessage(frame);
            }
          }
        } else {
          for (String token : tokens) {
            List<ServerWebSocket> list = sockets.get(token);
            if (list != null) {
              for (ServerWebSocket ws : list) {
                ws.writeTextMessage(frame);
              }
            }
          }
        }
      }
    }
  }

  static final class Api extends VerticleBase {
    private final int port;
    private final Map<String, Shard[]> owners;
    private final List<Shard> shards;
    private final KafkaIngest kafka;

    Api(int port, Map<String, Shard[]> owners, List<Shard> shards, KafkaIngest kafka) {
      this.port = port;
      this.owners = owners;
      this.shards = shards;
      this.kafka = kafka;
    }

    @Override
    public Future<?> start() {
      return vertx.createHttpServer().requestHandler(req -> {
        if ("/health".equals(req.path()) && kafka != null) {
          req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("assigned", new JsonArray(new ArrayList<>(kafka.assigned()))).encode());
          return;
        }
        if (!"/api/publish".equals(req.path())) {
          req.response().setStatusCode("/health/ready".equals(req.path()) || "/health".equals(req.path()) ? 200 : 404).end();
          return;
        }
        req.body().onSuccess(body -> {
          JsonArray envelopes;
          try {
            envelopes = body.length() > 0 && body.getByte(0) == '[' ? new JsonArray(body) : new JsonArray().add(new JsonObject(body));
          } catch (RuntimeException e) {
            req.response().setStatusCode(400).end();
            return;
          }
          Map<Shard, Batch> perShard = new HashMap<>();
          for (int i = 0; i < envelopes.size(); i++) {
            route(envelopes.getJsonObject(i), owners, shards, perShard);
          }
          handOver(perShard);
          req.response().setStatusCode(202).putHeader("content-type", "application/json")
            .end("{\"accepted\":" + envelopes.size() + "}");
        });
      }).listen(port);
    }
  }

  /** Each verticle's messages of one request or poll, in one task on its event loop. */
  static void handOver(Map<Shard, Batch> perShard) {
    perShard.forEach((shard, batch) -> shard.context().runOnContext(v -> shard.deliver(batch)));
  }

  /** Adds one envelope's frame to the batch of each verticle holding one of its tokens (every verticle: broadcast). */
  static void route(JsonObject envelope, Map<String, Shard[]> owners, List<Shard> shards, Map<Shard, Batch> perShard) {
    String frame = new JsonObject().put("type", envelope.getString("type")).put("data", envelope.getValue("data")).encode();
    if (Boolean.TRUE.equals(envelope.getValue("broadcast"))) {
      for (Shard shard : shards) {
        add(perShard, shard, frame, null);
      }
      return;
    }
    Object token = envelope.getValue("token");
    List<String> tokens = new ArrayList<>();
    if (token instanceof String) {
      tokens.add((String) token);
    } else if (token instanceof JsonArray) {
      for (Object t : (JsonArray) token) {
        tokens.add(String.valueOf(t));
      }
    }
    for (String t : tokens) {
      Shard[] held = owners.get(t);
      if (held != null) {
        for (Shard owner : held) {
          add(perShard, owner, frame, new String[] {t});
        }
      }
    }
  }

  private static Shard[] with(Shard[] held, Shard shard) {
    for (Shard s : held) {
      if (s == shard) {
        return held;
      }
    }
    Shard[] out = java.util.Arrays.copyOf(held, held.length + 1);
    out[held.length] = shard;
    return out;
  }

  /** {@code held} less {@code shard}; null (no entry) when none is left. */
  private static Shard[] without(Shard[] held, Shard shard) {
    Shard[] out = java.util.Arrays.stream(held).filter(s -> s != shard).toArray(Shard[]::new);
    return out.length == 0 ? null : out;
  }

  private static void add(Map<Shard, Batch> perShard, Shard shard, String frame, String[] tokens) {
    Batch batch = perShard.computeIfAbsent(shard, s -> new Batch(new ArrayList<>(), new ArrayList<>()));
    batch.frames().add(frame);
    batch.tokens().add(tokens);
  }

  /**
   * The Kafka path of the floor: one plain consumer whose poll thread parses, routes and hands each verticle its
   * messages of the poll in one task. What odin-ws adds to it (a registry lookup and the history per batch, commits
   * after the hand-over, bounded in-flight work, metrics, dead letters) is what a pair of runs measures.
   */
  static final class KafkaIngest {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final Map<String, Shard[]> owners;
    private final List<Shard> shards;
    private final Thread thread;
    private volatile Set<String> assigned = Set.of();
    private volatile boolean running = true;

    KafkaIngest(String bootstrap, String topic, Map<String, Shard[]> owners, List<Shard> shards) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      // a group of its own per start: it reads what is produced from now on, as a fresh gateway's new group does
      p.put(ConsumerConfig.GROUP_ID_CONFIG, "odin-floor-" + System.currentTimeMillis());
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, "odin-floor");
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
      this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      this.topic = topic;
      this.owners = owners;
      this.shards = shards;
      this.thread = new Thread(this::loop, "floor-kafka");
    }

    void start() {
      thread.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        running = false;
        consumer.wakeup();
        try {
          thread.join(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }

    Set<String> assigned() {
      return assigned;
    }

    private void loop() {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          assigned = Set.of();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          Set<String> names = new TreeSet<>();
          consumer.assignment().forEach(tp -> names.add(tp.toString()));
          assigned = names;
        }
      });
      try {
        while (running) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
          if (records.isEmpty()) {
            continue;
          }
          Map<Shard, Batch> perShard = new HashMap<>();
          for (ConsumerRecord<byte[], byte[]> r : records) {
            JsonObject envelope;
            try {
              envelope = new JsonObject(Buffer.buffer(r.value()));
            } catch (RuntimeException e) {
              continue;
            }
            route(envelope, owners, shards, perShard);
          }
          handOver(perShard);
        }
      } catch (WakeupException e) {
        // stopping
      } finally {
        consumer.close(Duration.ofSeconds(2));
      }
    }
  }

  static String queryParam(String query, String name) {
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(name)) {
        return java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    return null;
  }
}
