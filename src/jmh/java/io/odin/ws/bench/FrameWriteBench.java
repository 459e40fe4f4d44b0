package io.odin.ws.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.odin.ws.protocol.FrameEncoder;
import io.netty.buffer.PooledByteBufAllocator;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Writing one shared frame to one socket, short of the kernel, on an {@link EmbeddedChannel} with Netty's
 * server-side WebSocket encoder: the shard's way (the frame encoded once per message, a retained duplicate per
 * socket, which the encoder lets through) against wrapping the bytes in a frame that the encoder encodes per socket.
 * The system-call and loopback cost is what the load tests measure (docs/benchmarks.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FrameWriteBench {

  @Param({"120", "2048"})
  int dataBytes;

  byte[] frame;
  EmbeddedChannel channel;

  @Setup
  public void setup() {
    byte[] data = ("{\"text\":\"" + "x".repeat(Math.max(0, dataBytes - 11)) + "\"}").getBytes(StandardCharsets.UTF_8);
    frame = FrameEncoder.message("order-update", null, data, 0, data.length);
    channel = new EmbeddedChannel(new WebSocket08FrameEncoder(false));
    wire = PooledByteBufAllocator.DEFAULT.directBuffer(frame.length + 4);
    wire.writeByte(0x81);
    if (frame.length <= 125) {
      wire.writeByte(frame.length);
    } else {
      wire.writeByte(126).writeShort(frame.length);
    }
    wire.writeBytes(frame);
  }

  ByteBuf wire;

  @TearDown
  public void tearDown() {
    channel.finishAndReleaseAll();
    wire.release();
  }

  /** What ShardVerticle writes per socket per message: a duplicate of the frame encoded once. */
  @Benchmark
  public int sharedWire() {
    channel.writeOneOutbound(wire.retainedDuplicate());
    channel.flushOutbound();
    int bytes = 0;
    Object out;
    while ((out = channel.readOutbound()) != null) {
      bytes += ((ByteBuf) out).readableBytes();
      ((ByteBuf) out).release();
    }
    return bytes;
  }

  /** Wrap plus Netty's WebSocket frame encoding through a channel pipeline, per socket per message. */
  @Benchmark
  public int wrapAndEncode() {
    channel.writeOneOutbound(new TextWebSocketFrame(true, 0, Unpooled.wrappedBuffer(frame)));
    channel.flushOutbound();
    int bytes = 0;
    Object out;
    while ((out = channel.readOutbound()) != null) {
      bytes += ((ByteBuf) out).readableBytes();
      ((ByteBuf) out).release();
    }
    return bytes;
  }
}
