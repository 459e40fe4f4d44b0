package io.odin.ws.loadtest;

import org.HdrHistogram.Histogram;

/**
 * One look at a fleet of client connections: cumulative counters, and the latencies (microseconds) recorded
 * since the previous look.
 */
public final class FleetStats {

  /** Connections the fleet is to open. */
  public long planned;
  /** Handshakes that succeeded, cumulative. */
  public long opened;
  /** Connections given up after their retries, cumulative. */
  public long failed;
  /** Failed attempts, retried or not. */
  public long connectErrors;
  /** Sessions that closed after opening (the gateway closed them, the network did, or an offline spell), cumulative. */
  public long closed;
  /** Reconnects that succeeded (--reconnect, --reconnect-with-cursor, offline spells), cumulative. */
  public long reopened;
  /** Reconnect attempts that failed (and were tried again), cumulative. */
  public long reconnectErrors;
  /** Handshakes refused with 503 and Retry-After (tried again when it said), cumulative. */
  public long rateLimited;
  /** {@code resumed} frames with {@code recovered:true}, cumulative. */
  public long recovered;
  /** {@code resumed} frames with {@code recovered:false}, cumulative. */
  public long notRecovered;
  /** The sum of the {@code replayed} counts of {@code resumed} frames. */
  public long replayed;
  /** Load-tool messages of this run received, duplicates included. */
  public long received;
  /** Load-tool messages of another run (another tool on the same gateway). */
  public long foreign;
  /** Other frames: pongs, errors, anything that is not a load-tool message. */
  public long otherFrames;
  /** Resident memory of the fleet's process in KiB, or -1. */
  public long rssKiB = -1;
  /** CPU time of the fleet's process in milliseconds, or -1. */
  public long cpuMillis = -1;
  /** True once every planned connection opened or was given up. */
  public boolean rampDone;
  public final Histogram targeted = newHistogram();
  public final Histogram broadcast = newHistogram();
  public final Histogram channel = newHistogram();
  /** Latency of replayed messages (publish to receipt: mostly the time the connection was away), kept apart. */
  public final Histogram replayedLatency = newHistogram();

  public static Histogram newHistogram() {
    return new Histogram(3_600_000_000L, 3);
  }

  /** Sessions open now. */
  public long open() {
    return opened + reopened - closed;
  }

  /** Adds another fleet's look to this one (counters and histograms). */
  public void add(FleetStats o) {
    planned += o.planned;
    opened += o.opened;
    failed += o.failed;
    connectErrors += o.connectErrors;
    closed += o.closed;
    reopened += o.reopened;
    reconnectErrors += o.reconnectErrors;
    rateLimited += o.rateLimited;
    recovered += o.recovered;
    notRecovered += o.notRecovered;
    replayed += o.replayed;
    received += o.received;
    foreign += o.foreign;
    otherFrames += o.otherFrames;
    if (o.rssKiB >= 0) {
      rssKiB = Math.max(0, rssKiB) + o.rssKiB;
    }
    if (o.cpuMillis >= 0) {
      cpuMillis = Math.max(0, cpuMillis) + o.cpuMillis;
    }
    targeted.add(o.targeted);
    broadcast.add(o.broadcast);
    channel.add(o.channel);
    replayedLatency.add(o.replayedLatency);
  }
}
