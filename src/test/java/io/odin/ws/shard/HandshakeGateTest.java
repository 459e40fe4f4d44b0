package io.odin.ws.shard;

import io.odin.ws.GatewaySchema;
import io.odin.ws.auth.AuthSettings;
import io.odin.ws.auth.ChannelAccess;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.node.ConnectionLimits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handshake decisions, without a server: status, reason in the body, metric label, capacity slots. */
class HandshakeGateTest {

  @Test
  void validRequestIsAcceptedWithItsToken() {
    HandshakeGate gate = gate(new ConnectionLimits(10, 0));
    HandshakeGate.Decision d = gate.decide("/ws", "token=user-42", "10.0.0.1", null, null);
    assertTrue(d.accepted());
    assertEquals("user-42", d.token);
    assertNull(d.label);
  }

  @Test
  void refusalsSayWhy() {
    HandshakeGate gate = gate(new ConnectionLimits(10, 0));
    assertRefused(gate.decide("/other", "token=a", "ip", null, null), 404, "not found: connect to /ws?token=TOKEN", HandshakeGate.NOT_FOUND);
    assertRefused(gate.decide("/ws", null, "ip", null, null), 400, "missing token", HandshakeGate.BAD_TOKEN);
    assertRefused(gate.decide("/ws", "other=1", "ip", null, null), 400, "missing token", HandshakeGate.BAD_TOKEN);
    assertRefused(gate.decide("/ws", "token=", "ip", null, null), 400, "missing token", HandshakeGate.BAD_TOKEN);
    assertRefused(gate.decide("/ws", "token=has%20space", "ip", null, null), 400,
      "token may contain only letters, digits and . _ : -", HandshakeGate.BAD_TOKEN);
    assertRefused(gate.decide("/ws", "token=" + "x".repeat(129), "ip", null, null), 400,
      "token must be 1 to 128 characters", HandshakeGate.BAD_TOKEN);
    assertRefused(gate.decide("/ws", "token=%zz", "ip", null, null), 400,
      "token may contain only letters, digits and . _ : -", HandshakeGate.BAD_TOKEN);
  }

  @Test
  void refusedHandshakesTakeNoSlot() {
    ConnectionLimits limits = new ConnectionLimits(1, 1);
    HandshakeGate gate = gate(limits);
    gate.decide("/ws", "token=bad token", "ip", null, null);
    gate.decide("/nope", "token=a", "ip", null, null);
    assertEquals(0, limits.inUse());
    assertTrue(gate.decide("/ws", "token=a", "ip", null, null).accepted());
    assertEquals(1, limits.inUse());
  }

  @Test
  void nodeCapacityRefusesWith503UntilASlotIsGivenBack() {
    ConnectionLimits limits = new ConnectionLimits(2, 0);
    HandshakeGate gate = gate(limits);
    assertTrue(gate.decide("/ws", "token=a", "1.1.1.1", null, null).accepted());
    assertTrue(gate.decide("/ws", "token=b", "2.2.2.2", null, null).accepted());
    assertRefused(gate.decide("/ws", "token=c", "3.3.3.3", null, null), 503, "too many connections", HandshakeGate.NODE_FULL);
    assertEquals(2, limits.inUse());
    gate.release("1.1.1.1", "a");
    assertTrue(gate.decide("/ws", "token=c", "3.3.3.3", null, null).accepted());
  }

  @Test
  void perAddressLimitCountsEachAddressAlone() {
    ConnectionLimits limits = new ConnectionLimits(100, 2);
    HandshakeGate gate = gate(limits);
    assertTrue(gate.decide("/ws", "token=a", "1.1.1.1", null, null).accepted());
    assertTrue(gate.decide("/ws", "token=b", "1.1.1.1", null, null).accepted());
    assertRefused(gate.decide("/ws", "token=c", "1.1.1.1", null, null), 503, "too many connections from this address",
      HandshakeGate.ADDRESS_FULL);
    assertTrue(gate.decide("/ws", "token=c", "2.2.2.2", null, null).accepted());
    assertEquals(3, limits.inUse(), "a refusal per address gives its node slot back");
    gate.release("1.1.1.1", "a");
    assertTrue(gate.decide("/ws", "token=c", "1.1.1.1", null, null).accepted());
    gate.release("1.1.1.1", "b");
    gate.release("1.1.1.1", "c");
    gate.release("2.2.2.2", "c");
    assertEquals(0, limits.inUse());
    assertEquals(0, limits.addressesTracked(), "no entry left behind per address");
  }

  /** Issue 33: one leaked token could hold thousands of sockets; now ws.maxConnectionsPerToken of them per node. */
  @Test
  void perTokenLimitCountsEachTokenAloneAndGivesBackTheOtherSlots() {
    ConnectionLimits limits = new ConnectionLimits(100, 3, 2, 0);
    HandshakeGate gate = gate(limits);
    assertTrue(gate.decide("/ws", "token=leaked", "1.1.1.1", null, null).accepted());
    assertTrue(gate.decide("/ws", "token=leaked", "2.2.2.2", null, null).accepted());
    assertRefused(gate.decide("/ws", "token=leaked", "3.3.3.3", null, null), 503, "too many connections for this token",
      HandshakeGate.TOKEN_FULL);
    assertEquals(2, limits.inUse(), "a refusal per token gives its node slot back");
    // and its address slot: 1.1.1.1 still has room for two more
    assertTrue(gate.decide("/ws", "token=other", "1.1.1.1", null, null).accepted());
    assertTrue(gate.decide("/ws", "token=third", "1.1.1.1", null, null).accepted());
    gate.release("2.2.2.2", "leaked");
    assertTrue(gate.decide("/ws", "token=leaked", "3.3.3.3", null, null).accepted());
    gate.release("1.1.1.1", "leaked");
    gate.release("3.3.3.3", "leaked");
    gate.release("1.1.1.1", "other");
    gate.release("1.1.1.1", "third");
    assertEquals(0, limits.inUse());
    assertEquals(0, limits.tokensTracked(), "no entry left behind per token");
    assertEquals(0, limits.addressesTracked());
  }

