package io.odin.ws.history;

/**
 * A read of one stream: up to {@code limit} messages after {@code afterSeq}, if the stream is still in epoch
 * {@code epoch}. Every read also answers where the stream stands now ({@link StreamPage#top()}), creating the stream's
 * position when it has none, so that a connection always gets a position it can later recover from.
 */
public record StreamRead(String stream, long epoch, long afterSeq, int limit) {

  /** Only where the stream stands. */
  public static StreamRead top(String stream) {
    return new StreamRead(stream, 0, 0, 0);
  }
}
