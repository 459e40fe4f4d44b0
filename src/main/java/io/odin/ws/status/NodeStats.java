package io.odin.ws.status;

import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.odin.ws.node.NodeContext;
import io.odin.ws.node.ShardSummary;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DispatchType;
import io.odin.ws.metrics.GatewayMetrics.DropReason;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One node's numbers for the status page ({@code GET /api/stats}): gauges as they are now, counters and the
 * latency histogram as running totals. The page turns totals into rates and percentiles from the difference
 * between two polls, so the server keeps no per-viewer state and any poll interval works.
 */
public final class NodeStats {

  private NodeStats() {
  }

  public static JsonObject snapshot(NodeContext node) {
    GatewayMetrics m = node.metrics();
    ShardSummary shards = node.shardSummary();
    JsonObject dispatch = new JsonObject();
    for (DispatchType t : DispatchType.values()) {
      dispatch.put(label(t), (long) m.dispatchedCount(t));
    }
    JsonObject dropped = new JsonObject();
    for (DropReason r : DropReason.values()) {
      dropped.put(label(r), (long) m.droppedCount(r));
    }
    long disconnects = 0;
    for (GatewayMetrics.DisconnectReason r : GatewayMetrics.DisconnectReason.values()) {
      disconnects += (long) m.disconnectsCount(r);
    }
    return new JsonObject()
      .put("node", node.nodeId())
      .put("reachable", true)
      .put("time", System.currentTimeMillis())
      .put("startedAt", node.startedAtMillis())
      .put("connections", shards.connections())
      .put("shards", shards.shards())
      .put("connects", (long) m.connectsCount())
      .put("disconnects", disconnects)
      .put("dispatch", dispatch)
      .put("deliveries", (long) m.deliveredCount())
      .put("dropped", dropped)
      .put("latency", latency(m.deliveryLatency().takeSnapshot()))
      .put("rollout", rollout(node));
  }

  /** The dispatch setting in force and, per path, the totals the page compares canary (targeted) and control with. */
  static JsonObject rollout(NodeContext node) {
    GatewayMetrics m = node.metrics();
    JsonObject paths = new JsonObject();
    for (DispatchPath p : DispatchPath.values()) {
      paths.put(p.label(), new JsonObject()
        .put("messages", (long) m.pathMessagesCount(p))
        .put("deliveries", (long) m.pathDeliveredCount(p))
        .put("shardsSum", (long) m.pathFanout(p).totalAmount())
        .put("noConnection", (long) m.pathDroppedCount(p, DropReason.NO_CONNECTION))
        .put("slowClient", (long) m.pathDroppedCount(p, DropReason.SLOW_CLIENT))
        .put("latency", latency(m.pathLatency(p).takeSnapshot())));
    }
    return new JsonObject().put("setting", node.dispatchControl().current().toJson()).put("paths", paths);
  }

  /** The cumulative histogram: {@code buckets} is {@code [[upperBoundSeconds, countAtOrBelow], ...]}. */
  static JsonObject latency(HistogramSnapshot snapshot) {
    JsonArray buckets = new JsonArray();
    for (CountAtBucket b : snapshot.histogramCounts()) {
      if (!Double.isInfinite(b.bucket())) {
        buckets.add(new JsonArray().add(b.bucket(TimeUnit.SECONDS)).add((long) b.count()));
      }
    }
    return new JsonObject()
      .put("count", snapshot.count())
      .put("sumSeconds", snapshot.total(TimeUnit.SECONDS))
      .put("maxSeconds", snapshot.max(TimeUnit.SECONDS))
      .put("buckets", buckets);
  }

  private static String label(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
