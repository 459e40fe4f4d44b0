package io.odin.ws.node;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Collection;

/**
 * The node's shards as /health and /api/stats show them: the total of open connections, and each shard's
 * address and connection count ({@code [{"address": .., "connections": ..}, ...]}), read once so the two agree.
 */
public record ShardSummary(int connections, JsonArray shards) {

  public static ShardSummary of(Collection<NodeContext.ShardStatus> statuses) {
    JsonArray shards = new JsonArray();
    int total = 0;
    for (NodeContext.ShardStatus s : statuses) {
      int n = s.connections();
      total += n;
      shards.add(new JsonObject().put("address", s.address()).put("connections", n));
    }
    return new ShardSummary(total, shards);
  }
}
