package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadTestOptionsTest {

  @Test
  void durationsTakeSecondsOrAUnit() {
    assertEquals(20_000, LoadTestOptions.durationMillis("--duration", "20"));
    assertEquals(20_000, LoadTestOptions.durationMillis("--duration", "20s"));
    assertEquals(300_000, LoadTestOptions.durationMillis("--duration", "5m"));
    assertEquals(500, LoadTestOptions.durationMillis("--duration", "500ms"));
    assertEquals(1500, LoadTestOptions.durationMillis("--duration", "1.5s"));
    assertEquals(3_600_000, LoadTestOptions.durationMillis("--duration", "1h"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.durationMillis("--duration", "soon"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.durationMillis("--duration", "-3s"));
  }

  @Test
  void phasesReplaceRateAndDuration() {
    LoadTestOptions o = LoadTestOptions.parse("--phases", "2000:5s,20000:20s,40000:20s", "--publish", "kafka");
    assertEquals(List.of(new LoadTestOptions.Phase(2000, 5000), new LoadTestOptions.Phase(20000, 20_000),
      new LoadTestOptions.Phase(40000, 20_000)), o.publishPhases());
    assertEquals(45_000, o.durationMillis);
    assertEquals(40000, o.rate);
    assertEquals(1_210_000, o.publishPhases().stream().mapToLong(LoadTestOptions.Phase::messages).sum());
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--phases", "2000"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--phases", "0:5s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--phases", "2000:0s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--phases", "2000:5s", "--warmup", "5s"));
    // without --phases: one phase, the warm-up and the measured duration at --rate
    assertEquals(List.of(new LoadTestOptions.Phase(100, 40_000)),
      LoadTestOptions.parse("--rate", "100", "--warmup", "10s", "--duration", "30s").publishPhases());
  }

  @Test
  void parsesTheIssuesOptions() {
    LoadTestOptions o = LoadTestOptions.parse("--url", "ws://127.0.0.1:4001/ws", "--connections", "15000",
      "--ramp", "500", "--duration", "5m", "--token-prefix", "user-", "--connections-per-token", "3",
      "--publish", "kafka", "--kafka-bootstrap", "127.0.0.1:29092", "--topic", "push", "--rate", "20000",
      "--mix", "80:20", "--batch", "50", "--report", "out.json", "--verify-routing", "--processes", "3",
      "--source-addresses", "auto");
    assertEquals(15000, o.connections);
    assertEquals(500, o.ramp);
    assertEquals(300_000, o.durationMillis);
    assertEquals(5000, o.tokens);
    assertEquals(LoadTestOptions.PublishMode.KAFKA, o.publish);
    assertEquals("push", o.topic);
    assertEquals(20000, o.rate);
    assertEquals(80, o.mixTargeted);
    assertEquals(20, o.mixBroadcast);
    assertEquals(50, o.batch);
    assertTrue(o.verifyRouting);
    assertEquals("127.0.0.2", o.sourceAddress(0));
    assertEquals("127.0.0.4", o.sourceAddress(2));
    assertEquals("http://127.0.0.1:3004/api/publish", o.publishUri().toString());
    assertEquals(4001, o.wsPort());
  }

  @Test
  void equalsSignFormAndExplicitSourceAddresses() {
    LoadTestOptions o = LoadTestOptions.parse("--connections=10", "--processes=2",
      "--source-addresses=127.0.0.5,127.0.0.9", "--tokens=4");
    assertEquals("127.0.0.5", o.sourceAddress(0));
    assertEquals("127.0.0.9", o.sourceAddress(1));
    assertEquals(4, o.tokens);
    assertNull(LoadTestOptions.parse().sourceAddress(0));
    LoadTestOptions unbound = LoadTestOptions.parse("--connections=10", "--processes=3", "--source-addresses=none");
    assertNull(unbound.sourceAddress(0));
    assertNull(unbound.sourceAddress(2));
    assertThrows(LoadTestOptions.UsageException.class,
      () -> LoadTestOptions.parse("--processes=2", "--source-addresses=none,127.0.0.2"));
  }

  @Test
  void severalUrlsSpreadConnectionsOverNodes() {
    LoadTestOptions o = LoadTestOptions.parse("--url", "ws://127.0.0.1:4001/ws,ws://127.0.0.1:5001/push");
    assertEquals(2, o.endpoints().size());
    assertEquals(new ClientFleet.Endpoint("127.0.0.1", 5001, "/push"), o.endpoints().get(1));
    assertEquals("http://127.0.0.1:3004/api/publish", o.publishUri().toString());
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--url", "ws://a:1/ws,http://b:2/ws"));
  }

  @Test
  void reconnectsOfflineSpellsAndNodeEvents() {
    LoadTestOptions o = LoadTestOptions.parse("--reconnect-with-cursor", "--reconnect-delay", "500ms",
      "--reconnect-jitter", "2s", "--failover-url", "ws://127.0.0.1:4011/ws", "--offline", "10%:20s:4s,0.5:30s:1s",
      "--drain-node", "4242@10s", "--kill-node", "4343@25s,4444@26s", "--duration", "40s");
    assertTrue(o.reconnect);
    assertTrue(o.reconnectWithCursor);
    ClientFleet.Spec spec = o.fleetSpec(0, 10, null);
    assertEquals(new ClientFleet.Reconnect(true, true, 500, 2000), spec.reconnect());
    assertEquals(List.of(new ClientFleet.Endpoint("127.0.0.1", 4011, "/ws")), spec.failover());
    assertEquals(List.of(new LoadTestOptions.OfflineSpell(100, 20_000, 4000),
      new LoadTestOptions.OfflineSpell(500, 30_000, 1000)), o.offline);
    assertEquals(List.of(new LoadTestOptions.NodeEvent(LoadTestOptions.NodeEvent.Kind.DRAIN, 4242, 10_000),
      new LoadTestOptions.NodeEvent(LoadTestOptions.NodeEvent.Kind.KILL, 4343, 25_000),
      new LoadTestOptions.NodeEvent(LoadTestOptions.NodeEvent.Kind.KILL, 4444, 26_000)), o.nodeEvents);
    LoadTestOptions plain = LoadTestOptions.parse("--reconnect");
    assertEquals(new ClientFleet.Reconnect(true, false, 1000, 1000), plain.fleetSpec(0, 1, null).reconnect());
    assertEquals(new ClientFleet.Reconnect(false, false, 1000, 1000), LoadTestOptions.parse().fleetSpec(0, 1, null)
      .reconnect());
    assertTrue(assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--offline", "10%:5s"))
      .getMessage().contains("SHARE:AT:FOR"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--offline", "150%:5s:1s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--offline", "10%:5s:0s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--drain-node", "node-a@5s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--kill-node", "4242"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--failover-url", "http://x/ws"));
    assertTrue(assertThrows(LoadTestOptions.UsageException.class,
      () -> LoadTestOptions.parse("--drain-node", "4242@2m", "--duration", "30s")).getMessage().contains("after the run"));
  }

  @Test
  void zeroRateMeansIdleConnections() {
    assertEquals(LoadTestOptions.PublishMode.NONE, LoadTestOptions.parse("--rate", "0").publish);
  }

  @Test
  void badCombinationsAreRefusedWithAReason() {
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--mix", "80"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--mix", "0:0"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--publish", "carrier-pigeon"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--url", "http://x/ws"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--connections", "lots"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--token-prefix", "a b"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--frobnicate", "1"));
    assertThrows(LoadTestOptions.UsageException.class,
      () -> LoadTestOptions.parse("--connections", "100", "--tokens", "10", "--connections-per-token", "5"));
    assertThrows(LoadTestOptions.UsageException.class,
      () -> LoadTestOptions.parse("--processes", "3", "--source-addresses", "127.0.0.2,127.0.0.3"));
    LoadTestOptions.UsageException e = assertThrows(LoadTestOptions.UsageException.class,
      () -> LoadTestOptions.parse("--rate"));
    assertTrue(e.getMessage().contains("--rate needs a value"));
  }

  @Test
  void tokenPlanSpreadsConnectionsOverTokens() {
    TokenPlan p = LoadTestOptions.parse("--connections", "10", "--tokens", "4").tokenPlan();
    assertEquals(3, p.connectionsOf(0));
    assertEquals(3, p.connectionsOf(1));
    assertEquals(2, p.connectionsOf(2));
    assertEquals(2, p.connectionsOf(3));
    assertEquals(1, p.tokenOf(5));
    assertEquals("lt-3", p.name(3));
    int sum = 0;
    for (int t = 0; t < p.tokenCount(); t++) {
      sum += p.connectionsOf(t);
    }
    assertEquals(10, sum);
  }

  @Test
  void churnStormsAndWindows() {
    LoadTestOptions o = LoadTestOptions.parse("--connections", "17000", "--churn", "1%", "--storm", "15000:30s,50%:40s:2s",
      "--window", "5m", "--duration", "60s");
    assertEquals(new LoadTestOptions.Churn(10, 2000), o.churn);
    assertEquals(882, o.storms.get(0).permille(17000));
    assertEquals(1000, o.storms.get(0).spreadMillis());
    assertEquals(500, o.storms.get(1).permille(17000));
    assertEquals(40_000, o.storms.get(1).atMillis());
    assertEquals(2000, o.storms.get(1).spreadMillis());
    assertEquals(300_000, o.windowMillis);
    assertEquals(new LoadTestOptions.Churn(5, 500), LoadTestOptions.parse("--churn", "0.5%:500ms").churn);
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--churn", "0%"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--churn", "1%:2s:3s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--storm", "100"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--storm", "100:90s", "--duration", "30s"));
    assertThrows(LoadTestOptions.UsageException.class, () -> LoadTestOptions.parse("--connections", "100", "--storm", "0:1s"));
  }
}
