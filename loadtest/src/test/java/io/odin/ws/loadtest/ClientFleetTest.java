package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which closes bring a client back and where, and which connections an offline spell takes. */
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

  private static int countTaken(int permille) {
    int n = 0;
    for (int id = 0; id < 10_000; id++) {
      n += ClientFleet.takenBySpell(id, permille, 3) ? 1 : 0;
    }
    return n;
  }
}
