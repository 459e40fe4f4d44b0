package io.odin.ws.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A raw TCP client of the management port, for requests no well-behaved HTTP client sends: stalled uploads,
 * half a request head, malformed framing. Blocking, one connection.
 */
public final class RawHttp implements AutoCloseable {

  private final Socket socket;

  public RawHttp(int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(30_000);
  }

  /** The head of a POST /api/publish with these extra header lines (each without CRLF). */
  public static String publishHead(String... headers) {
    StringBuilder sb = new StringBuilder("POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    return sb.append("\r\n").toString();
  }

  public RawHttp write(String text) throws IOException {
    return write(text.getBytes(StandardCharsets.UTF_8));
  }

  public RawHttp write(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
    return this;
  }

  /**
   * Everything the server sends until it closes the connection or {@code timeoutMs} passes; {@link Answer#closed}
   * says which.
   */
  public Answer read(long timeoutMs) throws IOException {
    return read(timeoutMs, false);
  }

  /** Like {@link #read(long)}, returning as soon as a response head has arrived. */
  public Answer readHead(long timeoutMs) throws IOException {
    return read(timeoutMs, true);
  }

  private Answer read(long timeoutMs, boolean headIsEnough) throws IOException {
    socket.setSoTimeout((int) Math.max(1, timeoutMs));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    byte[] buf = new byte[8192];
    long deadline = System.currentTimeMillis() + timeoutMs;
    try {
      while (System.currentTimeMillis() < deadline) {
        int n = in.read(buf);
        if (n < 0) {
          return new Answer(out.toString(StandardCharsets.UTF_8), true);
        }
        out.write(buf, 0, n);
        if (headIsEnough && out.toString(StandardCharsets.UTF_8).contains("\r\n\r\n")) {
          return new Answer(out.toString(StandardCharsets.UTF_8), false);
        }
      }
    } catch (SocketTimeoutException e) {
      return new Answer(out.toString(StandardCharsets.UTF_8), false);
    } catch (IOException e) {
      // reset by the server
      return new Answer(out.toString(StandardCharsets.UTF_8) + "[" + e + "]", true);
    }
    return new Answer(out.toString(StandardCharsets.UTF_8), false);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** What the server sent, and whether it closed the connection. */
  public static final class Answer {
    public final String text;
    public final boolean closed;

    Answer(String text, boolean closed) {
      this.text = text;
      this.closed = closed;
    }

    /** The status code of the first response, or -1. */
    public int status() {
      if (!text.startsWith("HTTP/1.") || text.length() < 12) {
        return -1;
      }
      return Integer.parseInt(text.substring(9, 12));
    }

    @Override
    public String toString() {
      return (closed ? "[closed] " : "[open] ") + text;
    }
  }
}
