package io.odin.ws.registry;

import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Redis Cluster's layout as one node's {@code CLUSTER NODES} tells it: the masters that serve slots, the slots each
 * serves, their replicas, and the flags the cluster gossips about each (a master marked {@code fail} is down; one a
 * node suspects, {@code fail?}, may be). Endpoints are URLs of the seed's scheme and credentials, so that a
 * connection to a discovered node authenticates and encrypts as the seed's does. A plain value: parsing is unit-tested
 * without Redis.
 */
final class ClusterTopology {

  /** One node: its endpoint (URL), its address for people (host:port), its flags. */
  record Node(String id, String endpoint, String address, boolean failed, boolean suspected, boolean connected) {

    /** ok, suspected (fail?: some node cannot reach it) or failed (the cluster agreed it is down). */
    String state() {
      return failed ? "fail" : suspected ? "suspected" : connected ? "ok" : "disconnected";
    }
  }

  /** A master that serves slots: its node, its slots as ranges, its lowest slot, its replicas. */
  record Master(Node node, List<int[]> ranges, int lowestSlot, int slotCount, List<Node> replicas) {

    String endpoint() {
      return node.endpoint();
    }

    /** The slots as "0-5460,6000" for people. */
    String slots() {
      StringBuilder sb = new StringBuilder();
      for (int[] r : ranges) {
        if (sb.length() > 0) {
          sb.append(',');
        }
        sb.append(r[0]);
        if (r[1] != r[0]) {
          sb.append('-').append(r[1]);
        }
      }
      return sb.toString();
    }
  }

  /** An endpoint without its credentials, for logs and /health. */
  static String displayed(String endpoint) {
    return endpoint.replaceAll("//[^@/]*@", "//");
  }

  private final List<Master> masters;
  private final Master[] bySlot = new Master[SlotHash.SLOTS];

  private ClusterTopology(List<Master> masters) {
    this.masters = List.copyOf(masters);
    for (Master m : masters) {
      for (int[] r : m.ranges()) {
        for (int s = r[0]; s <= r[1]; s++) {
          bySlot[s] = m;
        }
      }
    }
  }

  /** The masters that serve at least one slot, by lowest slot. */
  List<Master> masters() {
    return masters;
  }

  /** The master that serves {@code slot}, or null when no master does (the cluster has lost it). */
  Master master(int slot) {
    return bySlot[slot];
  }

  /** Slots no master serves. */
  int uncovered() {
    int n = 0;
    for (Master m : bySlot) {
      if (m == null) {
        n++;
      }
    }
    return n;
  }

  /** The same masters, endpoints and slots (flags may differ). */
  boolean sameLayout(ClusterTopology other) {
    if (other == null || other.masters.size() != masters.size()) {
      return false;
    }
    for (int s = 0; s < SlotHash.SLOTS; s++) {
      Master a = bySlot[s];
      Master b = other.bySlot[s];
      if (a == null ? b != null : b == null || !a.endpoint().equals(b.endpoint())) {
        return false;
      }
    }
    return true;
  }

  /**
   * Parses {@code CLUSTER NODES} as answered by the node at {@code queried} (a URL whose scheme and credentials every
   * endpoint gets; its host stands in for a node that does not know its own address yet).
   *
   * @throws IllegalArgumentException when the answer is not CLUSTER NODES' format
   */
  static ClusterTopology parse(String clusterNodes, String queried) {
    URI seed = URI.create(queried);
    String scheme = seed.getScheme() == null ? "redis" : seed.getScheme();
    String userInfo = seed.getRawUserInfo() == null ? "" : seed.getRawUserInfo() + "@";
    Map<String, Node> nodes = new LinkedHashMap<>();
    Map<String, String> masterOf = new LinkedHashMap<>();
    Map<String, List<int[]>> slotsOf = new LinkedHashMap<>();
    for (String line : clusterNodes.split("\n")) {
      line = line.trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(" ");
      if (f.length < 8) {
        throw new IllegalArgumentException("not a CLUSTER NODES line: " + line);
      }
      String id = f[0];
      // ip:port@cport[,hostname]: the hostname (cluster-announce-hostname) when the node has one, so that TLS can
      // verify the certificate's name
      String addr = f[1];
      String hostname = "";
      int comma = addr.indexOf(',');
      if (comma >= 0) {
        hostname = addr.substring(comma + 1);
        addr = addr.substring(0, comma);
      }
      int at = addr.indexOf('@');
      String hostPort = at >= 0 ? addr.substring(0, at) : addr;
      int colon = hostPort.lastIndexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("no host:port in CLUSTER NODES line: " + line);
      }
      String host = hostPort.substring(0, colon);
      String port = hostPort.substring(colon + 1);
      List<String> flags = List.of(f[2].split(","));
      if (flags.contains("noaddr") || flags.contains("handshake") || "0".equals(port)) {
        continue;
      }
      if (!hostname.isEmpty()) {
        host = hostname;
      } else if (host.isEmpty()) {
        host = seed.getHost();
      }
      String hostInUrl = host.contains(":") ? "[" + host + "]" : host;
      Node node = new Node(id, scheme + "://" + userInfo + hostInUrl + ":" + port, hostInUrl + ":" + port,
        flags.contains("fail"), flags.contains("fail?"), "connected".equals(f[7]));
      nodes.put(id, node);
      if (flags.contains("master")) {
        List<int[]> ranges = new ArrayList<>();
        for (int i = 8; i < f.length; i++) {
          String slot = f[i];
          if (slot.startsWith("[")) {
            // a slot being migrated or imported: still served by the node listed as its owner
            continue;
          }
          int dash = slot.indexOf('-');
          int from = Integer.parseInt(dash < 0 ? slot : slot.substring(0, dash));
          int to = dash < 0 ? from : Integer.parseInt(slot.substring(dash + 1));
          ranges.add(new int[] {from, to});
        }
        if (!ranges.isEmpty()) {
          ranges.sort(Comparator.comparingInt(r -> r[0]));
          slotsOf.put(id, ranges);
        }
      } else if (flags.contains("slave") && !"-".equals(f[3])) {
        masterOf.put(id, f[3]);
      }
    }
    List<Master> masters = new ArrayList<>();
    for (Map.Entry<String, List<int[]>> e : slotsOf.entrySet()) {
      List<Node> replicas = new ArrayList<>();
      masterOf.forEach((replica, master) -> {
        if (master.equals(e.getKey()) && nodes.containsKey(replica)) {
          replicas.add(nodes.get(replica));
        }
      });
      int count = 0;
      for (int[] r : e.getValue()) {
        count += r[1] - r[0] + 1;
      }
      masters.add(new Master(nodes.get(e.getKey()), e.getValue(), e.getValue().get(0)[0], count, replicas));
    }
    masters.sort(Comparator.comparingInt(Master::lowestSlot));
    return new ClusterTopology(masters);
  }
}
