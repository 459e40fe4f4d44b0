package io.odin.ws.shard;

import io.odin.ws.history.Streams;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which reconnects may have missed a message that went out unstored, and how much that remembers. */
class UnstoredWhileAwayTest {

  static final long WINDOW_MS = 10_000;

  @Test
  void aStreamsReconnectWithinTheWindowMayHaveMissedItOthersNot() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 50_000);
    away.unstored(Streams.token("alice"), 1_000);
    away.unstored(Streams.channel("news"), 1_000);
    assertTrue(away.missed(Streams.token("alice"), 1_000 + WINDOW_MS));
    assertTrue(away.missed(Streams.channel("news"), 1_000 + WINDOW_MS));
    assertFalse(away.missed(Streams.token("bob"), 1_000), "only alice's stream had it");
    assertFalse(away.missed(Streams.channel("sport"), 1_000));
    assertFalse(away.missed(Streams.BROADCAST, 1_000));
    assertFalse(away.missed(Streams.token("alice"), 1_001 + WINDOW_MS), "by then its sender raised the stream's epoch");
  }

  @Test
  void boundedAndFailClosedWhenFull() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 3);
    for (int i = 0; i < 3; i++) {
      assertEquals(0, away.unstored("t:" + i, 100 + i));
    }
    assertEquals(1, away.unstored("t:3", 103), "t:0 pushed out inside its window");
    assertEquals(3, away.streams());
    assertTrue(away.missed("t:never-seen", 200), "t:0 was pushed out inside its window: every reconnect until it ends");
    assertFalse(away.missed("t:never-seen", 101 + WINDOW_MS));
  }

  @Test
  void expiredStreamsAreDroppedAsNewOnesCome() {
    UnstoredWhileAway away = new UnstoredWhileAway(WINDOW_MS, 3);
    away.unstored("t:old", 0);
    away.unstored("t:new", 1 + WINDOW_MS);
    assertEquals(1, away.streams());
    assertFalse(away.missed("t:x", 2 + WINDOW_MS), "nothing was pushed out inside its window");
  }
}