  @Test
  void noPerAddressBookkeepingWhenTheLimitIsOff() {
    ConnectionLimits limits = new ConnectionLimits(100, 0);
    HandshakeGate gate = gate(limits);
    for (int i = 0; i < 50; i++) {
      assertTrue(gate.decide("/ws", "token=a", "1.1.1.1", null, null).accepted());
    }
    assertEquals(0, limits.addressesTracked());
  }

  @Test
  void stoppedGateRefusesWith503() {
    HandshakeGate gate = gate(new ConnectionLimits(10, 0));
    gate.stop();
    assertRefused(gate.decide("/ws", "token=a", "ip", null, null), 503, "server shutting down", HandshakeGate.SHUTTING_DOWN);
  }

  @Test
  void autoMaxConnectionsKeepsAReserveOfTheOpenFileLimit() {
    assertEquals(1_048_576 - ShardSettings.RESERVED_FILE_DESCRIPTORS, ShardSettings.maxConnectionsFor(1_048_576));
    assertEquals(65_536 - ShardSettings.RESERVED_FILE_DESCRIPTORS, ShardSettings.maxConnectionsFor(65_536));
    // a small limit keeps a quarter
    assertEquals(768, ShardSettings.maxConnectionsFor(1024));
    assertEquals(1, ShardSettings.maxConnectionsFor(1));
    assertFalse(ShardSettings.maxConnectionsFor(-1) <= 0, "unknown limit");
  }

  private static void assertRefused(HandshakeGate.Decision d, int status, String reason, String label) {
    assertFalse(d.accepted(), d.toString());
    assertEquals(status, d.status);
    assertEquals(reason, d.reason);
    assertEquals(label, d.label);
  }

  @Test
  void authenticationRefusalsComeBeforeCapacityAndSayWhy() {
    ConnectionLimits limits = new ConnectionLimits(10, 0);
    ClientAuthenticator jwt = new ClientAuthenticator(new AuthSettings(GatewaySchema.resolve(new JsonObject()
      .put("auth.mode", "jwt").put("auth.jwt.hmacSecret", "a-secret-of-at-least-32-characters-long")
      .put("ws.allowedOrigins", new JsonArray().add("https://app.example")), Map.of())));
    HandshakeGate gate = new HandshakeGate("/ws", limits, jwt, new ChannelAccess(true, Set.of(), "channels"), 32);
    HandshakeGate.Decision noJwt = gate.decide("/ws", "token=victim", "ip", null, null);
    assertEquals(401, noJwt.status);
    assertEquals(HandshakeGate.UNAUTHORIZED, noJwt.label);
    assertTrue(noJwt.reason.startsWith("missing JWT"), noJwt.reason);
    HandshakeGate.Decision origin = gate.decide("/ws", "access_token=x", "ip", "https://evil.example", null);
    assertEquals(403, origin.status);
    assertEquals(HandshakeGate.ORIGIN, origin.label);
    assertEquals(0, limits.inUse(), "a refused client takes no slot");
  }

  /** Issue 29: a reconnect storm is admitted at ws.maxHandshakesPerSecond; the others are told when to come back. */
  @Test
  void handshakesBeyondTheRateAreRefusedBeforeAnyWorkWithRetryAfter() {
    ConnectionLimits limits = new ConnectionLimits(10, 0, 0, 1);
    ClientAuthenticator jwt = new ClientAuthenticator(new AuthSettings(GatewaySchema.resolve(new JsonObject()
      .put("auth.mode", "jwt").put("auth.jwt.hmacSecret", "a-secret-of-at-least-32-characters-long"), Map.of())));
    HandshakeGate gate = new HandshakeGate("/ws", limits, jwt, new ChannelAccess(true, Set.of(), "channels"), 32);
    // the first one of the second goes on to the JWT check (and is refused there: its turn is used all the same)
    assertEquals(401, gate.decide("/ws", null, "ip", null, null).status);
    HandshakeGate.Decision d = gate.decide("/ws", null, "ip", null, null);
    assertRefused(d, 503, "too many handshakes: retry after " + d.retryAfterSeconds + " s", HandshakeGate.RATE_LIMITED);
    assertTrue(d.retryAfterSeconds >= 1 && d.retryAfterSeconds <= 2, "Retry-After " + d.retryAfterSeconds);
    assertEquals(404, gate.decide("/elsewhere", null, "ip", null, null).status, "a wrong path is answered as before");
    assertEquals(0, limits.inUse(), "a refused client takes no slot");
  }

  @Test
  void otherRefusalsSayNoRetryAfter() {
    HandshakeGate gate = gate(new ConnectionLimits(1, 0));
    assertTrue(gate.decide("/ws", "token=a", "ip", null, null).accepted());
    assertEquals(0, gate.decide("/ws", "token=b", "ip", null, null).retryAfterSeconds);
    assertEquals(0, gate.decide("/ws", null, "ip", null, null).retryAfterSeconds);
  }

  private static HandshakeGate gate(ConnectionLimits limits) {
    AuthSettings auth = new AuthSettings(GatewaySchema.defaults());
    return new HandshakeGate("/ws", limits, new ClientAuthenticator(auth), new ChannelAccess(auth), 3);
  }
}
