package io.odin.ws.shard;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which reconnects may have missed a message that went out unstored, and how much that remembers. */
class UnstoredWhileAwayTest {

  static final long WINDOW_MS = 10_000;

  @Test
  void aTokensReconnectWithinTheWindowMayHaveMissedItOthersNot() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 50_000);
    away.token("alice", 1_000);
    assertTrue(away.missedBy("alice", 1_000 + WINDOW_MS));
    assertFalse(away.missedBy("bob", 1_000), "only alice's stream had it");
    assertFalse(away.missedBy("alice", 1_001 + WINDOW_MS), "by then its sender raised the stream's epoch");
  }

  @Test
  void anUnstoredBroadcastConcernsEveryReconnect() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 50_000);
    away.broadcast(5_000);
    assertTrue(away.missedBy("anyone", 5_000 + WINDOW_MS));
    assertFalse(away.missedBy("anyone", 5_001 + WINDOW_MS));
  }

  @Test
  void boundedAndFailClosedWhenFull() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 3);
    for (int i = 0; i < 3; i++) {
      assertEquals(0, away.token("t" + i, 100 + i));
    }
    assertEquals(1, away.token("t3", 103), "t0 pushed out inside its window");
    assertEquals(3, away.tokens());
    assertTrue(away.missedBy("never-seen", 200), "t0 was pushed out inside its window: every reconnect until it ends");
    assertFalse(away.missedBy("never-seen", 101 + WINDOW_MS));
  }

  @Test
  void expiredTokensAreDroppedAsNewOnesCome() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 3);
    away.token("old", 0);
    away.token("new", 1 + WINDOW_MS);
    assertEquals(1, away.tokens());
    assertFalse(away.missedBy("x", 2 + WINDOW_MS), "nothing was pushed out inside its window");
  }
}
