package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which closes bring a client back and where, which connections an offline spell takes, and what a message's
 * {@code id} says about its stream positions.
 */
class ClientFleetTest {

  @Test
  void aClientComesBackWhenTheServerSaysSoAndTriesAnotherNodeWhenItsWentAway() {
    for (int code : new int[] {1001, 1006, 1011, 1012, 1013, 4408}) {
      assertTrue(ClientFleet.comesBackAfter(code), "comes back after " + code);
    }
    // its own fault: reconnecting would only repeat it
    for (int code : new int[] {1000, 1002, 1007, 1008, 1009, 4401}) {
      assertFalse(ClientFleet.comesBackAfter(code), "stays away after " + code);
    }
    assertTrue(ClientFleet.nodeWentAway(1001));
    assertTrue(ClientFleet.nodeWentAway(1006));
    // slow: the same node takes it back
    assertFalse(ClientFleet.nodeWentAway(1013));
  }

  @Test
  void anOfflineSpellTakesItsShareTheSameInEveryProcess() {
    int taken = 0;
    int takenByBoth = 0;
    for (int id = 0; id < 100_000; id++) {
      boolean first = ClientFleet.takenBySpell(id, 100, 0);
      assertEquals(first, ClientFleet.takenBySpell(id, 100, 0));
      taken += first ? 1 : 0;
      takenByBoth += first && ClientFleet.takenBySpell(id, 100, 1) ? 1 : 0;
    }
    assertEquals(10_000, taken, 500);
    // another spell takes other connections (independently): about a tenth of a tenth
    assertEquals(1_000, takenByBoth, 200);
    assertEquals(0, countTaken(0));
  }

  /** A message's position in its own stream is what tells a message stored twice from one delivered twice. */
  @Test
  void aCursorGivesEachStreamsPositionApart() {
    long a = positions("2vj5k1m9x.2a.9b1u4k7qz.7");
    long b = positions("2vj5k1m9x.2a.9b1u4k7qz.8");
    long c = positions("2vj5k1m9x.2b.9b1u4k7qz.7");
    assertEquals(a >>> 32, b >>> 32, "the same token position");
    assertTrue((int) a != (int) b, "another broadcast position");
    assertTrue(a >>> 32 != c >>> 32, "another token position");
    assertEquals((int) a, (int) c, "the same broadcast position");
    // another epoch, the same sequence number: another position
    assertTrue(positions("1.2a.9b1u4k7qz.7") >>> 32 != a >>> 32);
    // not a cursor of four numbers: the whole, in both
    long odd = positions("abc.def");
    assertEquals(odd >>> 32, odd & 0xffffffffL);
  }

  private static long positions(String cursor) {
    byte[] b = cursor.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    return ClientFleet.streamPositions(b, b.length);
  }

  @Test
  void aRefusalWithRetryAfterSaysWhenToComeBack() {
    io.vertx.core.MultiMap headers = io.vertx.core.MultiMap.caseInsensitiveMultiMap().add("Retry-After", "3");
    assertEquals(3000, ClientFleet.retryAfterMillis(new io.vertx.core.http.UpgradeRejectedException("503", 503, headers, null)));
    assertEquals(-1, ClientFleet.retryAfterMillis(new io.vertx.core.http.UpgradeRejectedException("503", 503,
      io.vertx.core.MultiMap.caseInsensitiveMultiMap(), null)), "a 503 without it is a failed attempt");
    assertEquals(-1, ClientFleet.retryAfterMillis(new io.vertx.core.http.UpgradeRejectedException("401", 401, headers, null)));
    assertEquals(-1, ClientFleet.retryAfterMillis(new IllegalStateException("connection refused")));
  }

  private static int countTaken(int permille) {
    int n = 0;
    for (int id = 0; id < 10_000; id++) {
      n += ClientFleet.takenBySpell(id, permille, 3) ? 1 : 0;
    }
    return n;
  }
}
