package io.odin.ws.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small line chart rendered to inline SVG, so reports open in any browser with no script and no network.
 * NaN values break a line. Optional shaded bands mark phases along the x axis.
 */
public final class SvgChart {

  private static final int W = 880;
  private static final int H = 300;
  private static final int LEFT = 70;
  private static final int RIGHT = 20;
  private static final int TOP = 40;
  private static final int BOTTOM = 45;

  private record Series(String name, String color, double[] xs, double[] ys, boolean dashed, boolean markers) {
  }

  private record Band(double from, double to, String label, String color) {
  }

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<Series> series = new ArrayList<>();
  private final List<Band> bands = new ArrayList<>();
  private double[] xTicks;

  public SvgChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  public SvgChart line(String name, String color, double[] xs, double[] ys) {
    series.add(new Series(name, color, xs, ys, false, false));
    return this;
  }

  public SvgChart dashed(String name, String color, double[] xs, double[] ys) {
    series.add(new Series(name, color, xs, ys, true, false));
    return this;
  }

  /** A line with a dot at each point, for charts with few points (the shard sweep). */
  public SvgChart points(String name, String color, double[] xs, double[] ys) {
    series.add(new Series(name, color, xs, ys, false, true));
    return this;
  }

  public SvgChart band(double from, double to, String label, String color) {
    bands.add(new Band(from, to, label, color));
    return this;
  }

  /** Ticks at exactly these x values (e.g. 1, 2, 4, 8 shards) instead of evenly spaced ones. */
  public SvgChart xTicks(double... ticks) {
    this.xTicks = ticks;
    return this;
  }

  public String render() {
    double xMin = Double.POSITIVE_INFINITY;
    double xMax = Double.NEGATIVE_INFINITY;
    double yMax = 0;
    for (Series s : series) {
      for (int i = 0; i < s.xs.length; i++) {
        // the x range covers every point, so charts of one run share their time axis
        xMin = Math.min(xMin, s.xs[i]);
        xMax = Math.max(xMax, s.xs[i]);
        if (!Double.isNaN(s.ys[i]) && !Double.isInfinite(s.ys[i])) {
          yMax = Math.max(yMax, s.ys[i]);
        }
      }
    }
    if (xTicks != null) {
      for (double t : xTicks) {
        xMin = Math.min(xMin, t);
        xMax = Math.max(xMax, t);
      }
    }
    if (xMin == Double.POSITIVE_INFINITY) {
      xMin = 0;
      xMax = 1;
    }
    if (xMax <= xMin) {
      xMax = xMin + 1;
    }
    yMax = niceCeiling(yMax <= 0 ? 1 : yMax * 1.05);
    double fxMin = xMin;
    double fxMax = xMax;
    double fyMax = yMax;
    int pw = W - LEFT - RIGHT;
    int ph = H - TOP - BOTTOM;
    java.util.function.DoubleUnaryOperator px = x -> LEFT + (x - fxMin) / (fxMax - fxMin) * pw;
    java.util.function.DoubleUnaryOperator py = y -> TOP + ph - y / fyMax * ph;
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
      + "font-family=\"sans-serif\" font-size=\"12\">%n", W, H, W, H));
    sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", LEFT, esc(title)));
    for (Band b : bands) {
      double x0 = px.applyAsDouble(Math.max(b.from, xMin));
      double x1 = px.applyAsDouble(Math.min(b.to, xMax));
      if (x1 > x0) {
        sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" opacity=\"0.25\"/>%n",
          x0, TOP, x1 - x0, ph, b.color));
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" fill=\"#666\" font-size=\"10\">%s</text>%n",
          x0 + 3, TOP + 11, esc(b.label)));
      }
    }
    // axes and grid
    for (int i = 0; i <= 5; i++) {
      double y = yMax * i / 5;
      double yy = py.applyAsDouble(y);
      sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", LEFT, yy, W - RIGHT, yy));
      sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT - 6, yy + 4, fmt(y)));
    }
    double[] ticks = xTicks;
    if (ticks == null) {
      ticks = new double[6];
      for (int i = 0; i <= 5; i++) {
        ticks[i] = xMin + (xMax - xMin) * i / 5;
      }
    }
    for (double x : ticks) {
      double xx = px.applyAsDouble(x);
      sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>%n", xx, TOP + ph, xx, TOP + ph + 4));
      sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", xx, TOP + ph + 17, fmt(x)));
    }
    sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n", LEFT, TOP, pw, ph));
    sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", LEFT + pw / 2, H - 6, esc(xLabel)));
    sb.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>%n",
      TOP + ph / 2, TOP + ph / 2, esc(yLabel)));
    // series
    int legendX = LEFT + 10;
    for (Series s : series) {
      StringBuilder path = new StringBuilder();
      boolean pen = false;
      for (int i = 0; i < s.xs.length; i++) {
        double y = s.ys[i];
        if (Double.isNaN(y) || Double.isInfinite(y)) {
          pen = false;
          continue;
        }
        path.append(pen ? " L" : " M").append(String.format(Locale.ROOT, "%.1f %.1f", px.applyAsDouble(s.xs[i]), py.applyAsDouble(y)));
        pen = true;
        if (s.markers) {
          sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %s</title></circle>%n",
            px.applyAsDouble(s.xs[i]), py.applyAsDouble(y), s.color, esc(s.name), fmt(y)));
        }
      }
      if (path.length() > 0) {
        sb.append(String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s/>%n",
          path.toString().trim(), s.color, s.dashed ? " stroke-dasharray=\"5 4\"" : ""));
      }
      sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"26\" width=\"14\" height=\"4\" fill=\"%s\"/>"
        + "<text x=\"%d\" y=\"31\">%s</text>%n", legendX, s.color, legendX + 18, esc(s.name)));
      legendX += 30 + 7 * s.name.length();
    }
    sb.append("</svg>\n");
    return sb.toString();
  }

  static double niceCeiling(double v) {
    double exp = Math.pow(10, Math.floor(Math.log10(v)));
    double f = v / exp;
    double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * exp;
  }

  static String fmt(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return String.format(Locale.ROOT, "%,d", (long) v);
    }
    if (Math.abs(v) >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
