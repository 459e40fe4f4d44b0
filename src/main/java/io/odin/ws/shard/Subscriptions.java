package io.odin.ws.shard;

import io.odin.ws.protocol.ChannelName;
import io.odin.ws.protocol.Cursor;

import java.util.Arrays;

/**
 * The channels one connection is subscribed to, and where it stands in each channel's stream: the channel part of its
 * cursor. Also, per channel, its place in the shard's list of the channel's subscribers ({@link ShardChannels}), so an
 * unsubscription is O(1). A connection has at most {@code ws.maxSubscriptionsPerConnection} of them, so lookups are a
 * scan (a stream name is the shard's own instance: compared by identity first). Confined to the shard's event loop.
 */
final class Subscriptions {

  private String[] channels = new String[2];
  private String[] streams = new String[2];
  private int[] hashes = new int[2];
  private long[] epochs = new long[2];
  private long[] seqs = new long[2];
  private int[] slots = new int[2];
  private int size;

  int size() {
    return size;
  }

  String channel(int i) {
    return channels[i];
  }

  int indexOf(String channel) {
    for (int i = 0; i < size; i++) {
      if (channels[i].equals(channel)) {
        return i;
      }
    }
    return -1;
  }

  /** The entry of the channel whose stream is {@code stream}, or -1. */
  int indexOfStream(String stream) {
    for (int i = 0; i < size; i++) {
      if (streams[i] == stream) {
        return i;
      }
    }
    for (int i = 0; i < size; i++) {
      if (streams[i].equals(stream)) {
        return i;
      }
    }
    return -1;
  }

  /** Adds a channel at position (epoch, seq), at {@code slot} of the channel's subscribers; returns its entry. */
  int add(String channel, String stream, long epoch, long seq, int slot) {
    if (size == channels.length) {
      int n = size * 2;
      channels = Arrays.copyOf(channels, n);
      streams = Arrays.copyOf(streams, n);
      hashes = Arrays.copyOf(hashes, n);
      epochs = Arrays.copyOf(epochs, n);
      seqs = Arrays.copyOf(seqs, n);
      slots = Arrays.copyOf(slots, n);
    }
    channels[size] = channel;
    streams[size] = stream;
    hashes[size] = ChannelName.hash(channel);
    epochs[size] = epoch;
    seqs[size] = seq;
    slots[size] = slot;
    return size++;
  }

  /** Removes entry {@code i} (the last entry takes its place). */
  void removeAt(int i) {
    int last = --size;
    channels[i] = channels[last];
    streams[i] = streams[last];
    hashes[i] = hashes[last];
    epochs[i] = epochs[last];
    seqs[i] = seqs[last];
    slots[i] = slots[last];
    channels[last] = null;
    streams[last] = null;
  }

  int hash(int i) {
    return hashes[i];
  }

  long epoch(int i) {
    return epochs[i];
  }

  long seq(int i) {
    return seqs[i];
  }

  void position(int i, long epoch, long seq) {
    epochs[i] = epoch;
    seqs[i] = seq;
  }

  int slot(int i) {
    return slots[i];
  }

  void slot(int i, int slot) {
    slots[i] = slot;
  }

  /** Appends this connection's channel segments to a cursor being written at {@code offset}; returns the offset after. */
  int writeCursor(byte[] out, int offset) {
    for (int i = 0; i < size; i++) {
      offset = Cursor.writeChannel(out, offset, hashes[i], epochs[i], seqs[i]);
    }
    return offset;
  }
}
