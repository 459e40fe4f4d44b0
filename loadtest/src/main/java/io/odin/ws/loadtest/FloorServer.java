package io.odin.ws.loadtest;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The floor the gateway is measured against (docs/benchmarks.md): a minimal Vert.x 5 server that does what odin-ws
 * does on one node and nothing more. WebSocket verticles on one port keep their sockets in a map by {@code ?token=};
 * a node-wide in-memory map says which verticle holds a token. {@code POST /api/publish} parses a JSON envelope or
 * array with Vert.x's own JSON, encodes each message once as {@code {"type":..,"data":..}}, and hands each verticle
 * the messages for its sockets in one task on its event loop, written with {@code writeTextMessage} ({@code "broadcast": true} goes to every socket). No
 * auth, limits, metrics, registry, cluster or Kafka: every figure of it is a floor for the gateway's.
 *
 * <pre>java -cp loadtest/target/odin-loadtest.jar io.odin.ws.loadtest.FloorServer [WS_PORT [HTTP_PORT [INSTANCES]]]</pre>
 * Defaults: 3101, 3104, and as many WebSocket verticles as the gateway's shards (one per core, at least 2).
 */
public final class FloorServer {

  private FloorServer() {
  }

  public static void main(String[] args) {
    int wsPort = args.length > 0 ? Integer.parseInt(args[0]) : 3101;
    int httpPort = args.length > 1 ? Integer.parseInt(args[1]) : 3104;
    int instances = args.length > 2 ? Integer.parseInt(args[2]) : Math.max(2, Runtime.getRuntime().availableProcessors());
    Vertx vertx = Vertx.vertx();
    Map<String, Shard> owners = new ConcurrentHashMap<>();
    List<Shard> shards = new CopyOnWriteArrayList<>();
    vertx.deployVerticle(() -> new Shard(wsPort, owners, shards), new DeploymentOptions().setInstances(instances))
      .compose(id -> vertx.deployVerticle(new Api(httpPort, owners, shards)))
      .onSuccess(id -> System.out.println("floor server: ws " + wsPort + " (" + instances + " verticles), http " + httpPort))
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
    private final Map<String, Shard> owners;
    private final List<Shard> shards;
    private final Map<String, List<ServerWebSocket>> sockets = new HashMap<>();

    Shard(int port, Map<String, Shard> owners, List<Shard> shards) {
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
      owners.put(token, this);
      ws.textMessageHandler(text -> ws.writeTextMessage("{\"type\":\"pong\"}"));
      ws.closeHandler(v -> {
        List<ServerWebSocket> list = sockets.get(token);
        if (list != null && list.remove(ws) && list.isEmpty()) {
          sockets.remove(token);
          owners.remove(token, this);
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
    private final Map<String, Shard> owners;
    private final List<Shard> shards;

    Api(int port, Map<String, Shard> owners, List<Shard> shards) {
      this.port = port;
      this.owners = owners;
      this.shards = shards;
    }

    @Override
    public Future<?> start() {
      return vertx.createHttpServer().requestHandler(req -> {
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
            route(envelopes.getJsonObject(i), perShard);
          }
          perShard.forEach((shard, batch) -> shard.context().runOnContext(v -> shard.deliver(batch)));
          req.response().setStatusCode(202).putHeader("content-type", "application/json")
            .end("{\"accepted\":" + envelopes.size() + "}");
        });
      }).listen(port);
    }

    private void route(JsonObject envelope, Map<Shard, Batch> perShard) {
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
        Shard owner = owners.get(t);
        if (owner != null) {
          add(perShard, owner, frame, new String[] {t});
        }
      }
    }

    private static void add(Map<Shard, Batch> perShard, Shard shard, String frame, String[] tokens) {
      Batch batch = perShard.computeIfAbsent(shard, s -> new Batch(new ArrayList<>(), new ArrayList<>()));
      batch.frames().add(frame);
      batch.tokens().add(tokens);
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
