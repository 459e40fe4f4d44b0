package io.odin.ws;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layering the README's architecture section describes, read from the sources: every reference from one
 * io.odin.ws package to another (imports and qualified names, comments left out) makes an edge. No package loop;
 * {@code config} and {@code protocol} depend on no other package of the gateway; the node's shared parts
 * ({@code node}) on no feature that handles messages.
 */
class PackageDependenciesTest {

  private static final Path SOURCES = Path.of("src/main/java");
  private static final String ROOT = "io.odin.ws";
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.odin\\.ws(?:\\.[a-z][a-z0-9_]*)*\\.[A-Z]\\w*");
  private static final Pattern COMMENTS = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

  /** package -> the other io.odin.ws packages it refers to, and why (file -> class). */
  static final Map<String, Set<String>> uses = new TreeMap<>();
  static final Map<String, Set<String>> why = new TreeMap<>();

  @BeforeAll
  static void readSources() throws IOException {
    try (Stream<Path> files = Files.walk(SOURCES)) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(PackageDependenciesTest::read);
    }
    assertTrue(uses.containsKey(ROOT), "no sources read from " + SOURCES.toAbsolutePath());
  }

  private static void read(Path file) {
    String pkg = SOURCES.relativize(file.getParent()).toString().replace('/', '.');
    uses.computeIfAbsent(pkg, p -> new TreeSet<>());
    String code;
    try {
      code = COMMENTS.matcher(Files.readString(file)).replaceAll("");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Matcher m = REFERENCE.matcher(code);
    while (m.find()) {
      String type = m.group();
      String target = type.substring(0, type.lastIndexOf('.'));
      if (!target.equals(pkg)) {
        uses.get(pkg).add(target);
        why.computeIfAbsent(pkg + " -> " + target, k -> new TreeSet<>()).add(file.getFileName() + ": " + type);
      }
    }
  }

  @Test
  void noPackageLoop() {
    List<String> loops = new ArrayList<>();
    for (String from : uses.keySet()) {
      for (String to : uses.get(from)) {
        List<String> back = path(to, from);
        if (back != null) {
          loops.add(from + " -> " + String.join(" -> ", back) + " (" + why.get(from + " -> " + to) + ")");
        }
      }
    }
    assertEquals(List.of(), loops);
  }

  @Test
  void configurationAndProtocolDependOnNoOtherPackage() {
    assertEquals(Set.of(), uses.get(ROOT + ".config"), String.valueOf(why));
    assertEquals(Set.of(), uses.get(ROOT + ".protocol"), String.valueOf(why));
  }

  @Test
  void nodeContextDependsOnNoFeature() {
    Set<String> allowed = Set.of(ROOT + ".config", ROOT + ".protocol", ROOT + ".metrics", ROOT + ".registry");
    Set<String> extra = new TreeSet<>(uses.get(ROOT + ".node"));
    extra.removeAll(allowed);
    assertEquals(Set.of(), extra, String.valueOf(why));
  }

  /** A path of packages from {@code from} to {@code to}, or null. */
  private static List<String> path(String from, String to) {
    Deque<List<String>> queue = new ArrayDeque<>();
    queue.add(List.of(from));
    Set<String> seen = new HashSet<>(Set.of(from));
    while (!queue.isEmpty()) {
      List<String> p = queue.poll();
      String last = p.get(p.size() - 1);
      if (last.equals(to)) {
        return p;
      }
      for (String next : uses.getOrDefault(last, Set.of())) {
        if (seen.add(next)) {
          List<String> longer = new ArrayList<>(p);
          longer.add(next);
          queue.add(longer);
        }
      }
    }
    return null;
  }
}
