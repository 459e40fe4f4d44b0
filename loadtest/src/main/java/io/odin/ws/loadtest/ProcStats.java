package io.odin.ws.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Resident memory, CPU time and file limits of a process, from Linux's /proc. Unavailable values are -1. */
public final class ProcStats {

  /** Clock ticks per second of /proc/PID/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
  private static final int CLK_TCK = 100;

  private ProcStats() {
  }

  /** VmRSS of {@code pid} in KiB, or -1. */
  public static long rssKiB(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** User plus system CPU time of {@code pid} in milliseconds, or -1. */
  public static long cpuMillis(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // the command name may contain spaces: fields start after the last ')'
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      return ticks * 1000 / CLK_TCK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** System (kernel) CPU time of {@code pid} in milliseconds, or -1: on loopback, most of a socket write's cost. */
  public static long sysCpuMillis(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      return Long.parseLong(f[12]) * 1000 / CLK_TCK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** CPU time all cores spent busy since boot (not idle, not waiting for I/O), in milliseconds, or -1. */
  public static long machineBusyMillis() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < f.length && i <= 8; i++) {
        total += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
      return (total - idle) * 1000 / CLK_TCK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The soft limit on open files of this process, or -1. */
  public static long maxOpenFiles() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/self/limits"));
      for (String line : lines) {
        if (line.startsWith("Max open files")) {
          String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
          return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** The 1-minute load average (other work on the machine skews every figure), or NaN. */
  public static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  public static long selfPid() {
    return ProcessHandle.current().pid();
  }
}
