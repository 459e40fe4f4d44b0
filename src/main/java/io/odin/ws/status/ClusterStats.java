package io.odin.ws.status;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The status page's seam for clustering: given this node's stats ({@link NodeStats#snapshot}), the stats of every
 * node of the cluster, this one included. A single node answers with itself; the cluster issue plugs in an
 * implementation that asks each member (e.g. a request to {@code odin.stats.<nodeId>} answered with its
 * {@link NodeStats#snapshot}) and sets it with {@link io.odin.ws.NodeContext#clusterStats(ClusterStats)}.
 * An unreachable member should appear as {@code {"node": id, "reachable": false}} rather than be left out.
 */
@FunctionalInterface
public interface ClusterStats {

  ClusterStats THIS_NODE_ONLY = self -> Future.succeededFuture(List.of(self));

  Future<List<JsonObject>> nodes(JsonObject self);
}
