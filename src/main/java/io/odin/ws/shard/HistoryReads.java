package io.odin.ws.shard;

import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamRead;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * A shard's reads of the history, coalesced: the reads asked for in one turn of the shard's event loop go to the
 * store together, at most {@link #MAX_PER_CALL} per call (a Redis script call holds Redis for its whole length), and
 * identical reads (a reconnect storm's clients with the same broadcast cursor) are made once. So 15,000 clients
 * reconnecting after a drain cost a few hundred calls, not 30,000 round trips. Confined to the shard's event loop.
 */
final class HistoryReads {

  static final int MAX_PER_CALL = 128;

  private final HistoryStore store;
  /** Runs a task on the shard's event loop after the current one (the turn's reads are collected by then). */
  private final Executor nextTurn;
  private Map<StreamRead, Promise<StreamPage>> queued = new LinkedHashMap<>();
  private long calls;

  HistoryReads(HistoryStore store, Executor nextTurn) {
    this.store = store;
    this.nextTurn = nextTurn;
  }

  Future<StreamPage> read(StreamRead read) {
    Promise<StreamPage> p = queued.get(read);
    if (p == null) {
      if (queued.isEmpty()) {
        nextTurn.execute(this::flush);
      }
      p = Promise.promise();
      queued.put(read, p);
    }
    return p.future();
  }

  private void flush() {
    Map<StreamRead, Promise<StreamPage>> reads = queued;
    queued = new LinkedHashMap<>();
    List<StreamRead> chunk = new ArrayList<>(Math.min(MAX_PER_CALL, reads.size()));
    List<Promise<StreamPage>> promises = new ArrayList<>(chunk.size());
    for (Map.Entry<StreamRead, Promise<StreamPage>> e : reads.entrySet()) {
      chunk.add(e.getKey());
      promises.add(e.getValue());
      if (chunk.size() == MAX_PER_CALL) {
        send(chunk, promises);
        chunk = new ArrayList<>(MAX_PER_CALL);
        promises = new ArrayList<>(MAX_PER_CALL);
      }
    }
    if (!chunk.isEmpty()) {
      send(chunk, promises);
    }
  }

  private void send(List<StreamRead> chunk, List<Promise<StreamPage>> promises) {
    calls++;
    store.read(chunk).onComplete(ar -> {
      for (int i = 0; i < promises.size(); i++) {
        if (ar.succeeded() && i < ar.result().size()) {
          promises.get(i).tryComplete(ar.result().get(i));
        } else {
          promises.get(i).tryFail(ar.failed() ? ar.cause() : new IllegalStateException("no page for " + chunk.get(i)));
        }
      }
    });
  }

  /** Store calls made so far. */
  long calls() {
    return calls;
  }
}
