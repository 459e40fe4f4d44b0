package io.odin.ws.loadtest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every message the publisher sent, by sequence number (0, 1, 2, ... in publish order): whom it was for, when it
 * was sent, in which request, whether the gateway (or Kafka) accepted it and when that answer came. Thread-safe: the
 * publisher appends, acknowledgement callbacks update the status, the verifier reads after publishing ended.
 */
public final class MessageLog {

  /** {@link #target} of a message for every connection. */
  public static final int BROADCAST = -1;

  public enum Status { PENDING, ACCEPTED, FAILED }

  private int[] target = new int[1024];
  /** The channel of a channel message, -1 for others. */
  private int[] channel = new int[1024];
  private long[] sentAt = new long[1024];
  private byte[] status = new byte[1024];
  private long[] ackedAt = new long[1024];
  private int[] request = new int[1024];
  private final List<int[]> multi = new ArrayList<>();
  private int size;

  /**
   * Logs the next message and returns its sequence number.
   *
   * @param tokens the token indexes it is for, or null/empty for a broadcast
   */
  public synchronized int add(int[] tokens, long sentAtMicros) {
    return add(tokens, sentAtMicros, true);
  }

  /**
   * Logs the next message of a request: {@code startsRequest} for the first of a request's messages, false for the
   * others (added right after it, in the order the request carries them).
   */
  public synchronized int add(int[] tokens, long sentAtMicros, boolean startsRequest) {
    if (size == target.length) {
      int n = size * 2;
      target = Arrays.copyOf(target, n);
      channel = Arrays.copyOf(channel, n);
      sentAt = Arrays.copyOf(sentAt, n);
      status = Arrays.copyOf(status, n);
      ackedAt = Arrays.copyOf(ackedAt, n);
      request = Arrays.copyOf(request, n);
    }
    int t;
    if (tokens == null || tokens.length == 0) {
      t = BROADCAST;
    } else if (tokens.length == 1) {
      t = tokens[0];
    } else {
      multi.add(tokens.clone());
      t = -2 - (multi.size() - 1);
    }
    target[size] = t;
    channel[size] = -1;
    sentAt[size] = sentAtMicros;
    status[size] = (byte) Status.PENDING.ordinal();
    ackedAt[size] = Long.MAX_VALUE;
    request[size] = startsRequest || size == 0 ? size : request[size - 1];
    return size++;
  }

  /**
   * Logs the next message of a request, for the subscribers of {@code channelIndex}, and returns its sequence number
   * ({@code startsRequest} as for {@link #add(int[], long, boolean)}).
   */
  public synchronized int addChannel(int channelIndex, long sentAtMicros, boolean startsRequest) {
    int seq = add(new int[] {CHANNEL_TOKEN}, sentAtMicros, startsRequest);
    channel[seq] = channelIndex;
    return seq;
  }

  /** The token a channel message is logged with: no connection has it. */
  private static final int CHANNEL_TOKEN = Integer.MAX_VALUE;

  /** The channel of a channel message, or -1. */
  public synchronized int channel(int seq) {
    return channel[seq];
  }

  public synchronized void status(int seq, Status s) {
    status[seq] = (byte) s.ordinal();
  }

  /** Marks {@code count} messages from {@code firstSeq} on. */
  public synchronized void status(int firstSeq, int count, Status s) {
    Arrays.fill(status, firstSeq, firstSeq + count, (byte) s.ordinal());
  }

  /** Marks {@code count} messages from {@code firstSeq} on as accepted by an answer that came at {@code atMicros}. */
  public synchronized void accepted(int firstSeq, int count, long atMicros) {
    Arrays.fill(status, firstSeq, firstSeq + count, (byte) Status.ACCEPTED.ordinal());
    Arrays.fill(ackedAt, firstSeq, firstSeq + count, atMicros);
  }

  /**
   * When the message's acceptance was answered (publish API 202, Kafka ack), or {@link Long#MAX_VALUE} when unknown
   * (not accepted, or marked by {@link #status(int, Status)}).
   */
  public synchronized long ackedAtMicros(int seq) {
    return ackedAt[seq];
  }

  /** The sequence number of the first message of the request that carried {@code seq}. */
  public synchronized int request(int seq) {
    return request[seq];
  }

  public synchronized Status status(int seq) {
    return Status.values()[status[seq]];
  }

  public synchronized int size() {
    return size;
  }

  public synchronized boolean isBroadcast(int seq) {
    return target[seq] == BROADCAST;
  }

  /** The token indexes of a targeted message; empty for a broadcast or a channel message. */
  public synchronized int[] tokens(int seq) {
    int t = target[seq];
    if (t == BROADCAST || channel[seq] >= 0) {
      return new int[0];
    }
    if (t >= 0) {
      return new int[] {t};
    }
    return multi.get(-2 - t).clone();
  }

  /** True when message {@code seq} is for connections of {@code token} (or for everybody). */
  public synchronized boolean isFor(int seq, int token) {
    return isFor(seq, token, -1);
  }

  /** True when message {@code seq} is for a connection of {@code token} subscribed to {@code channelIndex} (-1: none). */
  public synchronized boolean isFor(int seq, int token, int channelIndex) {
    if (channel[seq] >= 0) {
      return channel[seq] == channelIndex;
    }
    int t = target[seq];
    if (t == BROADCAST || t == token) {
      return true;
    }
    if (t >= 0) {
      return false;
    }
    for (int x : multi.get(-2 - t)) {
      if (x == token) {
        return true;
      }
    }
    return false;
  }

  public synchronized long sentAtMicros(int seq) {
    return sentAt[seq];
  }

  public synchronized int count(Status s) {
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (status[i] == s.ordinal()) {
        n++;
      }
    }
    return n;
  }
}
