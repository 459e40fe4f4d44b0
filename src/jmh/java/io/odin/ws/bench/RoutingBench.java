package io.odin.ws.bench;

import io.odin.ws.dispatch.RoutingPlan;
import io.odin.ws.dispatch.RoutingPlanner;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeException;
import io.odin.ws.registry.InMemoryConnectionRegistry;
import io.odin.ws.registry.RegistryLookup;
import io.odin.ws.registry.ShardDirectory;
import io.odin.ws.shard.ShardBatch;
import io.odin.ws.shard.ShardBatchCodec;
import io.vertx.core.buffer.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Routing decisions and per-shard batch building for one dispatched batch of 50 messages: which tokens to look up,
 * the registry lookup (in memory), the plan (shard address to its envelopes), one {@link ShardBatch} per shard,
 * and, for shards on other nodes, the batch's wire encoding.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RoutingBench {

  @Param({"1", "8"})
  int shards;

  ShardDirectory directory;
  InMemoryConnectionRegistry registry;
  List<Envelope> targeted;
  List<Envelope> mixed;
  RegistryLookup lookup;
  ShardBatchCodec codec = new ShardBatchCodec();
  ShardBatch batchForOneShard;

  @Setup
  public void setup() throws EnvelopeException {
    directory = new ShardDirectory();
    registry = new InMemoryConnectionRegistry();
    for (int s = 0; s < shards; s++) {
      directory.add("odin.shard.n1." + s);
    }
    int tokens = 10_000;
    for (int t = 0; t < tokens; t++) {
      registry.register("user-" + t, "odin.shard.n1." + (t % shards));
    }
    targeted = Fixtures.parsedTargeted(50, tokens);
    mixed = new ArrayList<>(targeted.subList(0, 40));
    for (int i = 0; i < 10; i++) {
      mixed.add(Fixtures.PARSER.parse(Fixtures.broadcast(200), null, null, 0));
    }
    lookup = registry.lookup(RoutingPlanner.tokensToLookUp(targeted)).result();
    batchForOneShard = new ShardBatch(targeted);
  }

  @Benchmark
  public Set<String> tokensToLookUp() {
    return RoutingPlanner.tokensToLookUp(targeted);
  }

  @Benchmark
  public RoutingPlan planTargeted50() {
    return RoutingPlanner.plan(targeted, lookup, directory);
  }

  @Benchmark
  public RoutingPlan planMixed40Targeted10Broadcast() {
    return RoutingPlanner.plan(mixed, lookup, directory);
  }

  /** Lookup, plan and one ShardBatch per shard: everything the dispatcher does for a batch but the sends. */
  @Benchmark
  public int lookupPlanAndBuildShardBatches() {
    RegistryLookup l = registry.lookup(RoutingPlanner.tokensToLookUp(targeted)).result();
    RoutingPlan plan = RoutingPlanner.plan(targeted, l, directory);
    int n = 0;
    for (Map.Entry<String, List<Envelope>> e : plan.byShard().entrySet()) {
      n += new ShardBatch(e.getValue()).envelopes().size();
    }
    return n;
  }

  /** Encoding a 50-message batch for a shard on another node (cluster event bus). */
  @Benchmark
  public Buffer encodeShardBatchForTheWire() {
    Buffer b = Buffer.buffer(16 * 1024);
    codec.encodeToWire(b, batchForOneShard);
    return b;
  }
}
