package io.odin.ws.dispatch;

import io.odin.ws.node.DispatchControl;
import io.odin.ws.node.DispatchSetting;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.registry.ShardDirectory;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The path choice of a rollout and how settings supersede each other: plain classes, no Vert.x. */
class DispatchSettingTest {

  static DispatchSetting targeted(int percent) {
    return DispatchSetting.fromConfig("targeted", percent);
  }

  static List<String> tokens(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add("user-" + i);
    }
    return out;
  }

  static long targetedShare(DispatchSetting s, List<String> tokens) {
    return tokens.stream().filter(t -> s.pathOf(new String[] {t}) == DispatchPath.TARGETED).count();
  }

  @Test
  void bucketIsStableAndSpreadsSimilarTokensEvenly() {
    // fixed values: the same on every node, every JVM, every run (String.hashCode is specified)
    assertEquals(DispatchSetting.bucket("user-42"), DispatchSetting.bucket(new String("user-42".toCharArray())));
    int[] perBucket = new int[100];
    for (String t : tokens(100_000)) {
      perBucket[DispatchSetting.bucket(t)]++;
    }
    for (int b = 0; b < 100; b++) {
      assertTrue(perBucket[b] > 850 && perBucket[b] < 1150, "bucket " + b + " holds " + perBucket[b]);
    }
  }

  @Test
  void percentageSelectsThatShareOfTokens() {
    List<String> tokens = tokens(20_000);
    assertEquals(0, targetedShare(targeted(0), tokens));
    assertEquals(20_000, targetedShare(targeted(100), tokens));
    long ten = targetedShare(targeted(10), tokens);
    assertTrue(ten > 1_800 && ten < 2_200, "10% of 20,000 tokens: " + ten);
    long half = targetedShare(targeted(50), tokens);
    assertTrue(half > 9_600 && half < 10_400, "50% of 20,000 tokens: " + half);
  }

  @Test
  void raisingThePercentageOnlyAddsTokens() {
    for (String t : tokens(5_000)) {
      boolean before = false;
      for (int p = 0; p <= 100; p += 5) {
        boolean now = targeted(p).pathOf(new String[] {t}) == DispatchPath.TARGETED;
        assertTrue(now || !before, t + " left the targeted path when the percentage rose to " + p);
        before = now;
      }
    }
  }

  @Test
  void broadcastModeSendsEveryTokenOnTheBroadcastPath() {
    DispatchSetting s = new DispatchSetting("broadcast", 100, 1, "n1");
    assertEquals(0, targetedShare(s, tokens(1_000)));
    assertEquals(0, s.effectivePercent());
  }

  @Test
  void aMultiTokenMessageIsTargetedOnlyWhenAllItsTokensAre() {
    DispatchSetting s = targeted(50);
    String in = tokens(100).stream().filter(t -> DispatchSetting.bucket(t) < 50).findFirst().orElseThrow();
    String in2 = tokens(100).stream().filter(t -> DispatchSetting.bucket(t) < 50 && !t.equals(in)).findFirst().orElseThrow();
    String out = tokens(100).stream().filter(t -> DispatchSetting.bucket(t) >= 50).findFirst().orElseThrow();
    assertEquals(DispatchPath.TARGETED, s.pathOf(new String[] {in, in2}));
    assertEquals(DispatchPath.BROADCAST, s.pathOf(new String[] {in, out}));
    assertEquals(DispatchPath.BROADCAST, s.pathOf(new String[] {out, in}));
  }

  @Test
  void aChangeKeepsWhatItLeavesOutAndNamesTheFieldItRefuses() {
    DispatchSetting base = targeted(100);
    DispatchSetting ten = base.change(new JsonObject().put("targetedPercent", 10), "n2");
    assertEquals("targeted", ten.mode());
    assertEquals(10, ten.targetedPercent());
    assertEquals(1, ten.version());
    DispatchSetting bc = ten.change(new JsonObject().put("mode", "broadcast"), "n1");
    assertEquals("broadcast", bc.mode());
    assertEquals(10, bc.targetedPercent());
    assertEquals(2, bc.version());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> base.change(new JsonObject().put("targetedPercent", 101), "n"))
      .getMessage().startsWith("targetedPercent:"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> base.change(new JsonObject().put("targetedPercent", 1.5), "n"))
      .getMessage().startsWith("targetedPercent:"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> base.change(new JsonObject().put("mode", "canary"), "n"))
      .getMessage().startsWith("mode:"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> base.change(new JsonObject().put("percent", 5), "n"))
      .getMessage().startsWith("percent:"));
    assertThrows(IllegalArgumentException.class, () -> base.change(new JsonObject(), "n"));
    assertThrows(IllegalArgumentException.class, () -> base.change(null, "n"));
  }

  @Test
  void theNewestSettingWinsEverywhereWhateverTheOrderOfArrival() {
    DispatchSetting configured = targeted(100);
    DispatchSetting a = configured.change(new JsonObject().put("targetedPercent", 10), "node-a");
    DispatchSetting b = configured.change(new JsonObject().put("targetedPercent", 50), "node-b");
    DispatchSetting later = a.change(new JsonObject().put("targetedPercent", 0), "node-a");
    for (List<DispatchSetting> arrival : List.of(List.of(a, b, later), List.of(later, b, a), List.of(b, later, a))) {
      DispatchControl control = new DispatchControl(configured);
      arrival.forEach(control::offer);
      assertSame(later, control.current(), "arrival " + arrival);
    }
    // concurrent changes with the same version: the node id decides, the same way on every node
    DispatchControl one = new DispatchControl(configured);
    one.offer(a);
    one.offer(b);
    DispatchControl two = new DispatchControl(configured);
    two.offer(b);
    two.offer(a);
    assertEquals(one.current(), two.current());
    assertEquals(b, one.current());
    // the configured setting of a node that joins never overrides a change made in the cluster
    assertFalse(DispatchSetting.fromConfig("broadcast", 0).supersedes(a));
    assertEquals(a, DispatchSetting.fromJson(a.toJson()));
  }

  // ----------------------------------------------------------------- the planner under a setting

  final ShardDirectory directory = new ShardDirectory("n1");

  {
    directory.add("s0");
    directory.add("s1");
    directory.add("s2");
  }

  static Envelope message(String... tokens) {
    return new Envelope("t", tokens, null, new byte[0], false, 0);
  }

  @Test
  void theBroadcastPathGoesToEveryShardWithoutALookup() {
    DispatchSetting none = targeted(0);
    Envelope e = message("user-1");
    assertTrue(RoutingPlanner.tokensToLookUp(List.of(e), none).isEmpty(), "nothing to look up");
    RoutingPlan plan = RoutingPlanner.plan(List.of(e), null, directory, none);
    assertEquals(Set.of("s0", "s1", "s2"), plan.byShard().keySet());
    assertEquals(1, plan.filtered());
    assertEquals(0, plan.fallback());
    assertEquals(DispatchPath.BROADCAST, e.path());
  }

  @Test
  void aBatchSplitsByPathAndKeepsOneOrderPerShard() {
    DispatchSetting half = targeted(50);
    String in = tokens(100).stream().filter(t -> DispatchSetting.bucket(t) < 50).findFirst().orElseThrow();
    String out = tokens(100).stream().filter(t -> DispatchSetting.bucket(t) >= 50).findFirst().orElseThrow();
    Envelope a = message(in);
    Envelope b = message(out);
    Envelope c = message(in);
    Envelope all = new Envelope("news", null, null, new byte[0], true, 0);
    assertEquals(Set.of(in), RoutingPlanner.tokensToLookUp(List.of(a, b, c, all), half));
    RegistryLookup lookup = new RegistryLookup(Map.of(in, List.of("s1")), true);
    RoutingPlan plan = RoutingPlanner.plan(List.of(a, b, c, all), lookup, directory, half);
    assertEquals(List.of(a, b, c, all), plan.byShard().get("s1"), "one stream per shard, in batch order");
    assertEquals(List.of(b, all), plan.byShard().get("s0"));
    assertEquals(2, plan.targeted());
    assertEquals(1, plan.filtered());
    assertEquals(1, plan.broadcast());
    assertEquals(DispatchPath.TARGETED, a.path());
    assertEquals(DispatchPath.BROADCAST, b.path());
    assertNull(all.path(), "broadcast messages have no path");
  }

  @Test
  void offlineTokensOfACompleteLookupGoNowhereButFallBackWhenTheRegistryCannotSay() {
    DispatchSetting all = targeted(100);
    Envelope offline = message("nobody");
    RoutingPlan complete = RoutingPlanner.plan(List.of(offline), new RegistryLookup(Map.of(), true), directory, all);
    assertEquals(1, complete.undeliverable());
    assertTrue(complete.byShard().isEmpty(), "sent nowhere");
    assertEquals(0, complete.fanout()[0]);
    RoutingPlan failed = RoutingPlanner.plan(List.of(offline), null, directory, all);
    assertEquals(1, failed.fallback(), "Redis error, timeout, open breaker, refill window: every shard");
    assertEquals(3, failed.fanout()[0]);
    // another node announced that its connections may be missing from the registry (Redis unreachable there)
    directory.registryComplete("n2", false);
    RoutingPlan doubt = RoutingPlanner.plan(List.of(offline), new RegistryLookup(Map.of(), true), directory, all);
    assertEquals(1, doubt.fallback(), "an unknown token may be connected on n2: every shard");
    directory.registryComplete("n2", true);
    // one offline and one online token: only the online token's shard
    Envelope mixed = message("nobody", "user-1");
    RoutingPlan plan = RoutingPlanner.plan(List.of(mixed), new RegistryLookup(Map.of("user-1", List.of("s2")), true), directory, all);
    assertEquals(Map.of("s2", List.of(mixed)), plan.byShard());
  }
}
