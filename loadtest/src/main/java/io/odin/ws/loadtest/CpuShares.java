package io.odin.ws.loadtest;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.function.Predicate;

/**
 * The mean CPU of the server, the load tool and everything else on the machine over a stretch of the run, in
 * percent of one core, from the timeline's one-second samples. On a machine that runs the load tool beside the
 * server, their sum against the cores there are says whether a phase measured the server or the machine.
 */
record CpuShares(double server, double tool, double other) {

  /** The samples with {@code fromSeconds < t <= toSeconds}; NaN for a share no sample had. */
  static CpuShares over(List<Sample> timeline, double fromSeconds, double toSeconds) {
    Predicate<Sample> inside = s -> s.t() > fromSeconds && s.t() <= toSeconds;
    return new CpuShares(Sample.mean(timeline, inside, Sample::serverCpuPct),
      Sample.mean(timeline, inside, Sample::toolCpuPct), Sample.mean(timeline, inside, Sample::otherCpuPct));
  }

  /** The shares that had samples, rounded as the timeline's are. */
  JsonObject toJson() {
    JsonObject j = new JsonObject();
    Sample.putIf(j, "server", server);
    Sample.putIf(j, "tool", tool);
    Sample.putIf(j, "other", other);
    return j;
  }
}
