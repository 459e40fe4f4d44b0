package io.odin.ws.bench;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.Ports;
import io.odin.ws.testsupport.RedisServer;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The cost of cross-node dispatch against local dispatch: two clustered nodes (child JVMs, Redis registry), all
 * clients on node B; the same targeted burst is published once through B's API (dispatch and shards on one node)
 * and once through A's (dispatch on A, one NodeBatch per batch to B's relay). Prints deliveries per second.
 * <pre>mvn -q -B test -Dtest=ClusterDispatchBench -Dodin.bench=true -Dexcluded.test.groups=none</pre>
 */
@Tag("slow")
@Tag("bench")
@EnabledIfSystemProperty(named = "odin.bench", matches = "true")
class ClusterDispatchBench {

  @Test
  void crossNodeAgainstLocalDispatch() throws Exception {
    int clients = Integer.getInteger("bench.clients", 2_000);
    int messages = Integer.getInteger("bench.messages", 100_000);
    int batch = 500;
    try (RedisServer redis = RedisServer.start()) {
      int pa = Ports.free();
      int pb = Ports.free();
      String members = "127.0.0.1:" + pa + ",127.0.0.1:" + pb;
      List<ChildNode> nodes = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Map<String, String> env = new HashMap<>();
        env.put("ODIN_CLUSTER", "true");
        env.put("ODIN_CLUSTER_PORT", String.valueOf(i == 0 ? pa : pb));
        env.put("ODIN_CLUSTER_MEMBERS", members);
        env.put("ODIN_REDIS_URL", redis.url());
        nodes.add(ChildNode.launch(i == 0 ? "a" : "b", 2, env, List.of("-Xmx1g", "-XX:+UseParallelGC")));
      }
      try (ChildNode a = nodes.get(0).awaitReady(); ChildNode b = nodes.get(1).awaitReady();
           WsClients pool = new WsClients(b.wsPort)) {
        await().atMost(Duration.ofSeconds(60)).until(() ->
          a.health().getJsonObject("dependencies").getJsonObject("cluster").getJsonObject("nodes").size() == 2);
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          tokens.add("c" + i);
        }
        List<Conn> conns = pool.connectAll(tokens);
        for (String via : List.of("local (publish on b)", "cross-node (publish on a)", "local (publish on b)", "cross-node (publish on a)")) {
          ChildNode publisher = via.startsWith("local") ? b : a;
          conns.forEach(c -> c.frames.clear());
          long t0 = System.nanoTime();
          for (int sent = 0; sent < messages; sent += batch) {
            StringBuilder body = new StringBuilder("[");
            for (int i = 0; i < batch; i++) {
              int n = sent + i;
              body.append(i == 0 ? "" : ",").append("{\"type\":\"tick\",\"token\":\"c").append(n % clients)
                .append("\",\"data\":{\"n\":").append(n).append("}}");
            }
            assertEquals(202, publisher.api().post(body.append("]").toString()).status);
          }
          await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(20))
            .until(() -> conns.stream().mapToLong(c -> c.frames.size()).sum() >= messages);
          double seconds = (System.nanoTime() - t0) / 1e9;
          System.out.printf("%-26s %d targeted messages to %d clients on b in %.2f s: %.0f deliveries/s%n",
            via, messages, clients, seconds, messages / seconds);
        }
      }
    }
  }
}
