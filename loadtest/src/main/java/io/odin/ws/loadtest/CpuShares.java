package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The mean CPU of the server, the load tool and everything else on the machine over a stretch of the run, in
 * percent of one core, from the timeline's one-second samples. On a machine that runs the load tool beside the
 * server, their sum against the cores there are says whether a phase measured the server or the machine.
 */
record CpuShares(double server, double tool, double other) {

  /** The samples with {@code fromSeconds < t <= toSeconds}; NaN for a share no sample had. */
  static CpuShares over(List<Sample> timeline, double fromSeconds, double toSeconds) {
    double[] sum = new double[3];
    int[] n = new int[3];
    for (Sample s : timeline) {
      if (s.t() > fromSeconds && s.t() <= toSeconds) {
        add(sum, n, 0, s.serverCpuPct());
        add(sum, n, 1, s.toolCpuPct());
        add(sum, n, 2, s.otherCpuPct());
      }
    }
    return new CpuShares(mean(sum, n, 0), mean(sum, n, 1), mean(sum, n, 2));
  }

  private static void add(double[] sum, int[] n, int i, double v) {
    if (!Double.isNaN(v)) {
      sum[i] += v;
      n[i]++;
    }
  }

  private static double mean(double[] sum, int[] n, int i) {
    return n[i] == 0 ? Double.NaN : sum[i] / n[i];
  }

  JsonObject toJson() {
    JsonObject j = new JsonObject();
    if (!Double.isNaN(server)) {
      j.put("server", Sample.round(server, 1));
    }
    if (!Double.isNaN(tool)) {
      j.put("tool", Sample.round(tool, 1));
    }
    if (!Double.isNaN(other)) {
      j.put("other", Sample.round(other, 1));
    }
    return j;
  }
}
