package io.odin.ws.testsupport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.awaitility.Awaitility.await;

/**
 * A real Redis Cluster of {@code redis-server} processes on free loopback ports: three masters holding the 16384 slots
 * in three ranges, each with one replica, {@code cluster-node-timeout} short (a killed master fails over in about two
 * seconds) and {@code cluster-require-full-coverage no} (the other masters keep answering while one fails over), no
 * persistence. Tests kill masters, ask replicas to take over ({@code CLUSTER FAILOVER}), move slots
 * ({@code SETSLOT}/{@code MIGRATE}), and read each node's {@code MONITOR} and {@code INFO commandstats}.
 */
public final class RedisCluster implements AutoCloseable {

  /** Node timeout: how long a master may be silent before the others fail it over. */
  public static final int NODE_TIMEOUT_MS = 1000;

  private final List<RedisServer> nodes = new ArrayList<>();

  private RedisCluster() {
  }

  /** Starts {@code masters} masters with one replica each and waits until the cluster is ok everywhere. */
  public static RedisCluster start(int masters) {
    RedisCluster c = new RedisCluster();
    try {
      for (int i = 0; i < masters * 2; i++) {
        c.nodes.add(RedisServer.clusterNode("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", String.valueOf(NODE_TIMEOUT_MS), "--cluster-require-full-coverage", "no",
          "--cluster-replica-validity-factor", "0", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"));
      }
      RedisServer first = c.nodes.get(0);
      for (RedisServer n : c.nodes.subList(1, c.nodes.size())) {
        n.command("CLUSTER", "MEET", "127.0.0.1", String.valueOf(first.port));
      }
      int per = 16384 / masters;
      for (int m = 0; m < masters; m++) {
        int from = m * per;
        int to = m == masters - 1 ? 16383 : (m + 1) * per - 1;
        c.nodes.get(m).command("CLUSTER", "ADDSLOTSRANGE", String.valueOf(from), String.valueOf(to));
      }
      await("every node knows every other").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
        .until(() -> c.nodes.stream().allMatch(n -> {
          String nodesText = (String) n.command("CLUSTER", "NODES");
          return nodesText.lines().count() == c.nodes.size() && !nodesText.contains("handshake");
        }));
      for (int m = 0; m < masters; m++) {
        RedisServer replica = c.nodes.get(masters + m);
        String masterId = c.id(c.nodes.get(m));
        await("replica " + replica.port + " attached").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
          .ignoreExceptions().until(() -> "OK".equals(replica.command("CLUSTER", "REPLICATE", masterId)));
      }
      c.awaitOk();
      return c;
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** Waits until every running node says the cluster is ok, every slot has a master and every replica is in sync. */
  public void awaitOk() {
    await("Redis Cluster ok").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
      .until(() -> {
        for (RedisServer n : running()) {
          if (!String.valueOf(n.command("CLUSTER", "INFO")).contains("cluster_state:ok")) {
            return false;
          }
          String repl = String.valueOf(n.command("INFO", "replication"));
          if (repl.contains("role:slave") && !repl.contains("master_link_status:up")) {
            return false;
          }
        }
        return true;
      });
  }

  public List<RedisServer> nodes() {
    return nodes;
  }

  private List<RedisServer> running() {
    return nodes.stream().filter(RedisServer::isRunning).toList();
  }

  /** Seed URLs for redis.endpoints (every node). */
  public List<String> seeds() {
    return nodes.stream().map(RedisServer::url).toList();
  }

  /** The node's cluster id. */
  public String id(RedisServer node) {
    return String.valueOf(node.command("CLUSTER", "MYID"));
  }

  /** The running masters that serve slots, as a running node sees them. */
  public List<RedisServer> masters() {
    List<RedisServer> out = new ArrayList<>();
    for (String line : nodesLines()) {
      String[] f = line.split(" ");
      if (f[2].contains("master") && !f[2].contains("fail") && f.length > 8) {
        server(f[1]).filter(RedisServer::isRunning).ifPresent(out::add);
      }
    }
    return out;
  }

  /** The master that serves {@code slot}. */
  public RedisServer masterOf(int slot) {
    for (String line : nodesLines()) {
      String[] f = line.split(" ");
      if (!f[2].contains("master") || f[2].contains("fail")) {
        continue;
      }
      for (int i = 8; i < f.length; i++) {
        if (f[i].startsWith("[")) {
          continue;
        }
        String[] r = f[i].split("-");
        int from = Integer.parseInt(r[0]);
        int to = r.length > 1 ? Integer.parseInt(r[1]) : from;
        if (slot >= from && slot <= to) {
          return server(f[1]).orElseThrow();
        }
      }
    }
    throw new IllegalStateException("no master serves slot " + slot);
  }

  /** A running replica of {@code master}. */
  public Optional<RedisServer> replicaOf(RedisServer master) {
    String id = id(master);
    for (String line : nodesLines()) {
      String[] f = line.split(" ");
      if (f[2].contains("slave") && f[3].equals(id) && !f[2].contains("fail")) {
        Optional<RedisServer> s = server(f[1]).filter(RedisServer::isRunning);
        if (s.isPresent()) {
          return s;
        }
      }
    }
    return Optional.empty();
  }

  /** Slots of the running masters, as "port -> ranges" for failure messages. */
  public Map<Integer, String> layout() {
    Map<Integer, String> out = new HashMap<>();
    for (String line : nodesLines()) {
      String[] f = line.split(" ");
      if (f[2].contains("master") && f.length > 8) {
        out.put(port(f[1]), String.join(" ", List.of(f).subList(8, f.length)) + (f[2].contains("fail") ? " (fail)" : ""));
      }
    }
    return out;
  }

  private List<String> nodesLines() {
    for (RedisServer n : running()) {
      try {
        return String.valueOf(n.command("CLUSTER", "NODES")).lines().filter(l -> !l.isBlank()).toList();
      } catch (RuntimeException e) {
        // try the next node
      }
    }
    throw new IllegalStateException("no Redis Cluster node answers");
  }

  private static int port(String address) {
    String hostPort = address.split("@")[0];
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  private Optional<RedisServer> server(String address) {
    int port = port(address);
    return nodes.stream().filter(n -> n.port == port).findFirst();
  }

  /**
   * {@code CLUSTER FAILOVER} on {@code master}'s replica: the replica waits until it has every write of the master,
   * then the two swap roles. Returns the new master once the cluster agrees.
   */
  public RedisServer failover(RedisServer master) {
    RedisServer replica = replicaOf(master).orElseThrow(() -> new IllegalStateException("no replica of " + master.port));
    replica.command("CLUSTER", "FAILOVER");
    await("replica " + replica.port + " took over").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
      .ignoreExceptions().until(() -> masters().contains(replica) && !masters().contains(master));
    awaitOk();
    return replica;
  }

  /**
   * Moves {@code slot} from its master to {@code target} as {@code redis-cli --cluster reshard} does: IMPORTING on the
   * target, MIGRATING on the source, the keys moved in small MIGRATE batches, then the slot assigned to the target
   * everywhere. Returns the number of keys moved.
   */
  public int migrate(int slot, RedisServer target) {
    RedisServer source = masterOf(slot);
    if (source == target) {
      return 0;
    }
    String s = String.valueOf(slot);
    target.command("CLUSTER", "SETSLOT", s, "IMPORTING", id(source));
    source.command("CLUSTER", "SETSLOT", s, "MIGRATING", id(target));
    int moved = 0;
    while (true) {
      @SuppressWarnings("unchecked")
      List<String> keys = (List<String>) source.command("CLUSTER", "GETKEYSINSLOT", s, "10");
      if (keys.isEmpty()) {
        break;
      }
      // no REPLACE: a key the gateway wrote on the importing master before the slot was its own would fail here
      List<String> cmd = new ArrayList<>(List.of("MIGRATE", "127.0.0.1", String.valueOf(target.port), "", "0", "5000",
        "KEYS"));
      cmd.addAll(keys);
      source.command(cmd.toArray(new String[0]));
      moved += keys.size();
    }
    target.command("CLUSTER", "SETSLOT", s, "NODE", id(target));
    source.command("CLUSTER", "SETSLOT", s, "NODE", id(target));
    for (RedisServer n : masters()) {
      if (n != source && n != target) {
        n.command("CLUSTER", "SETSLOT", s, "NODE", id(target));
      }
    }
    return moved;
  }

  /** Calls of a command on every running master, since start or the last {@link #resetStats()}. */
  public Map<Integer, Long> callsPerMaster(String command) {
    Map<Integer, Long> out = new HashMap<>();
    for (RedisServer m : masters()) {
      out.put(m.port, m.calls(command));
    }
    return out;
  }

  public void resetStats() {
    running().forEach(RedisServer::resetStats);
  }

  /** Keys matching {@code pattern} on every running master. */
  public List<String> keys(String pattern) {
    List<String> out = new ArrayList<>();
    for (RedisServer m : masters()) {
      out.addAll(m.keys(pattern));
    }
    return out;
  }

  @Override
  public void close() {
    for (RedisServer n : nodes) {
      n.close();
    }
  }
}
