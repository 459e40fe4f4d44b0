package io.odin.ws.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy in front of a server, to cut a client off from it (a node that loses Redis, or crashes
 * before it could clean up) while the server keeps running for everyone else, or to slow what the client sends it
 * down to a bandwidth (a slow link, or a server that takes its time over big requests). Counts the bytes each way.
 * {@link #upstream(int)} points new connections at another server, as a load balancer takes a draining node out.
 */
public final class TcpProxy implements AutoCloseable {

  public final int port;
  private volatile int upstreamPort;
  private final ServerSocket server;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicLong bytesUp = new AtomicLong();
  private final AtomicLong bytesDown = new AtomicLong();
  private volatile boolean cut;
  /** Bytes per second the client may send the server; 0 = as fast as the machine goes. */
  private volatile long upstreamBytesPerSecond;

  public TcpProxy(int upstreamPort) {
    this.upstreamPort = upstreamPort;
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    port = server.getLocalPort();
    Thread acceptor = new Thread(this::accept, "tcp-proxy-" + port);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** New connections go to {@code port}; open ones stay where they are. */
  public void upstream(int port) {
    upstreamPort = port;
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        if (cut) {
          client.close();
          continue;
        }
        Socket upstream = new Socket();
        upstream.connect(new InetSocketAddress("127.0.0.1", upstreamPort), 2000);
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream, bytesUp, true);
        pump(upstream, client, bytesDown, false);
      } catch (IOException e) {
        // closed, or the upstream refused: the client sees its connection closed
      }
    }
  }

  private void pump(Socket from, Socket to, AtomicLong counter, boolean upstream) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) > 0) {
          counter.addAndGet(n);
          long rate = upstreamBytesPerSecond;
          if (upstream && rate > 0) {
            // the time these bytes take on a link of that bandwidth (a test's timing, not its synchronisation)
            java.util.concurrent.locks.LockSupport.parkNanos(n * 1_000_000_000L / rate);
          }
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException ignored) {
        // one side closed
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "tcp-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  /** Drops every connection and refuses new ones, until {@link #restore()}. */
  public void cut() {
    cut = true;
    sockets.forEach(TcpProxy::closeQuietly);
    sockets.clear();
  }

  public void restore() {
    cut = false;
  }

  /** What clients send the server passes at most {@code bytesPerSecond} from now on (0: no limit). */
  public void throttleUpstream(long bytesPerSecond) {
    upstreamBytesPerSecond = bytesPerSecond;
  }

  public long bytesUp() {
    return bytesUp.get();
  }

  public long bytesDown() {
    return bytesDown.get();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() {
    cut();
    try {
      server.close();
    } catch (IOException ignored) {
      // already closed
    }
  }
}
