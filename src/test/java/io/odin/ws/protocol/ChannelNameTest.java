package io.odin.ws.protocol;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The channel-name grammar, namespaces, patterns, interest keys and cursor hashes. */
class ChannelNameTest {

  @Test
  void grammar() {
    for (String ok : new String[] {"a", "prices:BTC", "doc:42/comments", "user@example.com", "k=v", "a.b_c-d", "x".repeat(128)}) {
      assertNull(ChannelName.problem(ok), ok);
    }
    for (String bad : new String[] {null, "", "x".repeat(129), "a b", "a#b", "é", "a*", "a?b", "a,b", "global"}) {
      assertNotNull(ChannelName.problem(bad), String.valueOf(bad));
    }
    assertTrue(ChannelName.problem("global").contains("broadcast"));
  }

  @Test
  void namespacesAndPatterns() {
    assertEquals("prices", ChannelName.namespace("prices:BTC:spot"));
    assertEquals("", ChannelName.namespace("lobby"));
    assertTrue(ChannelName.matches("prices:*", "prices:BTC"));
    assertFalse(ChannelName.matches("prices:*", "pricesX"));
    assertTrue(ChannelName.matches("*", "anything"));
    assertTrue(ChannelName.matches("desk:7", "desk:7"));
    assertFalse(ChannelName.matches("desk:7", "desk:70"));
    assertNull(ChannelName.patternProblem("prices:*"));
    assertNotNull(ChannelName.patternProblem("pri*ces"));
  }

  @Test
  void interestKeysNeverMeetATokenAndHashesAreSpread() {
    String key = ChannelName.interestKey("prices:BTC");
    assertFalse(Token.isValid(key), "no token looks like a channel's interest");
    assertTrue(ChannelName.isInterestKey(key));
    assertFalse(ChannelName.isInterestKey("user-42"));
    assertEquals("prices:BTC", ChannelName.ofInterestKey(key));
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      int h = ChannelName.hash("c:" + i);
      assertTrue(h >= 0 && h < ChannelName.HASH_BOUND);
      seen.add(h);
    }
    assertTrue(seen.size() > 9_990, "few collisions among 10,000 channels: " + (10_000 - seen.size()));
  }
}
