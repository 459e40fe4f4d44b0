package io.odin.ws.bench;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Idle capacity of one node and resident memory per connection: a node in its own JVM (the launcher, defaults
 * but for ports), N real WebSocket clients from this JVM, RSS of the node before and after. Prints its figures.
 * <pre>mvn -q -B test -Dtest=IdleConnectionsBench -Dodin.bench=true -Dexcluded.test.groups=none -Dbench.connections=15000</pre>
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class IdleConnectionsBench {

  /** Heap in use right after a full GC of the node (jcmd GC.run, then the JVM's own heap metric). */
  private static long liveHeap(ChildNode node) throws Exception {
    Process gc = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
      String.valueOf(node.pid()), "GC.run").redirectErrorStream(true).start();
    gc.getInputStream().readAllBytes();
    gc.waitFor();
    String metrics = node.api().get("/metrics").body;
    long sum = 0;
    java.util.regex.Matcher m = java.util.regex.Pattern
      .compile("(?m)^jvm_memory_used_bytes\\{[^}]*area=\"heap\"[^}]*\\} ([0-9.eE+-]+)$").matcher(metrics);
    while (m.find()) {
      sum += (long) Double.parseDouble(m.group(1));
    }
    return sum;
  }

  @Test
  void residentMemoryPerIdleConnection() throws Exception {
    int n = Integer.getInteger("bench.connections", 15_000);
    String heap = System.getProperty("bench.heap", "1g");
    try (ChildNode node = ChildNode.launch("idle", 2, Map.of(), List.of("-Xmx" + heap, "-Xms" + heap, "-XX:+UseParallelGC")).awaitReady();
         WsClients clients = new WsClients(node.wsPort)) {
      long before = node.residentKiB();
      long heapBefore = liveHeap(node);
      List<String> tokens = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        tokens.add("idle-" + i);
      }
      long t0 = System.nanoTime();
      List<Conn> conns = clients.connectAll(tokens);
      double seconds = (System.nanoTime() - t0) / 1e9;
      await().atMost(Duration.ofSeconds(60)).until(() -> node.health().getInteger("connections") == n);
      long after = node.residentKiB();
      long heapAfter = liveHeap(node);
      System.out.printf("idle connections: %d held by one node (2 shards, -Xmx%s), opened in %.1f s (%.0f/s)%n",
        n, heap, seconds, n / seconds);
      System.out.printf("node RSS: %d KiB idle, %d KiB with %d connections: %.2f KiB per connection%n",
        before, after, n, (after - before) / (double) n);
      System.out.printf("live heap after full GC: %d KiB idle, %d KiB with %d connections: %.2f KiB per connection%n",
        heapBefore / 1024, heapAfter / 1024, n, (heapAfter - heapBefore) / 1024.0 / n);
      assertEquals(n, conns.size());
    }
  }
}
