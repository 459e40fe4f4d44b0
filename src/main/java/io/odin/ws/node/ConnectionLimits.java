package io.odin.ws.node;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's WebSocket capacity, shared by all its shards (each on its own event loop, hence the atomics): how
 * many connections are open or upgrading, in all and per client address. A handshake takes a slot before it is
 * upgraded and gives it back when the connection is gone, so a node never accepts more sockets than
 * {@code ws.maxConnections} allows, whatever the timing between shards.
 */
public final class ConnectionLimits {

  /** Why a slot was not given. */
  public enum Refusal { NODE_FULL, ADDRESS_FULL }

  private final int maxConnections;
  private final int maxPerAddress;
  private final AtomicInteger inUse = new AtomicInteger();
  private final ConcurrentHashMap<String, Integer> perAddress = new ConcurrentHashMap<>();

  /** @param maxPerAddress 0 for no limit per address */
  public ConnectionLimits(int maxConnections, int maxPerAddress) {
    this.maxConnections = maxConnections;
    this.maxPerAddress = maxPerAddress;
  }

  /** Takes a slot for a connection from {@code address}; null when taken, else why not. */
  public Refusal tryAcquire(String address) {
    if (inUse.incrementAndGet() > maxConnections) {
      inUse.decrementAndGet();
      return Refusal.NODE_FULL;
    }
    if (maxPerAddress > 0) {
      boolean[] full = new boolean[1];
      perAddress.compute(address, (a, n) -> {
        int now = n == null ? 0 : n;
        if (now >= maxPerAddress) {
          full[0] = true;
          return n;
        }
        return now + 1;
      });
      if (full[0]) {
        inUse.decrementAndGet();
        return Refusal.ADDRESS_FULL;
      }
    }
    return null;
  }

  /** Gives back the slot a connection from {@code address} held. */
  public void release(String address) {
    inUse.decrementAndGet();
    if (maxPerAddress > 0) {
      perAddress.computeIfPresent(address, (a, n) -> n > 1 ? n - 1 : null);
    }
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
}
