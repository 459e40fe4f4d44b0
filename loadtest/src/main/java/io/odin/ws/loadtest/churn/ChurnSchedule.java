package io.odin.ws.loadtest.churn;

import java.util.ArrayList;
import java.util.List;

/**
 * The order of a churn run's membership changes: one node leaves, then comes back, then the next one, in turn over
 * every node (the oldest member included: it is the one that cleans a departed node's registry entries), leaving by
 * drain (SIGTERM: clients get 1001, the node leaves the cluster itself) and by SIGKILL (the cluster finds out by
 * failure detection) alternately. So the cluster holds n or n - 1 members, and every node and both ways of leaving
 * are exercised.
 */
public final class ChurnSchedule {

  public enum Kind { DRAIN, KILL, JOIN }

  /** One change: what happens to which node (its index). */
  public record Action(Kind kind, int node) {
    public String label() {
      return kind.name().toLowerCase(java.util.Locale.ROOT) + " node-" + node;
    }
  }

  private ChurnSchedule() {
  }

  /** The first {@code count} changes for a cluster of {@code nodes}. */
  public static List<Action> of(int nodes, int count) {
    if (nodes < 2) {
      throw new IllegalArgumentException("a churn needs 2 nodes at least, got " + nodes);
    }
    List<Action> out = new ArrayList<>();
    for (int i = 0; out.size() < count; i++) {
      int node = (i + 1) % nodes;
      out.add(new Action(i % 2 == 0 ? Kind.DRAIN : Kind.KILL, node));
      if (out.size() < count) {
        out.add(new Action(Kind.JOIN, node));
      }
    }
    return out;
  }
}
