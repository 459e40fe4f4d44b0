package io.odin.ws.loadtest;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuSharesTest {

  private static Sample at(double t, double server, double tool, double other) {
    return new Sample(t, "publish", 10, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 100, server, tool, other);
  }

  @Test
  void meansOfTheSamplesInsideThePhaseOnly() {
    List<Sample> timeline = List.of(
      at(1, 10, 10, 10),     // before the phase
      at(2, 80, 40, 20),
      at(3, 100, 60, 40),
      at(4, 200, 200, 200)); // after it
    CpuShares c = CpuShares.over(timeline, 1, 3);
    assertEquals(90, c.server(), 1e-9);
    assertEquals(50, c.tool(), 1e-9);
    assertEquals(30, c.other(), 1e-9);
    assertEquals(90.0, c.toJson().getDouble("server"));
  }

  @Test
  void samplesWithoutAFigureAreLeftOutNotCountedAsZero() {
    // the first sample after start has no CPU delta yet; without --server-pid there is no server figure at all
    List<Sample> timeline = List.of(at(1, Double.NaN, Double.NaN, Double.NaN), at(2, Double.NaN, 50, 30));
    CpuShares c = CpuShares.over(timeline, 0, 2);
    assertTrue(Double.isNaN(c.server()));
    assertEquals(50, c.tool(), 1e-9);
    assertFalse(c.toJson().containsKey("server"));
  }
}
