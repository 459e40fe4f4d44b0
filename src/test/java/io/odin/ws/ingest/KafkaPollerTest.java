package io.odin.ws.ingest;

import org.junit.jupiter.api.Test;

import static io.odin.ws.ingest.KafkaPoller.FLOWING_POLLS_AHEAD;
import static io.odin.ws.ingest.KafkaPoller.IDLE_POLLS_AHEAD;
import static io.odin.ws.ingest.KafkaPoller.pollsWanted;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** How many polls the consumer thread is kept busy with: more while records flow, never past the in-flight bounds. */
class KafkaPollerTest {

  @Test
  void anIdleConsumerKeepsTwoPollsQueued() {
    assertEquals(IDLE_POLLS_AHEAD, pollsWanted(false, 0, 0, 500, 2, 20_000, 64));
  }

  @Test
  void whileRecordsFlowTheConsumerThreadDoesNotWaitForTheEventLoop() {
    assertEquals(FLOWING_POLLS_AHEAD, pollsWanted(true, 0, 0, 500, 2, 20_000, 64));
    assertEquals(8, FLOWING_POLLS_AHEAD, "four times the idle queue: what 2,000 records a poll did by hand");
  }

  @Test
  void queuedPollsStayWithinTheInFlightRecords() {
    // room for 3 polls of 500 under 20,000
    assertEquals(3, pollsWanted(true, 18_400, 0, 500, 2, 20_000, 64));
    // no room: the idle two, as before (the bound is passed by two polls at most, then the partitions pause)
    assertEquals(IDLE_POLLS_AHEAD, pollsWanted(true, 19_900, 0, 500, 2, 20_000, 64));
  }

  @Test
  void queuedPollsStayWithinTheInFlightBatches() {
    // each poll may become one batch per dispatcher: 64 - 56 leaves room for 2 polls of 4 batches
    assertEquals(IDLE_POLLS_AHEAD, pollsWanted(true, 0, 56, 500, 4, 20_000, 64));
    assertEquals(5, pollsWanted(true, 0, 44, 500, 4, 20_000, 64));
  }
}
