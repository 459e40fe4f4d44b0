package io.odin.ws.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.spi.metrics.Metrics;
import io.vertx.core.spi.metrics.MetricsProvider;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.Match;
import io.vertx.micrometer.MatchType;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.vertx.micrometer.impl.MicrometerMetrics;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Pattern;

/**
 * How Vert.x's own metrics (event bus, HTTP and WebSocket servers, JVM) are switched on for a node, and where
 * the node finds the Prometheus registry they write to.
 * <p>Event-bus {@code address} labels are kept to a bounded set: every address is mapped to its class
 * ({@link #ADDRESS_CLASSES}), anything unclassified becomes {@value #OTHER_ADDRESSES}. Internal addresses
 * ({@code __vertx.*}, e.g. reply addresses) are never labelled by Vert.x.
 */
public final class VertxMetricsSetup {

  /** The label value of event-bus addresses that belong to no class. */
  public static final String OTHER_ADDRESSES = "other";

  /**
   * Address classes, as regular expression to label value. Roles with addresses of their own (e.g. the cluster)
   * add their class here, so that it gets its own label instead of {@value #OTHER_ADDRESSES}.
   */
  public static final Map<String, String> ADDRESS_CLASSES;

  static {
    Map<String, String> classes = new LinkedHashMap<>();
    classes.put("odin\\.shard\\..+", "odin.shard");                  // odin.shard.<node>.<n>: dispatchers to shards
    classes.put("odin\\.dispatch\\..+", "odin.dispatch");            // odin.dispatch.<n>: publish API and ingest to dispatchers
    classes.put("odin\\.node\\..+\\.relay", "odin.node.relay");      // odin.node.<node>.relay: other nodes' batches (cluster)
    classes.put("odin\\.cluster\\..+", "odin.cluster");              // cluster bookkeeping (shard directory announcements)
    ADDRESS_CLASSES = java.util.Collections.unmodifiableMap(classes);
  }

  private VertxMetricsSetup() {
  }

  /** The options for the process-wide default registry (what the launcher uses). */
  public static MicrometerMetricsOptions options() {
    return options(MicrometerMetricsOptions.DEFAULT_REGISTRY_NAME);
  }

  /**
   * Metrics options with Prometheus, JVM metrics and the labels odin-ws uses. {@code registryName} must be unique
   * per Vert.x instance of the JVM (Vert.x keeps its backends in a static map by that name).
   */
  public static MicrometerMetricsOptions options(String registryName) {
    MicrometerMetricsOptions options = new MicrometerMetricsOptions()
      .setEnabled(true)
      .setRegistryName(registryName)
      .setJvmMetricsEnabled(true)
      .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))
      // "local" tells the WebSocket server (ws.port) from the management one (http.port); "route" is bounded by
      // the router, unlike "path"; no "remote" (one series per client)
      .setLabels(EnumSet.of(Label.EB_ADDRESS, Label.EB_SIDE, Label.EB_FAILURE, Label.HTTP_METHOD, Label.HTTP_CODE,
        Label.HTTP_ROUTE, Label.LOCAL, Label.POOL_TYPE, Label.POOL_NAME));
    StringJoiner known = new StringJoiner("|", "(?!(?:", ")$).*");
    for (Map.Entry<String, String> c : ADDRESS_CLASSES.entrySet()) {
      options.addLabelMatch(new Match().setDomain(MetricsDomain.EVENT_BUS).setLabel(Label.EB_ADDRESS.toString())
        .setType(MatchType.REGEX).setValue(c.getKey()).setAlias(c.getValue()));
      known.add(Pattern.quote(c.getValue()));
    }
    // applied after the classes above: whatever is still not a class name is "other"
    options.addLabelMatch(new Match().setDomain(MetricsDomain.EVENT_BUS).setLabel(Label.EB_ADDRESS.toString())
      .setType(MatchType.REGEX).setValue(known.toString()).setAlias(OTHER_ADDRESSES));
    return options;
  }

  /**
   * The Prometheus registry Vert.x's metrics write to for {@code vertx}, or a fresh one of the node's own when
   * {@code vertx} runs without Micrometer metrics (then only the gateway's own meters are exported).
   */
  public static PrometheusMeterRegistry registryOf(Vertx vertx) {
    if (vertx instanceof MetricsProvider) {
      Metrics metrics = ((MetricsProvider) vertx).getMetrics();
      if (metrics instanceof MicrometerMetrics) {
        MeterRegistry registry = ((MicrometerMetrics) metrics).registry();
        if (registry instanceof PrometheusMeterRegistry) {
          return (PrometheusMeterRegistry) registry;
        }
      }
    }
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }
}
