package io.odin.ws.node;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's WebSocket capacity, shared by all its shards (each on its own event loop, hence the atomics): how
 * many connections are open or upgrading, in all, per client address and per token, and how many handshakes start
 * per second. A handshake takes a slot before it is upgraded and gives it back when the connection is gone, so a
 * node never accepts more sockets than {@code ws.maxConnections} allows, whatever the timing between shards, and one
 * leaked token cannot hold more than {@code ws.maxConnectionsPerToken} of them; a reconnect storm is admitted at
 * {@code ws.maxHandshakesPerSecond} ({@link HandshakeRate}).
 */
public final class ConnectionLimits {

  /** Why a slot was not given. */
  public enum Refusal { NODE_FULL, ADDRESS_FULL, TOKEN_FULL }

  private final int maxConnections;
  private final int maxPerAddress;
  private final int maxPerToken;
  private final AtomicInteger inUse = new AtomicInteger();
  private final ConcurrentHashMap<String, Integer> perAddress = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Integer> perToken = new ConcurrentHashMap<>();
  /** Null: handshakes are not limited per second. */
  private final HandshakeRate handshakeRate;

  /** Without a limit per token, nor per second. */
  public ConnectionLimits(int maxConnections, int maxPerAddress) {
    this(maxConnections, maxPerAddress, 0, 0);
  }

  /**
   * @param maxPerAddress          0 for no limit per address
   * @param maxPerToken            0 for no limit per token
   * @param maxHandshakesPerSecond 0 for no limit on the handshakes started per second
   */
  public ConnectionLimits(int maxConnections, int maxPerAddress, int maxPerToken, int maxHandshakesPerSecond) {
    this(maxConnections, maxPerAddress, maxPerToken,
      maxHandshakesPerSecond > 0 ? new HandshakeRate(maxHandshakesPerSecond) : null);
  }

  /** With the handshake rate given (tests drive its clock); null for none. */
  ConnectionLimits(int maxConnections, int maxPerAddress, int maxPerToken, HandshakeRate handshakeRate) {
    this.maxConnections = maxConnections;
    this.maxPerAddress = maxPerAddress;
    this.maxPerToken = maxPerToken;
    this.handshakeRate = handshakeRate;
  }

  /**
   * A handshake's turn at {@code ws.maxHandshakesPerSecond}: 0 when it may go on, else the seconds after which the
   * client should try again ({@code Retry-After}).
   */
  public long admitHandshake() {
    return handshakeRate == null ? 0 : handshakeRate.tryAdmit();
  }

  /** Takes a slot for a connection from {@code address} for {@code token}; null when taken, else why not. */
  public Refusal tryAcquire(String address, String token) {
    if (inUse.incrementAndGet() > maxConnections) {
      inUse.decrementAndGet();
      return Refusal.NODE_FULL;
    }
    if (maxPerAddress > 0 && !take(perAddress, address, maxPerAddress)) {
      inUse.decrementAndGet();
      return Refusal.ADDRESS_FULL;
    }
    if (maxPerToken > 0 && !take(perToken, token, maxPerToken)) {
      if (maxPerAddress > 0) {
        give(perAddress, address);
      }
      inUse.decrementAndGet();
      return Refusal.TOKEN_FULL;
    }
    return null;
  }

  /** Gives back the slot a connection from {@code address} for {@code token} held. */
  public void release(String address, String token) {
    inUse.decrementAndGet();
    if (maxPerAddress > 0) {
      give(perAddress, address);
    }
    if (maxPerToken > 0) {
      give(perToken, token);
    }
  }

  /** One more for {@code key}, unless it holds {@code max} already. */
  private static boolean take(ConcurrentHashMap<String, Integer> counts, String key, int max) {
    boolean[] full = new boolean[1];
    counts.compute(key, (k, n) -> {
      int now = n == null ? 0 : n;
      if (now >= max) {
        full[0] = true;
        return n;
      }
      return now + 1;
    });
    return !full[0];
  }

  private static void give(ConcurrentHashMap<String, Integer> counts, String key) {
    counts.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
  }

  public int inUse() {
    return inUse.get();
  }

  public int maxConnections() {
    return maxConnections;
  }

  /** Addresses holding at least one slot (tracked only with a limit per address). */
  public int addressesTracked() {
    return perAddress.size();
  }

  /** Tokens holding at least one slot (tracked only with a limit per token). */
  public int tokensTracked() {
    return perToken.size();
  }
}
