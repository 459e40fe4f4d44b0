package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;

/** Round figures and prices, so that a plan's numbers can be worked out by hand in the tests' comments. */
final class TestFigures {

  private TestFigures() {
  }

  static Map<Figure, Figures.Value> values() {
    Map<Figure, Figures.Value> v = new EnumMap<>(Figure.class);
    put(v, Figure.IDLE_RSS, 100);
    put(v, Figure.RSS_PER_CONNECTION, 3000);
    put(v, Figure.HEAP_PER_CONNECTION, 2000);
    put(v, Figure.KERNEL_PER_CONNECTION, 1000);
    put(v, Figure.CPU_PER_CONNECTION_SECOND, 1);
    put(v, Figure.CPU_PER_HANDSHAKE, 100);
    put(v, Figure.CPU_PER_TARGETED_HTTP, 20);
    put(v, Figure.CPU_PER_TARGETED_KAFKA, 25);
    put(v, Figure.CPU_PER_BROADCAST, 10);
    put(v, Figure.REDIS_TARGETED, 6);
    put(v, Figure.REDIS_BROADCAST, 8);
    put(v, Figure.REDIS_CONNECT, 8);
    put(v, Figure.REDIS_HEARTBEAT, 8);
    put(v, Figure.REDIS_RECONNECT, 12);
    put(v, Figure.REDIS_TARGETED_NO_HISTORY, 1);
    put(v, Figure.REDIS_BROADCAST_NO_HISTORY, 1);
    put(v, Figure.REDIS_CONNECT_NO_HISTORY, 5);
    put(v, Figure.REDIS_HEARTBEAT_NO_HISTORY, 5);
    put(v, Figure.REDIS_RECONNECT_NO_HISTORY, 7);
    put(v, Figure.REDIS_BYTES_PER_CONNECTION, 400);
    put(v, Figure.REDIS_BYTES_PER_STORED_MESSAGE, 300);
    put(v, Figure.REDIS_STORED_FRAME_BYTES, 100);
    put(v, Figure.REDIS_COMMANDS_PER_MASTER, 100_000);
    put(v, Figure.KAFKA_BYTES_PER_PARTITION, 5_000_000);
    put(v, Figure.KAFKA_BYTES_PER_BROKER, 30_000_000);
    put(v, Figure.RELAY_OVERHEAD_BYTES, 100);
    return v;
  }

  static Figures figures() {
    return Figures.of(values(), new JsonObject().put("at", "test"), "test figures");
  }

  static Prices prices() {
    try (InputStream in = TestFigures.class.getClassLoader().getResourceAsStream("capacity/test-prices.json")) {
      return Prices.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "test-prices.json");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void put(Map<Figure, Figures.Value> v, Figure f, double value) {
    v.put(f, new Figures.Value(value, "test"));
  }
}
