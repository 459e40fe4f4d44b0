package io.odin.ws.loadtest;

import java.util.List;

/** Client connections, in this process ({@link ClientFleet}) or in a child process ({@link ChildFleet}). */
public interface Fleet extends AutoCloseable {

  /** Starts opening connections at the fleet's ramp rate. */
  void start();

  /** Counters now, and latencies recorded since the previous call. */
  FleetStats poll();

  /** Brings {@link #poll()} up to date (a child process reports periodically; this asks it now). */
  default void flush() {
  }

  /** What every connection received (needs receipts recording on). Call when no more messages are coming. */
  List<ConnectionRecord> receipts();

  @Override
  void close();
}
