package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exit status of a run from its counts: what was asked, what was offered, what arrived. */
class RunOutcomeTest {

  /** 1,000 connections asked and opened, 60,000 messages planned: sent, refused, unanswered, deliveries as given. */
  private static RunOutcome run(long sent, long refused, long unanswered, long expected, long received) {
    return new RunOutcome(1_000, 1_000, 60_000, sent, refused, unanswered, expected, received, null);
  }

  @Test
  void aRunThatOfferedTheLoadAndLostNothingIsOk() {
    RunOutcome ok = run(60_000, 0, 0, 90_000, 90_000);
    assertEquals(0, ok.exitCode());
    assertEquals(List.of(), ok.problems());
    assertEquals(0, run(59_000, 0, 0, 90_000, 90_500).exitCode(), "98 % sent, duplicates (Kafka's at-least-once) are no loss");
    assertEquals(0, new RunOutcome(19_000, 19_000, 0, 0, 0, 0, 0, 0, null).exitCode(), "an idle run");
  }

  @Test
  void aPublisherThatFellBehindIsAShortRun() {
    // the run: 16,100 of 60,000 sent, every one of them delivered, p99 7.6 s; it used to exit 0
    RunOutcome behind = run(16_100, 0, 0, 24_000, 24_000);
    assertEquals(4, behind.exitCode());
    assertTrue(behind.problems().get(0).startsWith("the publisher fell behind: 16100 of 60000 messages sent"), behind.problems().toString());
    assertEquals(4, run(60_000, 0, 12, 90_000, 90_000).exitCode(), "publishes never answered");
  }

  @Test
  void missingDeliveriesAreAShortRun() {
    RunOutcome lost = run(60_000, 0, 0, 90_000, 89_990);
    assertEquals(4, lost.exitCode());
    assertEquals(List.of("10 of 90000 expected deliveries did not arrive by the end of the drain (messages lost, or later"
      + " than --drain)"), lost.problems());
  }

  @Test
  void routingViolationsThenAnIncompleteRunComeFirst() {
    RunOutcome refused = run(16_100, 5, 0, 24_000, 20_000);
    assertEquals(3, refused.exitCode(), "publishes refused");
    assertEquals(3, new RunOutcome(1_000, 990, 60_000, 60_000, 0, 0, 90_000, 90_000, null).exitCode(), "connections missing");
  }
}
