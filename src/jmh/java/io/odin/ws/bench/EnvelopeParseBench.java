package io.odin.ws.bench;

import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** Envelope parsing: the edge of the node, once per message (the client frame is built here too). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EnvelopeParseBench {

  byte[] targeted = Fixtures.targeted(42);
  byte[] broadcast1k = Fixtures.broadcast(1024);
  byte[] batch50 = Fixtures.batch(50);

  @Benchmark
  public Envelope targetedSmall() throws EnvelopeException {
    return Fixtures.PARSER.parse(targeted, null, null, 0);
  }

  @Benchmark
  public Envelope broadcast1KiB() throws EnvelopeException {
    return Fixtures.PARSER.parse(broadcast1k, null, null, 0);
  }

  /** A publish request of 50 envelopes; divide by 50 for the cost per message. */
  @Benchmark
  public List<Envelope> batchOf50() throws EnvelopeException {
    return Fixtures.PARSER.parseBatch(batch50, 0);
  }
}
