package io.odin.ws.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free loopback ports for test servers, taken below the kernel's ephemeral range (32768 and up on Linux).
 *
 * <p>A port the kernel hands out for {@code bind(0)} comes from the same range as the source ports of outgoing
 * connections: between choosing it and the server binding it, a Hazelcast, Kafka or Redis client of another
 * node may take it as its source port, and the server fails with "address already in use" (seen in CI). Ports
 * below that range are never chosen for outgoing connections; each is handed out once per test JVM, from a random
 * start so that two JVMs at once rarely meet, and only if a bind on every interface succeeds.
 */
public final class Ports {

  private static final int FIRST = 15_000;
  private static final int LAST = 32_000;
  private static final AtomicInteger next = new AtomicInteger(FIRST + ThreadLocalRandom.current().nextInt(LAST - FIRST));

  private Ports() {
  }

  public static int free() {
    for (int tries = 0; tries < LAST - FIRST; tries++) {
      int port = FIRST + Math.floorMod(next.getAndIncrement() - FIRST, LAST - FIRST);
      if (bindable(port)) {
        return port;
      }
    }
    throw new UncheckedIOException(new IOException("no free port in " + FIRST + ".." + LAST));
  }

  /**
   * The first of {@code count} consecutive free ports whose ports + {@code busOffset} are free too (a Redis Cluster
   * node also listens on its port + 10000, the cluster bus), all below the ephemeral range.
   */
  public static synchronized int freeRange(int count, int busOffset) {
    int span = LAST - busOffset - count - FIRST;
    int start = ThreadLocalRandom.current().nextInt(span);
    for (int tries = 0; tries < span; tries++) {
      int base = FIRST + (start + tries) % span;
      boolean free = true;
      for (int i = 0; i < count && free; i++) {
        free = bindable(base + i) && (busOffset == 0 || bindable(base + i + busOffset));
      }
      if (free) {
        return base;
      }
    }
    throw new UncheckedIOException(new IOException("no " + count + " free ports in " + FIRST + ".." + LAST));
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
