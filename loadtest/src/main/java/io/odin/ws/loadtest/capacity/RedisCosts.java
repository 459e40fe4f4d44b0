package io.odin.ws.loadtest.capacity;

import java.util.ArrayList;
import java.util.List;

/**
 * Redis commands per gateway event, from what {@code scripts/benchmarks figures} recorded against one gateway: Redis's
 * {@code INFO all} once a second ({@link Sample}: commands run so far, memory, CPU) and the phases of the run
 * ({@link Phase}: connect N clients, publish M targeted messages, M broadcasts, hold them idle over two or more registry
 * heartbeats, drain the node so they come back on a new one).
 * <p>Heartbeats happen on their own clock: the scenario runs every phase but the idle one on a gateway whose
 * {@code registry.heartbeat} is longer than the phases (so none falls into them), and the idle phase on one with the
 * default heartbeat, whose heartbeats are the bursts of its per-second series. The sampler's own {@code INFO} calls
 * are taken out.
 */
public final class RedisCosts {

  /** One {@code INFO all}: when, commands run so far (every commandstats entry), used memory, Redis's CPU seconds. */
  public record Sample(long millis, long commands, long usedMemory, double cpuSeconds) {
  }

  /** One phase: {@code count} events (connections, messages, for idle the tokens held) between two instants. */
  public record Phase(String name, long startMillis, long endMillis, long count) {
  }

  /** What the phases cost: commands per event, bytes, and the commands Redis ran per CPU-second. */
  public record Result(double perConnect, double perTargeted, double perBroadcast, double perHeartbeatToken,
                       double perReconnect, double bytesPerConnection, double bytesPerStoredMessage,
                       double commandsPerCpuSecond, int heartbeatsSeen, List<String> notes) {
  }

  private RedisCosts() {
  }

