package io.odin.ws.shard;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardConnectionsTest {

  static final class C implements ShardConnections.Slot {
    final String name;
    int slot = -1;

    C(String name) {
      this.name = name;
    }

    @Override
    public int slot() {
      return slot;
    }

    @Override
    public void slot(int index) {
      slot = index;
    }
  }

  private static Set<String> of(ShardConnections<C> conns, String token) {
    Set<String> out = new HashSet<>();
    conns.forEachOf(token, out, (c, set) -> set.add(c.name));
    return out;
  }

  private static Set<String> all(ShardConnections<C> conns) {
    Set<String> out = new HashSet<>();
    conns.forEach(out, (c, set) -> set.add(c.name));
    return out;
  }

  @Test
  void firstAndLastConnectionOfATokenAreReported() {
    ShardConnections<C> conns = new ShardConnections<>();
    C a1 = new C("a1");
    C a2 = new C("a2");
    C b = new C("b");
    assertTrue(conns.add("a", a1));
    assertFalse(conns.add("a", a2));
    assertTrue(conns.add("b", b));
    assertEquals(Set.of("a1", "a2"), of(conns, "a"));
    assertEquals(Set.of("a1", "a2", "b"), all(conns));
    assertFalse(conns.remove("a", a1));
    assertEquals(Set.of("a2"), of(conns, "a"));
    assertTrue(conns.remove("a", a2));
    assertFalse(conns.holds("a"));
    assertEquals(Set.of("b"), all(conns));
    assertEquals(1, conns.size());
  }

  @Test
  void removingTwiceOrUnknownIsHarmless() {
    ShardConnections<C> conns = new ShardConnections<>();
    C a = new C("a");
    conns.add("a", a);
    assertTrue(conns.remove("a", a));
    assertFalse(conns.remove("a", a));
    assertFalse(conns.remove("x", new C("x")));
    assertEquals(0, conns.size());
  }

  @Test
  void manyConnectionsAddedAndRemovedInAnyOrderStayConsistent() {
    ShardConnections<C> conns = new ShardConnections<>();
    List<C> list = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      C c = new C("c" + i);
      list.add(c);
      conns.add("t" + (i % 37), c);
    }
    for (int i = 0; i < 1000; i += 3) {
      C c = list.get(i);
      conns.remove("t" + (i % 37), c);
    }
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      if (i % 3 != 0) {
        expected.add("c" + i);
      }
    }
    assertEquals(expected, all(conns));
    assertEquals(expected.size(), conns.size());
    Set<String> t5 = new HashSet<>();
    for (int i = 5; i < 1000; i += 37) {
      if (i % 3 != 0) {
        t5.add("c" + i);
      }
    }
    assertEquals(t5, of(conns, "t5"));
  }

  @Test
  void slicesVisitEveryConnectionOncePerRound() {
    ShardConnections<C> conns = new ShardConnections<>();
    for (int i = 0; i < 25; i++) {
      conns.add("t" + i, new C("c" + i));
    }
    List<String> seen = new ArrayList<>();
    int cursor = 0;
    for (int tick = 0; tick < 10; tick++) {
      cursor = conns.forEachIn(cursor, 3, seen, (c, list) -> list.add(c.name));
    }
    assertEquals(30, seen.size());
    assertEquals(25, new HashSet<>(seen.subList(0, 25)).size(), "a round of ticks covers every connection once");
    assertEquals(0, new ShardConnections<C>().forEachIn(7, 3, seen, (c, list) -> list.add(c.name)));
  }
}
