package io.odin.ws.api;

import io.odin.ws.dispatch.RoutingPlan;
import io.odin.ws.protocol.Envelope;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Gathers the envelopes of the publish requests that complete in one turn of the management port's event loop
 * into one dispatch batch. A producer that sends one message per request, many requests at once, then costs one
 * hand-over to a dispatcher, one registry lookup and one event-bus message per shard per turn, like a producer
 * that sends arrays, instead of one of each per request. Each request is answered with its own share of the
 * batch's routing ({@link Share}).
 * <p>
 * Nothing waits for a timer: the gathered batch is handed over when the turn ends (the task given to
 * {@code endOfTurn} runs after the turn's other reads), or at once when it holds {@code maxBatch} envelopes
 * ({@code http.coalesceMaxEnvelopes}); a request larger than that goes alone. Requests keep their order within a
 * batch. Used on one event loop only.
 */
final class PublishCoalescer {

  /** One request's part of a dispatched batch: positions {@code [from, to)} of the batch's routing plan. */
  record Share(RoutingPlan plan, int from, int to) {
    int count(RoutingPlan.Route route) {
      return plan.count(route, from, to);
    }
  }

  private record Waiting(int from, int to, Promise<Share> answer) {
  }

  private final Function<List<Envelope>, Future<RoutingPlan>> dispatch;
  private final Consumer<Runnable> endOfTurn;
  private final int maxBatch;
  private List<Envelope> gathered = new ArrayList<>();
  private List<Waiting> waiting = new ArrayList<>();

  /**
   * @param dispatch  hands a batch to a dispatcher; completes with the batch's routing plan once it reached the shards
   * @param endOfTurn runs a task after the event loop's current turn
   * @param maxBatch  the most envelopes gathered into one batch (1: every request alone)
   */
  PublishCoalescer(Function<List<Envelope>, Future<RoutingPlan>> dispatch, Consumer<Runnable> endOfTurn, int maxBatch) {
    this.dispatch = dispatch;
    this.endOfTurn = endOfTurn;
    this.maxBatch = Math.max(1, maxBatch);
  }

  /** Adds one request's envelopes (at least one) to the batch being gathered; completes with the request's share. */
  Future<Share> submit(List<Envelope> envelopes) {
    if (!gathered.isEmpty() && gathered.size() + envelopes.size() > maxBatch) {
      handOver();
    }
    boolean first = gathered.isEmpty();
    int from = gathered.size();
    gathered.addAll(envelopes);
    Promise<Share> answer = Promise.promise();
    waiting.add(new Waiting(from, gathered.size(), answer));
    if (gathered.size() >= maxBatch) {
      handOver();
    } else if (first) {
      endOfTurn.accept(this::handOver);
    }
    return answer.future();
  }

  /** Envelopes gathered and not handed over yet. */
  int gathered() {
    return gathered.size();
  }

  private void handOver() {
    if (gathered.isEmpty()) {
      return;
    }
    List<Envelope> batch = gathered;
    List<Waiting> answers = waiting;
    gathered = new ArrayList<>();
    waiting = new ArrayList<>();
    dispatch.apply(batch).onComplete(ar -> {
      for (Waiting w : answers) {
        if (ar.succeeded()) {
          w.answer.complete(new Share(ar.result(), w.from, w.to));
        } else {
          w.answer.fail(ar.cause());
        }
      }
    });
  }
}
