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
  /** Connections that closed after opening (the gateway closed them, or the network did), cumulative. */
  public long closed;
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

  public static Histogram newHistogram() {
    return new Histogram(3_600_000_000L, 3);
  }

  public long open() {
    return opened - closed;
  }

  /** Adds another fleet's look to this one (counters and histograms). */
  public void add(FleetStats o) {
    planned += o.planned;
    opened += o.opened;
    failed += o.failed;
    connectErrors += o.connectErrors;
    closed += o.closed;
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
  }
}
