package io.odin.ws.loadtest;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** The load tool's HTML chart: key figures, then connections, throughput, latency and CPU over time. */
final class HtmlReport {

  private HtmlReport() {
  }

  static String render(JsonObject report) {
    List<Sample> samples = new ArrayList<>();
    for (Object o : report.getJsonArray("timeline", new JsonArray())) {
      samples.add(Sample.fromJson((JsonObject) o));
    }
    double[] t = col(samples, Sample::t);
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>odin-ws load test ")
      .append(SvgChart.esc(report.getString("runId", ""))).append("</title>\n<style>")
      .append("body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:10px 0}")
      .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}td{word-break:break-all;max-width:760px}")
      .append("pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}</style></head><body>\n");
    sb.append("<h1>odin-ws load test</h1>\n");
    String label = report.getString("label", "");
    if (!label.isEmpty()) {
      sb.append("<p><b>").append(SvgChart.esc(label)).append("</b></p>\n");
    }
    sb.append("<table>\n");
    row(sb, "finished", report.getString("finishedAt"));
    row(sb, "machine", report.getJsonObject("machine").encode());
    row(sb, "options", report.getJsonObject("options").encode());
    row(sb, "connections", report.getJsonObject("connections").encode());
    row(sb, "publish", report.getJsonObject("publish").encode());
    row(sb, "deliveries", report.getJsonObject("deliveries").encode());
    JsonObject lat = report.getJsonObject("latencyMs");
    for (String k : List.of("all", "targeted", "broadcast")) {
      row(sb, "latency " + k + " (ms)", lat.getJsonObject(k).encode());
    }
    if (report.getJsonObject("server") != null) {
      row(sb, "server", report.getJsonObject("server").encode());
    }
    JsonObject v = report.getJsonObject("verification");
    if (v != null) {
      row(sb, "routing verification", (v.getBoolean("ok") ? "OK " : "VIOLATIONS ") + v.getJsonObject("counts").encode()
        + ", " + v.getLong("requiredDeliveries") + " required deliveries");
    }
    row(sb, "exit status", String.valueOf(report.getInteger("exitCode")));
    sb.append("</table>\n");
    if (v != null && !v.getJsonArray("examples").isEmpty()) {
      sb.append("<h3>Violations (examples)</h3><pre>");
      for (Object e : v.getJsonArray("examples")) {
        sb.append(SvgChart.esc(e.toString())).append('\n');
      }
      sb.append("</pre>\n");
    }
    JsonArray problems = report.getJsonArray("problems", new JsonArray());
    if (!problems.isEmpty()) {
      sb.append("<h3>Problems</h3><pre>");
      for (Object p : problems) {
        sb.append(SvgChart.esc(p.toString())).append('\n');
      }
      sb.append("</pre>\n");
    }
    sb.append(withPhases(new SvgChart("Connections", "seconds", "open connections"), samples)
      .line("open connections", "#1f77b4", t, col(samples, s -> s.connections())).render());
    sb.append(withPhases(new SvgChart("Deliveries per second (frames received by all clients)", "seconds", "deliveries/s"), samples)
      .line("deliveries/s", "#2ca02c", t, col(samples, Sample::deliveriesPerSec)).render());
    sb.append(withPhases(new SvgChart("Published messages per second", "seconds", "messages/s"), samples)
      .line("published msgs/s", "#ff7f0e", t, col(samples, Sample::sentPerSec)).render());
    sb.append(withPhases(new SvgChart("End-to-end latency (per second)", "seconds", "milliseconds"), samples)
      .line("p50", "#2ca02c", t, col(samples, Sample::p50))
      .line("p90", "#1f77b4", t, col(samples, Sample::p90))
      .line("p99", "#d62728", t, col(samples, Sample::p99))
      .dashed("max", "#7f7f7f", t, col(samples, Sample::max)).render());
    SvgChart res = withPhases(new SvgChart("CPU and memory", "seconds", "% of one core / MiB"), samples)
      .line("load tool CPU %", "#9467bd", t, col(samples, Sample::toolCpuPct))
      .line("other processes CPU %", "#bcbd22", t, col(samples, Sample::otherCpuPct));
    if (report.getJsonObject("server") != null) {
      res.line("gateway CPU %", "#d62728", t, col(samples, Sample::serverCpuPct))
        .dashed("gateway RSS MiB", "#8c564b", t, col(samples, Sample::serverRssMiB));
    }
    sb.append(res.render());
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static SvgChart withPhases(SvgChart chart, List<Sample> samples) {
    String[] colors = {"#c6dbef", "#c7e9c0", "#fdd0a2", "#dadaeb"};
    int c = 0;
    int i = 0;
    while (i < samples.size()) {
      String phase = samples.get(i).phase();
      int j = i;
      while (j + 1 < samples.size() && samples.get(j + 1).phase().equals(phase)) {
        j++;
      }
      double from = i == 0 ? 0 : samples.get(i - 1).t();
      chart.band(from, samples.get(j).t(), phase, colors[c++ % colors.length]);
      i = j + 1;
    }
    return chart;
  }

  private static double[] col(List<Sample> samples, ToDoubleFunction<Sample> f) {
    double[] out = new double[samples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = f.applyAsDouble(samples.get(i));
    }
    return out;
  }

  private static void row(StringBuilder sb, String k, String v) {
    sb.append(String.format(Locale.ROOT, "<tr><th>%s</th><td>%s</td></tr>%n", SvgChart.esc(k), SvgChart.esc(v == null ? "" : v)));
  }
}
