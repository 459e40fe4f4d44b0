package io.odin.ws.node;

import org.junit.jupiter.api.Test;

import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ws.maxHandshakesPerSecond's arithmetic on a clock the test moves. */
class HandshakeRateTest {

  private final AtomicLong now = new AtomicLong(5_000_000_000L);

  private void advanceMillis(long millis) {
    now.addAndGet(millis * 1_000_000L);
  }

  @Test
  void oneSecondsWorthGoesAtOnceThenTheRate() {
    HandshakeRate rate = new HandshakeRate(100, now::get);
    for (int i = 0; i < 100; i++) {
      assertEquals(0, rate.tryAdmit(), "handshake " + i + " of the first second's worth");
    }
    assertEquals(1, rate.tryAdmit(), "the 101st waits: Retry-After 1 s");
    advanceMillis(10);
    assertEquals(0, rate.tryAdmit(), "one more every 10 ms at 100/s");
    assertEquals(1, rate.tryAdmit());
  }

  @Test
  void aStormIsToldToComeBackSpreadOverTheSecondsItNeeds() {
    HandshakeRate rate = new HandshakeRate(1000, now::get);
    TreeMap<Long, Integer> retryAfter = new TreeMap<>();
    int admitted = 0;
    for (int i = 0; i < 15_000; i++) {
      long r = rate.tryAdmit();
      if (r == 0) {
        admitted++;
      } else {
        retryAfter.merge(r, 1, Integer::sum);
      }
    }
    assertEquals(1000, admitted);
    assertEquals(1, retryAfter.firstKey());
    assertEquals(14, retryAfter.lastKey(), "14,000 refused at 1,000/s: the last comes back after 14 s");
    retryAfter.forEach((seconds, n) -> assertTrue(n >= 999 && n <= 1001,
      "about one second's worth told to come back after " + seconds + " s, got " + n));
  }

  @Test
  void clientsThatComeBackWhenToldAreAdmitted() {
    HandshakeRate rate = new HandshakeRate(1000, now::get);
    // 5,000 at once; each refused one returns after its Retry-After (whole seconds, as the header carries it)
    TreeMap<Long, Integer> returning = new TreeMap<>();
    long start = now.get();
    int admitted = 0;
    for (int i = 0; i < 5000; i++) {
      long r = rate.tryAdmit();
      if (r == 0) {
        admitted++;
      } else {
        returning.merge(now.get() + r * 1_000_000_000L, 1, Integer::sum);
      }
    }
    int refusedAgain = 0;
    while (!returning.isEmpty()) {
      var next = returning.pollFirstEntry();
      now.set(next.getKey());
      for (int i = 0; i < next.getValue(); i++) {
        // a second's clients do not arrive in the same nanosecond: spread them over the second
        now.set(next.getKey() + i * 1_000_000L);
        long r = rate.tryAdmit();
        if (r == 0) {
          admitted++;
        } else {
          refusedAgain++;
          returning.merge(now.get() + r * 1_000_000_000L, 1, Integer::sum);
        }
      }
    }
    assertEquals(5000, admitted);
    assertTrue(refusedAgain < 50, "those that come back when told are let in: refused again " + refusedAgain);
    assertTrue(now.get() - start <= 6_000_000_000L, "all in within 6 s at 1,000/s");
  }

  @Test
  void retryAfterIsBoundedWhateverTheLine() {
    HandshakeRate rate = new HandshakeRate(1, now::get);
    assertEquals(0, rate.tryAdmit());
    long last = 0;
    for (int i = 0; i < 1000; i++) {
      last = rate.tryAdmit();
    }
    assertEquals(HandshakeRate.MAX_RETRY_AFTER_SECONDS, last);
    // the line does not outlive the overload: a minute later a handshake goes through again
    advanceMillis(61_000);
    assertEquals(0, rate.tryAdmit());
  }

  @Test
  void aSustainedOverloadIsAdmittedAtTheRate() {
    HandshakeRate rate = new HandshakeRate(500, now::get);
    int admitted = 0;
    // 5,000 handshakes a second for 10 s, one every 200 µs
    for (int i = 0; i < 50_000; i++) {
      now.addAndGet(200_000);
      if (rate.tryAdmit() == 0) {
        admitted++;
      }
    }
    assertEquals(500 + 500 * 10, admitted, 2);
  }
}
