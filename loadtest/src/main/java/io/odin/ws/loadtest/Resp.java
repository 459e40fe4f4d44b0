package io.odin.ws.loadtest;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal Redis client (RESP2 over one socket, blocking), for what the soak sampler asks of the registry's Redis:
 * counting keys by pattern with SCAN, their expiries, INFO. Not for the data path.
 */
final class Resp implements AutoCloseable {

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  Resp(String host, int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress(host, port), 5_000);
    socket.setSoTimeout(30_000);
    out = new BufferedOutputStream(socket.getOutputStream());
    in = new BufferedInputStream(socket.getInputStream());
  }

  /** One command and its reply: String, Long, List, or null; an error reply throws. */
  Object command(String... args) throws IOException {
    write(args);
    out.flush();
    return read();
  }

  /** Several commands in one round trip; their replies in order (an error reply is returned as its exception). */
  List<Object> pipeline(List<String[]> commands) throws IOException {
    for (String[] c : commands) {
      write(c);
    }
    out.flush();
    List<Object> replies = new ArrayList<>(commands.size());
    for (int i = 0; i < commands.size(); i++) {
      try {
        replies.add(read());
      } catch (RedisError e) {
        replies.add(e);
      }
    }
    return replies;
  }

  /** Every key matching {@code pattern}, by SCAN (Redis stays responsive between the calls). */
  @SuppressWarnings("unchecked")
  List<String> scan(String pattern) throws IOException {
    List<String> keys = new ArrayList<>();
    String cursor = "0";
    do {
      List<Object> reply = (List<Object>) command("SCAN", cursor, "MATCH", pattern, "COUNT", "1000");
      cursor = (String) reply.get(0);
      for (Object k : (List<Object>) reply.get(1)) {
        keys.add((String) k);
      }
    } while (!cursor.equals("0"));
    return keys;
  }

  /** A field of INFO (e.g. used_memory), or null. */
  String info(String section, String field) throws IOException {
    String text = (String) command("INFO", section);
    for (String line : text.split("\r\n")) {
      if (line.startsWith(field + ":")) {
        return line.substring(field.length() + 1).trim();
      }
    }
    return null;
  }

  private void write(String[] args) throws IOException {
    out.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (String a : args) {
      byte[] b = a.getBytes(StandardCharsets.UTF_8);
      out.write(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(b);
      out.write('\r');
      out.write('\n');
    }
  }

  private Object read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new IOException("Redis closed the connection");
    }
    String line = line();
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new RedisError(line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        byte[] b = in.readNBytes(n + 2);
        return new String(b, 0, n, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          items.add(read());
        }
        return items;
      }
      default:
        throw new IOException("unexpected RESP type " + (char) type);
    }
  }

  private String line() throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1 && c != '\r') {
      sb.append((char) c);
    }
    in.read();
    return sb.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** An error reply. */
  static final class RedisError extends IOException {
    RedisError(String message) {
      super(message);
    }
  }
}
