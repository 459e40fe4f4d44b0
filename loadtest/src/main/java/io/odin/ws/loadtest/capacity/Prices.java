package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the plan's parts cost: Compute Engine machine types, Memorystore for Redis Cluster node types, disk and internet
 * egress, from a price file (the jar's {@code capacity/gcp-prices.json} unless {@code --prices FILE}). Read with the
 * same strictness as the figures: a bad entry names its field.
 */
public final class Prices {

  public static final String BUILT_IN = "capacity/gcp-prices.json";

  /** A machine type: its vCPUs, memory and on-demand price. */
  public record Machine(String name, int vcpus, double memoryGiB, double perHour) {
  }

  /** A Redis node type: what it may hold (writable keyspace) and its price per node-hour. */
  public record RedisNode(String name, int vcpus, double writableGiB, double perHour) {
  }

  /** One egress tier: up to {@code upToTiB} a month (null: beyond the last), at {@code perGiB}. */
  public record EgressTier(Double upToTiB, double perGiB) {
  }

  private final Map<String, Machine> machines;
  private final Map<String, RedisNode> redisNodes;
  private final List<EgressTier> egress;
  private final double diskPerGiBMonth;
  private final double hoursPerMonth;
  private final String region;
  private final String asOf;
  private final String source;
  private final String origin;

  private Prices(Map<String, Machine> machines, Map<String, RedisNode> redisNodes, List<EgressTier> egress,
                 double diskPerGiBMonth, double hoursPerMonth, String region, String asOf, String source, String origin) {
    this.machines = machines;
    this.redisNodes = redisNodes;
    this.egress = egress;
    this.diskPerGiBMonth = diskPerGiBMonth;
    this.hoursPerMonth = hoursPerMonth;
    this.region = region;
    this.asOf = asOf;
    this.source = source;
    this.origin = origin;
  }

  /** The prices shipped in the jar. */
  public static Prices builtIn() {
    try (InputStream in = Prices.class.getClassLoader().getResourceAsStream(BUILT_IN)) {
      if (in == null) {
        throw new IllegalStateException(BUILT_IN + " is missing from the class path");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "the built-in " + BUILT_IN);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Prices parse(String text, String origin) {
    JsonObject root;
    try {
      root = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new Figures.FiguresException(origin, List.of("not a JSON object: " + e.getMessage()));
    }
    List<String> problems = new ArrayList<>();
    double hours = positive(root, "hoursPerMonth", problems);
    double disk = positive(root, "diskPerGiBMonth", problems);
    Map<String, Machine> machines = new LinkedHashMap<>();
    JsonObject m = object(root, "machines", problems);
    if (m != null) {
      for (String name : m.fieldNames()) {
        JsonObject e = object(m, name, problems, "machines.");
        if (e != null) {
          machines.put(name, new Machine(name, (int) positive(e, "vcpus", problems, "machines." + name + "."),
            positive(e, "memoryGiB", problems, "machines." + name + "."), positive(e, "perHour", problems, "machines." + name + ".")));
        }
      }
    }
    Map<String, RedisNode> redis = new LinkedHashMap<>();
    JsonObject r = object(root, "redisNodes", problems);
    if (r != null) {
      for (String name : r.fieldNames()) {
        JsonObject e = object(r, name, problems, "redisNodes.");
        if (e != null) {
          redis.put(name, new RedisNode(name, (int) positive(e, "vcpus", problems, "redisNodes." + name + "."),
            positive(e, "writableGiB", problems, "redisNodes." + name + "."),
            positive(e, "perHour", problems, "redisNodes." + name + ".")));
        }
      }
    }
    List<EgressTier> tiers = new ArrayList<>();
    Object tiersValue = root.getValue("egressPerGiB");
    if (!(tiersValue instanceof JsonArray a) || a.isEmpty()) {
      problems.add("egressPerGiB: must be a list of tiers [{\"upToTiB\": N or null, \"perGiB\": PRICE}, ...]");
    } else {
      for (int i = 0; i < a.size(); i++) {
        String field = "egressPerGiB[" + i + "].";
        if (!(a.getValue(i) instanceof JsonObject t)) {
          problems.add("egressPerGiB[" + i + "]: must be an object {\"upToTiB\": N or null, \"perGiB\": PRICE}");
          continue;
        }
        Object up = t.getValue("upToTiB");
        if (up != null && !(up instanceof Number)) {
          problems.add(field + "upToTiB: must be a number of TiB per month, or null for the last tier");
        }
        boolean last = i == a.size() - 1;
        if (last != (up == null)) {
          problems.add(field + "upToTiB: " + (last ? "the last tier has no bound: null" : "only the last tier may be null"));
        }
        tiers.add(new EgressTier(up instanceof Number n ? n.doubleValue() : null, positive(t, "perGiB", problems, field)));
      }
    }
    if (!problems.isEmpty()) {
      throw new Figures.FiguresException(origin, problems);
    }
    return new Prices(machines, redis, tiers, disk, hours, root.getString("region", "?"), root.getString("asOf", "?"),
      root.getString("source", ""), origin);
  }

  private static JsonObject object(JsonObject o, String key, List<String> problems) {
    return object(o, key, problems, "");
  }

  private static JsonObject object(JsonObject o, String key, List<String> problems, String prefix) {
    Object v = o.getValue(key);
    if (!(v instanceof JsonObject j)) {
      problems.add(prefix + key + ": must be an object");
      return null;
    }
    return j;
  }

  private static double positive(JsonObject o, String key, List<String> problems) {
    return positive(o, key, problems, "");
  }

  private static double positive(JsonObject o, String key, List<String> problems, String prefix) {
    Object v = o.getValue(key);
    if (!(v instanceof Number n) || !(n.doubleValue() > 0) || !Double.isFinite(n.doubleValue())) {
      problems.add(prefix + key + ": must be a number above 0, got " + (v == null ? "nothing" : v));
      return Double.NaN;
    }
    return n.doubleValue();
  }

  /** The machine type, or an error listing the known ones. */
  public Machine machine(String name) {
    Machine m = machines.get(name);
    if (m == null) {
      throw new IllegalArgumentException("--machine: " + name + " is not in " + origin + "; known: "
        + String.join(", ", machines.keySet()) + " (add it there, or give --prices FILE)");
    }
    return m;
  }

  public RedisNode redisNode(String name) {
    RedisNode n = redisNodes.get(name);
    if (n == null) {
      throw new IllegalArgumentException("--redis-node: " + name + " is not in " + origin + "; known: "
        + String.join(", ", redisNodes.keySet()));
    }
    return n;
  }

  /** Dollars a month for {@code gib} GiB of internet egress, tier by tier. */
  public double egressPerMonth(double gib) {
    double left = gib;
    double cost = 0;
    double below = 0;
    for (EgressTier t : egress) {
      double cap = t.upToTiB() == null ? Double.POSITIVE_INFINITY : t.upToTiB() * 1024 - below;
      double in = Math.min(left, cap);
      cost += in * t.perGiB();
      left -= in;
      below += in;
      if (left <= 0) {
        break;
      }
    }
    return cost;
  }

  public double diskPerGiBMonth() {
    return diskPerGiBMonth;
  }

  public double hoursPerMonth() {
    return hoursPerMonth;
  }

  public String region() {
    return region;
  }

  public String asOf() {
    return asOf;
  }

  public String source() {
    return source;
  }

  public String origin() {
    return origin;
  }
}
