package io.odin.ws.shard;

import io.netty.channel.embedded.EmbeddedChannel;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Cursor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A shard's channel state and a connection's subscriptions, without Vert.x. */
class ShardChannelsTest {

  final ShardChannels channels = new ShardChannels();

  static ClientConnection connection(String token) {
    return new ClientConnection(null, new EmbeddedChannel(), token, "127.0.0.1", 0);
  }

  @Test
  void aJoinStartsWhereTheStreamStandsAndTheFirstJoinWhereTheRegistrationFoundIt() {
    ShardChannels.State st = channels.open("prices:BTC");
    ClientConnection a = connection("a");
    channels.join(st, a, new Registered(new StreamPosition(7, 40), StreamPosition.UNKNOWN));
    assertEquals(40, a.subs.seq(0));
    ClientConnection b = connection("b");
    // the registration's answer moves the stream only while nobody here receives it
    channels.join(st, b, new Registered(new StreamPosition(7, 45), StreamPosition.UNKNOWN));
    assertEquals(40, b.subs.seq(0));
    assertEquals(Map.of("prices:BTC", 2), channels.counts());
    assertEquals(List.of(ChannelName.interestKey("prices:BTC")), channels.interestKeys());
  }

  @Test
  void leavingIsConstantTimeAndKeepsEveryOtherSubscribersPlace() {
    ShardChannels.State x = channels.open("x");
    ShardChannels.State y = channels.open("y");
    List<ClientConnection> all = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      ClientConnection c = connection("c" + i);
      channels.join(x, c, null);
      channels.join(y, c, null);
      all.add(c);
    }
    channels.leave(x, all.get(1), all.get(1).subs.indexOf("x"));
    channels.leave(x, all.get(0), all.get(0).subs.indexOf("x"));
    channels.leave(y, all.get(5), all.get(5).subs.indexOf("y"));
    List<String> seen = new ArrayList<>();
    channels.forEach(x, null, (c, unused) -> seen.add(c.token));
    assertEquals(List.of("c4", "c5", "c2", "c3"), seen);
    for (ClientConnection c : x.subscribers) {
      assertEquals(c, x.subscribers.get(c.subs.slot(c.subs.indexOf("x"))), "its slot points at itself");
    }
    for (ClientConnection c : y.subscribers) {
      assertEquals(c, y.subscribers.get(c.subs.slot(c.subs.indexOf("y"))));
    }
    assertEquals(-1, all.get(0).subs.indexOf("x"));
    assertEquals(9, channels.subscriptions());
    assertFalse(x.idle());
  }

  @Test
  void theCursorCarriesEachSubscriptionsPosition() {
    ClientConnection c = connection("c");
    channels.join(channels.open("a"), c, new Registered(new StreamPosition(3, 9), StreamPosition.UNKNOWN));
    channels.join(channels.open("b"), c, new Registered(new StreamPosition(4, 0), StreamPosition.UNKNOWN));
    c.subs.position(c.subs.indexOf("a"), 3, 10);
    byte[] out = new byte[Cursor.maxLength(2)];
    int n = c.subs.writeCursor(out, Cursor.write(out, 0, 1, 2, 3, 4));
    Cursor parsed = Cursor.parse(new String(out, 0, n, StandardCharsets.US_ASCII));
    assertEquals(10, parsed.channel(ChannelName.hash("a"))[1]);
    assertEquals(4, parsed.channel(ChannelName.hash("b"))[0]);
    ShardChannels.State b = channels.get("b");
    channels.leave(b, c, c.subs.indexOf("b"));
    assertTrue(b.idle());
    channels.forget(b);
    assertEquals(1, channels.size());
  }
}
