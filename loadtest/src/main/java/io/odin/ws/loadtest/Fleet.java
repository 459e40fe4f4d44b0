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

  /**
   * An offline spell: the connections it takes ({@link ClientFleet#takenBySpell}: the same ones in every process)
   * close and come back after {@code millis}, with their cursor when the run reconnects with one.
   */
  void offline(int permille, long millis, int salt);

  /**
   * Churn (or, with many at once, a reconnect storm): the connections it takes ({@link ClientFleet#takenBySpell}) close
   * and come back to the node they first connected to, each after a random share of {@code maxAwayMillis}, with their
   * cursor when the run reconnects with one.
   */
  void churn(int permille, long maxAwayMillis, int salt);

  /** What every connection received (needs receipts recording on). Call when no more messages are coming. */
  List<ConnectionRecord> receipts();

  @Override
  void close();
}
