package io.odin.ws.history;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * Where a node reads stored messages back: replays of reconnecting clients, and messages a shard is missing
 * because a dispatcher died between storing and handing over, or two dispatchers raced. Messages are stored by the
 * dispatcher, in the same round trip as the batch's registry lookup ({@code ConnectionRegistry#lookup}), and a
 * registration answers the streams' positions ({@link Registered}).
 */
public interface HistoryStore {

  /**
   * Reads every stream asked for, in one round trip. The answer has one page per read, in order. Fails when the
   * store cannot answer (Redis down, timed out): recovery then answers {@code recovered:false}.
   */
  Future<List<StreamPage>> read(List<StreamRead> reads);

  /** True when messages are being stored: history enabled, and a store this node can use. */
  boolean enabled();

  /** {@code redis}, {@code memory} or {@code none}. */
  String kind();

  /** The {@code history} entry of /health. */
  JsonObject health();

  /** No history: disabled by configuration, or a cluster without Redis (each node's memory would disagree). */
  static HistoryStore none(String why) {
    return new HistoryStore() {
      private final Future<List<StreamPage>> unavailable = Future.failedFuture(new IllegalStateException(why));

      @Override
      public Future<List<StreamPage>> read(List<StreamRead> reads) {
        return unavailable;
      }

      @Override
      public boolean enabled() {
        return false;
      }

      @Override
      public String kind() {
        return "none";
      }

      @Override
      public JsonObject health() {
        return new JsonObject().put("store", "none").put("status", "disabled").put("reason", why);
      }
    };
  }
}
