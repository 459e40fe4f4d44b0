package io.odin.ws.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a node's JVM holds, read from outside as an operator would (Linux {@code /proc}, the JDK's {@code jcmd}): open
 * files, threads, and the live objects after a full collection, by class. For the soak tests, which compare them
 * before and after churn.
 */
public final class JvmProbe {

  /** Live instances and bytes of one class after a full GC. */
  public record Live(long instances, long bytes) {
  }

  /** A class histogram of live objects: by class name, and the heap's total. */
  public record Histogram(Map<String, Live> byClass, long totalBytes) {

    /**
     * Classes of {@code prefixes} whose live instances grew from {@code before} by more than 50 and a tenth (pools such
     * as Netty's recyclers keep what their peak needed), with before and after counts. A leak of one object per closed
     * connection grows by thousands.
     */
    public List<String> grownSince(Histogram before, List<String> prefixes) {
      List<String> grown = new ArrayList<>();
      byClass.forEach((name, live) -> {
        if (prefixes.stream().noneMatch(name::startsWith)) {
          return;
        }
        long was = before.byClass.getOrDefault(name, new Live(0, 0)).instances();
        if (live.instances() - was > Math.max(50, was / 10)) {
          grown.add(name + ": " + was + " -> " + live.instances() + " instances");
        }
      });
      return grown;
    }
  }

  private JvmProbe() {
  }

  /** Open file descriptors (sockets included) of the process. */
  public static int openFiles(long pid) {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return (int) fds.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Threads of the process. */
  public static int threads(long pid) {
    return (int) status(pid, "Threads:");
  }

  private static long status(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no " + field + " for " + pid);
  }

  /**
   * {@code jcmd PID GC.class_histogram}: a full collection, then the live objects by class. (The JVM's own view:
   * what survives a full GC is what the process holds on to.)
   */
  public static Histogram liveObjects(long pid) {
    String out = jcmd(pid, "GC.class_histogram");
    Map<String, Live> byClass = new TreeMap<>();
    long total = -1;
    for (String line : out.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 4 && f[0].endsWith(":")) {
        // " num  #instances  #bytes  class name (module)"
        byClass.merge(f[3], new Live(Long.parseLong(f[1]), Long.parseLong(f[2])),
          (a, b) -> new Live(a.instances() + b.instances(), a.bytes() + b.bytes()));
      } else if (f.length >= 3 && f[0].equals("Total")) {
        total = Long.parseLong(f[2]);
      }
    }
    if (total < 0) {
      throw new IllegalStateException("no class histogram from jcmd " + pid + ": " + out);
    }
    return new Histogram(byClass, total);
  }

  private static String jcmd(long pid, String command) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("jcmd " + pid + " " + command + " failed: " + new String(out, StandardCharsets.UTF_8));
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
