package io.odin.ws.bench;

import io.odin.ws.protocol.FrameEncoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Building the client frame {"type":..,"channel":..,"data":..} from the envelope's bytes: once per message. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FrameEncodeBench {

  byte[] small = "{\"id\":42,\"state\":\"shipped\",\"eta\":\"2026-11-28T10:00:00Z\",\"items\":[1,2,3]}"
    .getBytes(StandardCharsets.UTF_8);
  byte[] large = ("{\"text\":\"" + "x".repeat(4096) + "\"}").getBytes(StandardCharsets.UTF_8);

  @Benchmark
  public byte[] smallData() {
    return FrameEncoder.message("order-update", null, small, 0, small.length);
  }

  @Benchmark
  public byte[] smallDataWithChannel() {
    return FrameEncoder.message("order-update", "orders.eu-west", small, 0, small.length);
  }

  @Benchmark
  public byte[] data4KiB() {
    return FrameEncoder.message("system-announcement", "global", large, 0, large.length);
  }

  @Benchmark
  public byte[] nonAsciiType() {
    return FrameEncoder.message("mise-à-jour-commande", null, small, 0, small.length);
  }
}
