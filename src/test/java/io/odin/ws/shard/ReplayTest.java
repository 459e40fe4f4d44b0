package io.odin.ws.shard;

import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A reconnect's replay: two streams merged in dispatch order, read page by page. */
class ReplayTest {

  static StoredMessage s(long seq, String order) {
    return new StoredMessage(seq, order, new byte[] {'{', '}'});
  }

  @Test
  void mergesTheTokensAndTheBroadcastStreamInDispatchOrderPageByPage() {
    Replay r = new Replay();
    // token: 3..6 missed (first page 3, 4); broadcast: 10..11 missed (both in the first page)
    r.add("t:a", 2, new StreamPage(1, 6, true, List.of(s(3, "03"), s(4, "05"))));
    r.add("b", 9, new StreamPage(2, 11, true, List.of(s(10, "04"), s(11, "08"))));
    assertEquals(6, r.remaining());
    List<String> got = new ArrayList<>();
    Replay.Item item;
    while ((item = r.next()) != null) {
      got.add(item.stream() + ":" + item.message().seq);
    }
    // after t:a 4 the token's page ran out: its 5 may come before b 11
    assertEquals(List.of("t:a:3", "b:10", "t:a:4"), got);
    List<StreamRead> reads = r.reads();
    assertEquals(List.of(new StreamRead("t:a", 1, 4, 2)), reads);
    assertTrue(r.reads().isEmpty(), "one read per page");
    assertTrue(r.page("t:a", new StreamPage(1, 6, true, List.of(s(5, "06"), s(6, "09")))));
    while ((item = r.next()) != null) {
      got.add(item.stream() + ":" + item.message().seq);
    }
    assertEquals(List.of("t:a:3", "b:10", "t:a:4", "t:a:5", "b:11", "t:a:6"), got);
    assertTrue(r.done());
  }

  @Test
  void aPageThatIsNotTheNextOneEndsTheReplay() {
    Replay r = new Replay();
    r.add("t:a", 2, new StreamPage(1, 6, true, List.of(s(3, "03"))));
    assertEquals(3, r.next().message().seq);
    assertNull(r.next());
    r.reads();
    assertFalse(r.page("t:a", new StreamPage(1, 6, false, List.of())), "trimmed meanwhile");
  }
}
