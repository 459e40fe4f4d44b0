package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.zip.DataFormatException;

/**
 * How child processes talk to the parent: one line per event on stdout, prefixed with {@link #PREFIX} (anything
 * else on stdout is ignored), commands on stdin, receipts in a binary file.
 */
final class Wire {

  static final String PREFIX = "@@odin-lt ";

  private Wire() {
  }

  static JsonObject stats(FleetStats s) {
    return new JsonObject()
      .put("ev", "stats")
      .put("planned", s.planned)
      .put("opened", s.opened)
      .put("failed", s.failed)
      .put("connectErrors", s.connectErrors)
      .put("closed", s.closed)
      .put("reopened", s.reopened)
      .put("reconnectErrors", s.reconnectErrors)
      .put("rateLimited", s.rateLimited)
      .put("recovered", s.recovered)
      .put("notRecovered", s.notRecovered)
      .put("replayed", s.replayed)
      .put("received", s.received)
      .put("foreign", s.foreign)
      .put("otherFrames", s.otherFrames)
      .put("rssKiB", s.rssKiB)
      .put("cpuMillis", s.cpuMillis)
      .put("rampDone", s.rampDone)
      .put("targeted", encode(s.targeted))
      .put("broadcast", encode(s.broadcast))
      .put("channel", encode(s.channel))
      .put("replayedLatency", encode(s.replayedLatency));
  }

  /** Cumulative counters from a stats event; histograms are added to {@code into}'s. */
  static void readStats(JsonObject j, FleetStats into) {
    into.planned = j.getLong("planned");
    into.opened = j.getLong("opened");
    into.failed = j.getLong("failed");
    into.connectErrors = j.getLong("connectErrors");
    into.closed = j.getLong("closed");
    into.reopened = j.getLong("reopened");
    into.reconnectErrors = j.getLong("reconnectErrors");
    into.rateLimited = j.getLong("rateLimited", 0L);
    into.recovered = j.getLong("recovered");
    into.notRecovered = j.getLong("notRecovered");
    into.replayed = j.getLong("replayed");
    into.received = j.getLong("received");
    into.foreign = j.getLong("foreign");
    into.otherFrames = j.getLong("otherFrames");
    into.rssKiB = j.getLong("rssKiB");
    into.cpuMillis = j.getLong("cpuMillis");
    into.rampDone = j.getBoolean("rampDone");
    into.targeted.add(decode(j.getString("targeted")));
    into.broadcast.add(decode(j.getString("broadcast")));
    into.channel.add(decode(j.getString("channel")));
    into.replayedLatency.add(decode(j.getString("replayedLatency")));
  }

  static String encode(Histogram h) {
    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(buf);
    return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf.array(), n));
  }

  static Histogram decode(String s) {
    try {
      return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(s)), 0);
    } catch (DataFormatException e) {
      throw new IllegalArgumentException("bad histogram: " + e.getMessage(), e);
    }
  }

  static void writeReceipts(List<ConnectionRecord> records, Path file) throws IOException {
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
      out.writeInt(records.size());
      for (ConnectionRecord r : records) {
        out.writeInt(r.id());
        out.writeInt(r.token());
        out.writeInt(r.sessions().size());
        for (ConnectionRecord.Session s : r.sessions()) {
          out.writeLong(s.openedAtMicros());
          out.writeLong(s.closedAtMicros());
          out.writeInt(s.closeCode());
          out.writeBoolean(s.byClient());
          out.writeByte(s.resume().ordinal());
          out.writeLong(s.resumedAtMicros());
          out.writeInt(s.replayed());
          out.writeInt(s.firstReceived());
        }
        out.writeInt(r.received().length);
        for (int seq : r.received()) {
          out.writeInt(seq);
        }
        out.writeInt(r.receivedIds().length);
        for (int h : r.receivedIds()) {
          out.writeInt(h);
        }
      }
    }
  }

  static List<ConnectionRecord> readReceipts(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      int n = in.readInt();
      List<ConnectionRecord> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int id = in.readInt();
        int token = in.readInt();
        int sessionCount = in.readInt();
        List<ConnectionRecord.Session> sessions = new ArrayList<>(sessionCount);
        for (int k = 0; k < sessionCount; k++) {
          sessions.add(new ConnectionRecord.Session(in.readLong(), in.readLong(), in.readInt(), in.readBoolean(),
            ConnectionRecord.Resume.values()[in.readByte()], in.readLong(), in.readInt(), in.readInt()));
        }
        int[] got = new int[in.readInt()];
        for (int k = 0; k < got.length; k++) {
          got[k] = in.readInt();
        }
        int[] ids = new int[in.readInt()];
        for (int k = 0; k < ids.length; k++) {
          ids[k] = in.readInt();
        }
        out.add(new ConnectionRecord(id, token, sessions, got, ids));
      }
      return out;
    }
  }
}
