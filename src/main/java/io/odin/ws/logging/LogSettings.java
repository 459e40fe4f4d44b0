package io.odin.ws.logging;

import ch.qos.logback.classic.LoggerContext;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Logging: SLF4J with Logback. {@code log.format} picks text lines or JSON lines ({@link OdinLogEncoder}); every
 * line carries the node id, kept in the Logback context property {@value #NODE_PROPERTY} (usable in any pattern as
 * {@code %property{node}}).
 * <p>The format follows {@code ODIN_LOG_FORMAT} from the first line on; a {@code log.format} in the config file takes
 * over once the configuration is read.
 */
public final class LogSettings {

  public static final ConfigKey FORMAT = ConfigKey.string("log.format", "text",
    "Log line format on stdout: text, or json (one JSON object per line); the node id is on every line");

  public static final List<ConfigKey> KEYS = List.of(FORMAT);

  /** The Logback context property holding the node id. */
  public static final String NODE_PROPERTY = "node";

  /** Output formats. */
  public enum Format { TEXT, JSON }

  private static volatile Format format = initialFormat();

  private LogSettings() {
  }

  private static Format initialFormat() {
    String raw = System.getProperty("odin.log.format", System.getenv("ODIN_LOG_FORMAT"));
    try {
      return raw == null ? Format.TEXT : parse(raw);
    } catch (ConfigException e) {
      return Format.TEXT; // reported when the configuration is checked
    }
  }

  /** The format every {@link OdinLogEncoder} without a fixed format writes. */
  public static Format format() {
    return format;
  }

  /** Checks {@code log.format} and applies it. */
  public static void apply(GatewayConfig config) {
    format = parse(config.getString(FORMAT));
  }

  static Format parse(String raw) {
    switch (raw.trim().toLowerCase(Locale.ROOT)) {
      case "text":
        return Format.TEXT;
      case "json":
        return Format.JSON;
      default:
        throw new ConfigException(FORMAT.name() + ": must be text or json, got '" + raw + "'");
    }
  }

  /** Puts the node id on every following line. One process is one node; in a test JVM the last node wins. */
  public static void nodeId(String id) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (factory instanceof LoggerContext) {
      ((LoggerContext) factory).putProperty(NODE_PROPERTY, id);
    }
  }
}
