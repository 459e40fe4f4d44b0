package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When the tool stops waiting for deliveries after publishing. After a disruption it waits for every connection to
 * be back: a storm's stragglers are still owed their replays and live messages, and a count reached without them
 * (the reconnected ones' deliveries already add up to the expected count of the ones open) ended the drain early and
 * reported their late messages as missing.
 */
class DrainTest {

  private static FleetStats stats(long opened, long closed, long reopened, long received) {
    FleetStats t = new FleetStats();
    t.opened = opened;
    t.closed = closed;
    t.reopened = reopened;
    t.received = received;
    return t;
  }

  @Test
  void withoutDisruptionEveryExpectedDeliveryOrAQuietSpellEndsIt() {
    assertTrue(LoadTest.drained(stats(100, 0, 0, 5000), 5000, 0, 0, true));
    assertFalse(LoadTest.drained(stats(100, 0, 0, 4999), 5000, 0, 0, true));
    assertTrue(LoadTest.drained(stats(100, 0, 0, 4999), 5000, 0, LoadTest.QUIET_NANOS + 1, true));
  }

  @Test
  void afterADisruptionItWaitsUntilEveryConnectionIsBack() {
    // 15,000 drained, 9,466 back: their deliveries reach the count, the others' are still on their way
    assertFalse(LoadTest.drained(stats(15_000, 15_000, 9_466, 150_000), 142_398, 15_000, 0, true));
    assertFalse(LoadTest.drained(stats(15_000, 15_000, 9_466, 150_000), 142_398, 15_000, LoadTest.QUIET_NANOS + 1, true));
    assertTrue(LoadTest.drained(stats(15_000, 15_000, 15_000, 150_000), 142_398, 15_000, 0, true));
    assertTrue(LoadTest.drained(stats(15_000, 15_000, 15_000, 100_000), 142_398, 15_000, LoadTest.QUIET_NANOS + 1, true));
  }

  @Test
  void throughKafkaRedeliveriesReachingTheCountDoNotEndItOnlyAQuietSpellDoes() {
    // 2,000 back after node kills; Kafka's redeliveries took the count past what is owed while the last broadcast
    // was still on its way
    assertFalse(LoadTest.drained(stats(2_000, 13_000, 13_000, 1_408_012), 1_385_340, 2_000, 0, false));
    assertFalse(LoadTest.drained(stats(2_000, 13_000, 13_000, 1_408_012), 1_385_340, 2_000, LoadTest.QUIET_NANOS, false));
    assertTrue(LoadTest.drained(stats(2_000, 13_000, 13_000, 1_408_012), 1_385_340, 2_000, LoadTest.QUIET_NANOS + 1, false));
  }
}