  /** Parses the sampler's file: a line {@code @ MILLIS} before each {@code INFO all} text. */
  public static List<Sample> parseSamples(String text) {
    List<Sample> out = new ArrayList<>();
    long t = -1;
    long commands = 0;
    long memory = -1;
    double cpuUser = 0;
    double cpuSys = 0;
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("@ ")) {
        if (t >= 0) {
          out.add(new Sample(t, commands, memory, cpuUser + cpuSys));
        }
        t = Long.parseLong(line.substring(2).trim());
        commands = 0;
        memory = -1;
        cpuUser = 0;
        cpuSys = 0;
      } else if (line.startsWith("cmdstat_")) {
        int calls = line.indexOf("calls=");
        int comma = line.indexOf(',', calls);
        commands += Long.parseLong(line.substring(calls + 6, comma < 0 ? line.length() : comma));
      } else if (line.startsWith("used_memory:")) {
        memory = Long.parseLong(line.substring("used_memory:".length()));
      } else if (line.startsWith("used_cpu_user:")) {
        cpuUser = Double.parseDouble(line.substring("used_cpu_user:".length()));
      } else if (line.startsWith("used_cpu_sys:")) {
        cpuSys = Double.parseDouble(line.substring("used_cpu_sys:".length()));
      }
    }
    if (t >= 0) {
      out.add(new Sample(t, commands, memory, cpuUser + cpuSys));
    }
    return out;
  }

  /** Parses the phases file: {@code NAME START_MILLIS END_MILLIS COUNT} per line. */
  public static List<Phase> parsePhases(String text) {
    List<Phase> out = new ArrayList<>();
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] p = line.split("\\s+");
      if (p.length != 4) {
        throw new IllegalArgumentException("phases: '" + line + "' is not NAME START_MILLIS END_MILLIS COUNT");
      }
      out.add(new Phase(p[0], Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3])));
    }
    return out;
  }

  /**
   * Attributes the commands: needs phases connect, targeted, broadcast, idle and reconnect ({@code count} of idle is
   * the tokens held, of the others their events).
   */
  public static Result attribute(List<Sample> samples, List<Phase> phases) {
    List<String> notes = new ArrayList<>();
    Phase idle = phase(phases, "idle");
    long tokens = idle.count();
    // heartbeats: the bursts of the idle phase, each a run of seconds well above its quiet level
    long[] idleDeltas = deltas(samples, idle);
    double threshold = Math.max(50, 0.05 * tokens);
    int bursts = 0;
    long burstCommands = 0;
    boolean in = false;
    for (long d : idleDeltas) {
      if (d > threshold) {
        burstCommands += d;
        if (!in) {
          bursts++;
        }
        in = true;
      } else {
        in = false;
      }
    }
    if (bursts == 0) {
      throw new IllegalArgumentException("no heartbeat in the idle phase (" + (idle.endMillis() - idle.startMillis()) / 1000
        + " s): hold the connections longer than registry.heartbeat");
    }
    double perHeartbeatToken = (double) burstCommands / bursts / tokens;
    notes.add("idle: " + bursts + " heartbeats of " + burstCommands / bursts + " commands each");

    Phase connect = phase(phases, "connect");
    Phase targeted = phase(phases, "targeted");
    Phase broadcast = phase(phases, "broadcast");
    Phase reconnect = phase(phases, "reconnect");
    double perConnect = commands(samples, connect) / connect.count();
    double perTargeted = commands(samples, targeted) / targeted.count();
    double perBroadcast = commands(samples, broadcast) / broadcast.count();
    double perReconnect = commands(samples, reconnect) / reconnect.count();

    Sample c0 = before(samples, connect.startMillis());
    Sample c1 = after(samples, connect.endMillis());
    double bytesPerConnection = (double) (c1.usedMemory() - c0.usedMemory()) / connect.count();
    Sample t0 = before(samples, targeted.startMillis());
    Sample t1 = after(samples, targeted.endMillis());
    double bytesPerStored = (double) (t1.usedMemory() - t0.usedMemory()) / targeted.count();
    double cpu = 0;
    double ran = 0;
    for (Phase p : List.of(targeted, broadcast)) {
      Sample a = before(samples, p.startMillis());
      Sample b = after(samples, p.endMillis());
      cpu += b.cpuSeconds() - a.cpuSeconds();
      ran += commands(samples, p);
    }
    double perCpuSecond = cpu > 0 ? ran / cpu : Double.NaN;
    return new Result(perConnect, perTargeted, perBroadcast, perHeartbeatToken, perReconnect, bytesPerConnection,
      bytesPerStored, perCpuSecond, bursts, notes);
  }

  /** The phase's commands, less the sampler's INFO calls. */
  private static double commands(List<Sample> samples, Phase p) {
    Sample a = before(samples, p.startMillis());
    Sample b = after(samples, p.endMillis());
    long sampler = samples.indexOf(b) - samples.indexOf(a);
    return b.commands() - a.commands() - sampler;
  }

  /** Per-second commands within the phase, each less the sampler's own INFO call. */
  private static long[] deltas(List<Sample> samples, Phase p) {
    List<Long> out = new ArrayList<>();
    Sample prev = before(samples, p.startMillis());
    for (Sample s : samples) {
      if (s.millis() <= prev.millis()) {
        continue;
      }
      out.add(s.commands() - prev.commands() - 1);
      prev = s;
      if (s.millis() >= p.endMillis()) {
        break;
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  private static Sample before(List<Sample> samples, long millis) {
    Sample best = null;
    for (Sample s : samples) {
      if (s.millis() <= millis) {
        best = s;
      }
    }
    if (best == null) {
      throw new IllegalArgumentException("no Redis sample before " + millis + ": start the sampler before the phases");
    }
    return best;
  }

  private static Sample after(List<Sample> samples, long millis) {
    for (Sample s : samples) {
      if (s.millis() >= millis) {
        return s;
      }
    }
    throw new IllegalArgumentException("no Redis sample after " + millis + ": stop the sampler after the phases");
  }

  private static Phase phase(List<Phase> phases, String name) {
    for (Phase p : phases) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    throw new IllegalArgumentException("phases: no phase " + name);
  }
}
