package io.odin.ws.node;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The status page's seam for clustering: given this node's stats (status.NodeStats' snapshot), the stats of every
 * node of the cluster, this one included. A single node answers with itself; the cluster membership plugs in an
 * implementation that asks each member (a request to {@code odin.stats.<nodeId>} answered with its snapshot) and
 * sets it with {@link NodeContext#clusterStats(ClusterStats)}. It lives beside NodeContext, which holds it, so that
 * the node's shared parts depend on neither the status page nor the cluster.
 * An unreachable member should appear as {@code {"node": id, "reachable": false}} rather than be left out.
 */
@FunctionalInterface
public interface ClusterStats {

  ClusterStats THIS_NODE_ONLY = self -> Future.succeededFuture(List.of(self));

  Future<List<JsonObject>> nodes(JsonObject self);
}
