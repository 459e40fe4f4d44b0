package io.odin.ws.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A WebSocket client written by hand on a plain TCP socket, for behaviours a well-behaved client library hides:
 * never answering pings, never reading (a slow client), sending oversized or binary frames.
 */
public final class RawWebSocket implements AutoCloseable {

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  public final int handshakeStatus;
  /** The status line and headers of the server's answer to the handshake. */
  public final String handshakeHead;
  /** The body of a refused handshake (the server's reason), "" after an upgrade. */
  public final String handshakeBody;

  /** A frame read from the server. */
  public static final class Frame {
    public final int opcode;
    public final byte[] payload;

    Frame(int opcode, byte[] payload) {
      this.opcode = opcode;
      this.payload = payload;
    }

    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** For a close frame (opcode 8): the status code. */
    public int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : -1;
    }
  }

  /** Connects and sends the upgrade request for {@code uri}, with {@code extraHeaders} lines (without CRLF). */
  public RawWebSocket(int port, String uri, int receiveBufferBytes, String... extraHeaders) throws IOException {
    socket = new Socket();
    if (receiveBufferBytes > 0) {
      socket.setReceiveBufferSize(receiveBufferBytes);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    socket.setSoTimeout(30_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
    String key = Base64.getEncoder().encodeToString("0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
    out.write(("GET " + uri + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + String.join("", java.util.Arrays.stream(extraHeaders)
      .map(h -> h + "\r\n").toList()) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    String head = readHead();
    handshakeHead = head;
    handshakeStatus = Integer.parseInt(head.split(" ")[1]);
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    handshakeBody = handshakeStatus == 101 ? "" : new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  private String readHead() throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      buf.write(b);
      matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
    }
    return buf.toString(StandardCharsets.US_ASCII);
  }

  /** Sends one masked frame (clients must mask). */
  public void send(int opcode, byte[] payload) throws IOException {
    sendFrame(0x80 | opcode, payload);
  }

  /** Sends one masked frame whose first byte (FIN, RSV bits, opcode) is {@code firstByte}: fragments, bad opcodes. */
  public void sendFrame(int firstByte, byte[] payload) throws IOException {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write(firstByte);
    int n = payload.length;
    if (n < 126) {
      f.write(0x80 | n);
    } else if (n < 65536) {
      f.write(0x80 | 126);
      f.write(n >>> 8);
      f.write(n);
    } else {
      f.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) n >>> (8 * i)));
      }
    }
    byte[] mask = {1, 2, 3, 4};
    f.write(mask);
    for (int i = 0; i < n; i++) {
      f.write(payload[i] ^ mask[i % 4]);
    }
    out.write(f.toByteArray());
    out.flush();
  }

  public void sendText(String text) throws IOException {
    send(1, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Reads the next frame; null when the server closed the TCP connection or nothing came within the timeout. */
  public Frame read(int timeoutMillis) throws IOException {
    socket.setSoTimeout(timeoutMillis);
    try {
      int b0 = in.read();
      if (b0 < 0) {
        return null;
      }
      int b1 = readByte();
      long len = b1 & 0x7F;
      if (len == 126) {
        len = (readByte() << 8) | readByte();
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) {
          len = (len << 8) | readByte();
        }
      }
      byte[] payload = in.readNBytes((int) len);
      return new Frame(b0 & 0x0F, payload);
    } catch (SocketTimeoutException e) {
      return null;
    }
  }

  /** Reads until a close frame arrives (skipping pings and messages); its code, or -1. */
  public int awaitCloseCode(int timeoutMillis) throws IOException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      Frame f = read((int) Math.max(1, deadline - System.currentTimeMillis()));
      if (f == null) {
        return -1;
      }
      if (f.opcode == 8) {
        return f.closeCode();
      }
    }
    return -1;
  }

  /** Writes bytes as they are, e.g. a mutated frame. */
  public void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /**
   * Reads and discards whatever the server sends until it closes the TCP connection; true when it did within
   * {@code timeoutMillis} (end of stream or a reset), false when the connection was still open then.
   */
  public boolean awaitTcpClose(int timeoutMillis) throws IOException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    byte[] buf = new byte[65536];
    try {
      while (System.currentTimeMillis() < deadline) {
        socket.setSoTimeout((int) Math.max(1, deadline - System.currentTimeMillis()));
        int n = in.read(buf);
        if (n < 0) {
          return true;
        }
      }
      return false;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (java.net.SocketException e) {
      return true;
    }
  }

  private int readByte() throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new java.io.EOFException("connection closed in the middle of a frame");
    }
    return b;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
