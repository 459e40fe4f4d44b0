package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/** One second of the run, for the timeline and the chart. Latencies in milliseconds, NaN when nothing arrived. */
public record Sample(double t, String phase, long connections, double sentPerSec, double deliveriesPerSec,
                     double p50, double p90, double p99, double max, double serverRssMiB, double serverCpuPct,
                     double toolCpuPct, double otherCpuPct) {

  public JsonObject toJson() {
    JsonObject j = new JsonObject()
      .put("t", round(t, 2))
      .put("phase", phase)
      .put("connections", connections)
      .put("sentPerSec", round(sentPerSec, 1))
      .put("deliveriesPerSec", round(deliveriesPerSec, 1));
    putIf(j, "p50Ms", p50);
    putIf(j, "p90Ms", p90);
    putIf(j, "p99Ms", p99);
    putIf(j, "maxMs", max);
    putIf(j, "serverRssMiB", serverRssMiB);
    putIf(j, "serverCpuPct", serverCpuPct);
    putIf(j, "toolCpuPct", toolCpuPct);
    putIf(j, "otherCpuPct", otherCpuPct);
    return j;
  }

  public static Sample fromJson(JsonObject j) {
    return new Sample(j.getDouble("t"), j.getString("phase"), j.getLong("connections"), j.getDouble("sentPerSec"),
      j.getDouble("deliveriesPerSec"), d(j, "p50Ms"), d(j, "p90Ms"), d(j, "p99Ms"), d(j, "maxMs"),
      d(j, "serverRssMiB"), d(j, "serverCpuPct"), d(j, "toolCpuPct"), d(j, "otherCpuPct"));
  }

  private static double d(JsonObject j, String key) {
    Double v = j.getDouble(key);
    return v == null ? Double.NaN : v;
  }

  /** The mean of {@code f} over the samples {@code which} selects, leaving out those without a figure; NaN if none. */
  static double mean(List<Sample> timeline, Predicate<Sample> which, ToDoubleFunction<Sample> f) {
    double sum = 0;
    int n = 0;
    for (Sample s : timeline) {
      double v = f.applyAsDouble(s);
      if (which.test(s) && !Double.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  static void putIf(JsonObject j, String key, double v) {
    if (!Double.isNaN(v)) {
      j.put(key, round(v, 3));
    }
  }

  static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
