package io.odin.ws.api;

import java.util.Locale;

/**
 * Decides whether a publish body may be received, before and while it is read: its media type, its size
 * ({@code http.maxBodyBytes}) and the bytes of all bodies being received at once ({@code http.maxInFlightBodyBytes}).
 * A body with a Content-Length reserves its whole length up front, so a request that would go over the budget is
 * refused before a byte of it is read; a chunked body reserves each chunk as it arrives. Every reservation is
 * released once the request is answered or its connection closes, so memory held by uploads stays bounded
 * however many clients stall mid-body. Used on the management port's event loop.
 */
public final class BodyAdmission {

  /** What to do with a body, or with its next chunk. */
  public enum Verdict {
    ADMIT,
    /** Over {@code http.maxBodyBytes}: 413. */
    TOO_LARGE,
    /** The in-flight budget is spent: 503, retry later. */
    BUSY
  }

  private final long maxBodyBytes;
  private final long maxInFlightBytes;
  private long inFlight;

  public BodyAdmission(long maxBodyBytes, long maxInFlightBytes) {
    this.maxBodyBytes = maxBodyBytes;
    this.maxInFlightBytes = maxInFlightBytes;
  }

  /** True for {@code application/json}, with or without parameters ({@code ; charset=utf-8}), in any case. */
  public static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
    return type.equals("application/json");
  }

  /** A body of known length: reserves it all, or nothing. */
  public Verdict admit(long contentLength) {
    if (contentLength > maxBodyBytes) {
      return Verdict.TOO_LARGE;
    }
    return reserve(contentLength);
  }

  /**
   * The next chunk of a body of unknown length, of which {@code receivedSoFar} bytes were admitted: reserves the
   * chunk, or nothing.
   */
  public Verdict grow(long receivedSoFar, int chunk) {
    if (receivedSoFar + chunk > maxBodyBytes) {
      return Verdict.TOO_LARGE;
    }
    return reserve(chunk);
  }

  private Verdict reserve(long bytes) {
    if (inFlight + bytes > maxInFlightBytes) {
      return Verdict.BUSY;
    }
    inFlight += bytes;
    return Verdict.ADMIT;
  }

  /** Gives back bytes reserved by {@link #admit} or {@link #grow}. */
  public void release(long bytes) {
    inFlight = Math.max(0, inFlight - bytes);
  }

  /** Bytes reserved now. */
  public long inFlight() {
    return inFlight;
  }
}
