package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublisherTest {

  @Test
  void mixSpreadsBroadcastsEvenlyAtTheExactShare() {
    int broadcasts = 0;
    int longestTargetedRun = 0;
    int run = 0;
    for (int seq = 0; seq < 1000; seq++) {
      if (Publisher.isBroadcast(seq, 80, 20)) {
        broadcasts++;
        run = 0;
      } else {
        longestTargetedRun = Math.max(longestTargetedRun, ++run);
      }
    }
    assertEquals(200, broadcasts);
    assertEquals(4, longestTargetedRun);
    for (int seq = 0; seq < 100; seq++) {
      assertTrue(Publisher.isBroadcast(seq, 0, 1));
      assertTrue(!Publisher.isBroadcast(seq, 1, 0));
    }
  }

  /** A sink that answers at once, recording what it got (publishing itself is covered by the integration test). */
  static final class RecordingSink implements Publisher.Sink {
    final List<List<Publisher.Out>> batches = new ArrayList<>();

    @Override
    public synchronized void send(List<Publisher.Out> batch, Publisher publisher, Runnable done) {
      batches.add(batch);
      for (Publisher.Out m : batch) {
        publisher.log().status(m.seq(), MessageLog.Status.ACCEPTED);
      }
      done.run();
    }

    @Override
    public void close() {
    }
  }

  @Test
  void publishesAtTheRateInBatchesAndLogsEveryMessage() {
    LoadTestOptions o = LoadTestOptions.parse("--rate", "2000", "--batch", "10", "--mix", "50:50",
      "--connections", "100", "--tokens-per-message", "2");
    MessageLog log = new MessageLog();
    RecordingSink sink = new RecordingSink();
    Publisher p = new Publisher(o, o.tokenPlan(), log, sink);
    p.run(500);
    // 1000 due in 500 ms; a starved thread may end a little short, never over
    assertTrue(p.sent() <= 1000 && p.sent() >= 900, "sent " + p.sent());
    assertEquals(p.sent(), log.size());
    assertEquals(log.size(), log.count(MessageLog.Status.ACCEPTED));
    int seq = 0;
    for (List<Publisher.Out> batch : sink.batches) {
      assertTrue(batch.size() <= 10);
      for (Publisher.Out m : batch) {
        assertEquals(seq++, m.seq());
        assertEquals(log.isBroadcast(m.seq()), m.tokens() == null);
        if (m.tokens() != null) {
          assertEquals(2, m.tokens().length);
          assertTrue(m.tokens()[0] != m.tokens()[1]);
        }
      }
    }
    assertTrue(p.awaitAnswers(1000));
    assertEquals(0, p.inFlight());
  }

  @Test
  void phasesRunBackToBackEachAtItsRate() {
    LoadTestOptions o = LoadTestOptions.parse("--phases", "1000:300ms,4000:300ms", "--batch", "10", "--mix", "100:0",
      "--connections", "100");
    MessageLog log = new MessageLog();
    RecordingSink sink = new RecordingSink();
    Publisher p = new Publisher(o, o.tokenPlan(), log, sink);
    List<Long> sentAtPhaseStart = new ArrayList<>();
    List<Integer> started = new ArrayList<>();
    p.run(o.publishPhases(), i -> {
      started.add(i);
      sentAtPhaseStart.add(p.sent());
    });
    assertEquals(List.of(0, 1, 2), started, "each phase starts, then the end is signalled");
    long first = sentAtPhaseStart.get(1) - sentAtPhaseStart.get(0);
    long second = sentAtPhaseStart.get(2) - sentAtPhaseStart.get(1);
    // 300 then 1,200 due; a starved thread may end a little short, never over
    assertTrue(first <= 300 && first >= 250, "first phase sent " + first);
    assertTrue(second <= 1200 && second >= 1000, "second phase sent " + second);
    assertEquals(p.sent(), log.size());
  }

  @Test
  void theChannelShareIsSpreadEvenlyAndAPlanSizesItsChannels() {
    int[] kinds = new int[3];
    for (long seq = 0; seq < 1000; seq++) {
      kinds[Publisher.kindOf(seq, 10, 10, 80)]++;
    }
    assertTrue(Math.abs(kinds[2] - 800) <= 1 && Math.abs(kinds[1] - 100) <= 20, java.util.Arrays.toString(kinds));
    assertEquals(2, Publisher.kindOf(7, 0, 0, 1));
    TokenPlan plan = new TokenPlan("t", 15, 15, "ch:", 5, 1, 5);
    assertEquals(java.util.List.of(1, 2, 3, 4, 5), java.util.stream.IntStream.range(0, 5).map(plan::subscribersOf).boxed().toList());
    assertEquals(0, plan.channelOf(0));
    assertEquals(1, plan.channelOf(1));
    assertEquals(4, plan.channelOf(14));
    assertEquals("ch:3", plan.channelName(3));
    TokenPlan even = new TokenPlan("t", 10, 10, "ch:", 3, 0, 0);
    assertEquals(4, even.subscribersOf(0));
    assertEquals(-1, new TokenPlan("t", 1, 1).channelOf(0));
  }
}
