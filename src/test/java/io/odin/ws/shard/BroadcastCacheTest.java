package io.odin.ws.shard;

import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recent broadcasts a shard answers broadcast replays from. */
class BroadcastCacheTest {

  @Test
  void answersReadsItHoldsWhollyAndOnlyThose() {
    BroadcastCache cache = new BroadcastCache(3);
    for (int i = 1; i <= 5; i++) {
      cache.add(StreamOrderTest.m(4, i));
    }
    StreamPosition top = new StreamPosition(4, 5);
    StreamPage page = cache.read(new StreamRead("b", 4, 2, 10), top);
    assertEquals(3, page.messages().size());
    assertEquals(3, page.messages().get(0).seq());
    assertTrue(page.contiguous());
    assertEquals(2, cache.read(new StreamRead("b", 4, 2, 2), top).messages().size(), "a page's limit");
    assertNull(cache.read(new StreamRead("b", 4, 1, 10), top), "2 is no longer cached");
    assertNull(cache.read(new StreamRead("b", 3, 4, 10), top), "another epoch");
    assertNull(cache.read(new StreamRead("b", 4, 4, 10), new StreamPosition(4, 6)), "the shard is further than the cache");
    assertTrue(cache.read(new StreamRead("b", 4, 5, 10), top).messages().isEmpty());
    cache.add(StreamOrderTest.m(4, 7));
    assertEquals(1, cache.size(), "a hole starts it again");
    StoredMessage only = cache.read(new StreamRead("b", 4, 6, 10), new StreamPosition(4, 7)).messages().get(0);
    assertEquals(7, only.seq());
  }
}
