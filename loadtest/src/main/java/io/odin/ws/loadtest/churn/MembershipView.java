package io.odin.ws.loadtest.churn;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one node's {@code GET /health} says about the cluster: Hazelcast's member count, and the nodes whose shards it
 * routes to ({@code dependencies.cluster.nodes}: its shard directory, the node's own shards included). A node routes
 * to another once that node's shards are in its directory, and stops once they are out.
 *
 * @param node    the node's id
 * @param members Hazelcast's member count as the node sees it
 * @param routes  node id to its shard count, as the node's directory has them (nodes without shards left out)
 * @param kafkaPartitions the Kafka partitions its consumer holds ({@code dependencies.kafka-0.assigned}), -1 without Kafka
 */
public record MembershipView(String node, int members, Map<String, Integer> routes, int kafkaPartitions) {

  /** Reads a /health body; null when it is not one of a clustered node. */
  public static MembershipView parse(String body) {
    JsonObject health;
    try {
      health = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
    JsonObject deps = health.getJsonObject("dependencies");
    JsonObject cluster = deps == null ? null : deps.getJsonObject("cluster");
    if (cluster == null || cluster.getJsonObject("nodes") == null) {
      return null;
    }
    Map<String, Integer> routes = new TreeMap<>();
    JsonObject nodes = cluster.getJsonObject("nodes");
    for (String n : nodes.fieldNames()) {
      JsonArray shards = nodes.getJsonArray(n);
      if (shards != null && !shards.isEmpty()) {
        routes.put(n, shards.size());
      }
    }
    JsonObject kafka = deps.getJsonObject("kafka-0");
    JsonArray assigned = kafka == null ? null : kafka.getJsonArray("assigned");
    return new MembershipView(health.getString("node"), cluster.getInteger("members", 0), routes,
      assigned == null ? -1 : assigned.size());
  }

  /** Whether this node routes to exactly the nodes of {@code live} (itself included). */
  public boolean routesExactly(Set<String> live) {
    return routes.keySet().equals(live);
  }
}
