package io.odin.ws.api;

import io.odin.ws.dispatch.RoutingPlan;
import io.odin.ws.dispatch.RoutingPlanner;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.registry.ShardDirectory;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublishCoalescerTest {

  private final ShardDirectory directory = new ShardDirectory("n1");
  /** "on" is connected on s0; "off" is known to nobody (offline). */
  private final RegistryLookup lookup = new RegistryLookup(Map.of("on", List.of("s0")), true);
  private final List<List<Envelope>> dispatched = new ArrayList<>();
  private final List<Promise<RoutingPlan>> plans = new ArrayList<>();
  private final ArrayDeque<Runnable> endOfTurn = new ArrayDeque<>();

  @BeforeEach
  void shards() {
    directory.add("s0");
    directory.add("s1");
  }

  private PublishCoalescer coalescer(int maxBatch) {
    return new PublishCoalescer(batch -> {
      dispatched.add(batch);
      Promise<RoutingPlan> p = Promise.promise();
      plans.add(p);
      return p.future();
    }, endOfTurn::add, maxBatch);
  }

  private void endTurn() {
    while (!endOfTurn.isEmpty()) {
      endOfTurn.poll().run();
    }
  }

  private void answerAll() {
    for (int i = 0; i < plans.size(); i++) {
      if (!plans.get(i).future().isComplete()) {
        plans.get(i).complete(RoutingPlanner.plan(dispatched.get(i), lookup, directory));
      }
    }
  }

  private static Envelope to(String token) {
    return new Envelope("t", new String[] {token}, null, new byte[0], false, 0);
  }

  private static Envelope everyone() {
    return new Envelope("b", null, null, new byte[0], true, 0);
  }

  @Test
  void requestsOfOneTurnAreOneBatchAndEachGetsItsOwnCounts() {
    PublishCoalescer c = coalescer(1000);
    Future<PublishCoalescer.Share> first = c.submit(List.of(to("on"), to("off")));
    Future<PublishCoalescer.Share> second = c.submit(List.of(everyone()));
    Future<PublishCoalescer.Share> third = c.submit(List.of(to("on")));
    assertTrue(dispatched.isEmpty(), "nothing is handed over before the turn ends");
    endTurn();
    assertEquals(1, dispatched.size());
    assertEquals(4, dispatched.get(0).size());
    assertFalse(first.isComplete(), "answered only once the batch reached the shards");
    answerAll();
    assertEquals(1, first.result().count(RoutingPlan.Route.TARGETED));
    assertEquals(1, first.result().count(RoutingPlan.Route.UNDELIVERABLE));
    assertEquals(0, first.result().count(RoutingPlan.Route.BROADCAST));
    assertEquals(1, second.result().count(RoutingPlan.Route.BROADCAST));
    assertEquals(0, second.result().count(RoutingPlan.Route.TARGETED));
    assertEquals(1, third.result().count(RoutingPlan.Route.TARGETED));
    assertSame(first.result().plan(), third.result().plan());
  }

  @Test
  void aFullBatchIsHandedOverAtOnceAndAnOversizedRequestGoesAlone() {
    PublishCoalescer c = coalescer(3);
    c.submit(List.of(to("on"), to("on")));
    c.submit(List.of(to("on")));
    assertEquals(1, dispatched.size(), "3 envelopes: full");
    assertEquals(0, c.gathered());
    c.submit(List.of(to("on")));
    c.submit(List.of(to("on"), to("on"), to("on"), to("on")));
    assertEquals(3, dispatched.size(), "the one gathered goes first, then the oversized request alone");
    assertEquals(1, dispatched.get(1).size());
    assertEquals(4, dispatched.get(2).size());
    endTurn();
    assertEquals(3, dispatched.size(), "nothing left to hand over at the end of the turn");
  }

  @Test
  void aFailedDispatchFailsEveryRequestOfTheBatch() {
    PublishCoalescer c = coalescer(1000);
    Future<PublishCoalescer.Share> a = c.submit(List.of(to("on")));
    Future<PublishCoalescer.Share> b = c.submit(List.of(to("off")));
    endTurn();
    plans.get(0).fail("dispatcher gone");
    assertTrue(a.failed());
    assertTrue(b.failed());
    assertEquals("dispatcher gone", b.cause().getMessage());
  }

  @Test
  void maxBatchOfOneHandsOverEveryRequestAlone() {
    PublishCoalescer c = coalescer(1);
    c.submit(List.of(to("on")));
    c.submit(List.of(to("off")));
    assertEquals(2, dispatched.size());
  }
}
