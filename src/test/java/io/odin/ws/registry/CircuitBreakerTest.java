package io.odin.ws.registry;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CircuitBreakerTest {

  final AtomicLong now = new AtomicLong(1_000);
  final CircuitBreaker breaker = new CircuitBreaker(3, 500, now::get);

  @Test
  void opensAfterConsecutiveFailuresOnly() {
    assertTrue(breaker.allowRequest());
    assertFalse(breaker.onFailure());
    assertFalse(breaker.onFailure());
    breaker.onSuccess(); // a success in between resets the count
    assertFalse(breaker.onFailure());
    assertFalse(breaker.onFailure());
    assertTrue(breaker.allowRequest());
    assertTrue(breaker.onFailure(), "the third consecutive failure opens it");
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
    assertFalse(breaker.allowRequest());
    assertFalse(breaker.onFailure(), "already open");
    assertEquals(1, breaker.timesOpened());
  }

  @Test
  void probesOncePerIntervalAndClosesOnSuccess() {
    open();
    assertFalse(breaker.tryProbe(), "not before the probe interval");
    now.addAndGet(500);
    assertTrue(breaker.tryProbe());
    assertEquals(CircuitBreaker.State.HALF_OPEN, breaker.state());
    assertFalse(breaker.allowRequest(), "only the probe goes through");
    assertFalse(breaker.tryProbe(), "one probe at a time");
    assertTrue(breaker.onSuccess(), "a successful probe closes it");
    assertTrue(breaker.allowRequest());
    assertFalse(breaker.onSuccess());
  }

  @Test
  void aFailedProbeOpensItAgainForAnotherInterval() {
    open();
    now.addAndGet(600);
    assertTrue(breaker.tryProbe());
    assertFalse(breaker.onFailure());
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
    now.addAndGet(499);
    assertFalse(breaker.tryProbe());
    now.addAndGet(1);
    assertTrue(breaker.tryProbe());
    assertEquals(1, breaker.timesOpened());
  }

  private void open() {
    for (int i = 0; i < 3; i++) {
      breaker.onFailure();
    }
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
  }
}
