package io.odin.ws.logging;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import org.slf4j.event.KeyValuePair;

import java.nio.charset.StandardCharsets;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/**
 * Writes each event as a text line (a Logback pattern) or as one JSON object per line, following
 * {@code log.format} ({@link LogSettings#format()}) unless {@code <format>} fixes it. JSON lines look like
 * <pre>{"time":"2025-01-31T12:00:00.123Z","level":"INFO","node":"n1","thread":"main","logger":"io.odin.ws.BootstrapVerticle","message":"...","error":"..."}</pre>
 * with {@code kv} (SLF4J key/value pairs) and {@code mdc} objects when there are any, and {@code error} (the stack
 * trace) only for events with a throwable.
 */
public class OdinLogEncoder extends EncoderBase<ILoggingEvent> {

  public static final String DEFAULT_PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] [%property{node}] %logger{24} - %msg%n";

  private static final byte[] NOTHING = new byte[0];

  private String pattern = DEFAULT_PATTERN;
  private LogSettings.Format fixed;
  private PatternLayout layout;

  /** The text-line pattern ({@code <pattern>} in logback.xml). */
  public void setPattern(String pattern) {
    this.pattern = pattern;
  }

  /** {@code text} or {@code json}: always this format, whatever {@code log.format} says. */
  public void setFormat(String format) {
    this.fixed = format == null || format.isBlank() ? null : LogSettings.parse(format);
  }

  @Override
  public void start() {
    if (getContext() != null && getContext().getProperty(LogSettings.NODE_PROPERTY) == null) {
      getContext().putProperty(LogSettings.NODE_PROPERTY, "-");
    }
    layout = new PatternLayout();
    layout.setContext(getContext());
    layout.setPattern(pattern);
    layout.start();
    super.start();
  }

  @Override
  public void stop() {
    if (layout != null) {
      layout.stop();
    }
    super.stop();
  }

  @Override
  public byte[] headerBytes() {
    return NOTHING;
  }

  @Override
  public byte[] footerBytes() {
    return NOTHING;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    LogSettings.Format format = fixed != null ? fixed : LogSettings.format();
    String line = format == LogSettings.Format.JSON ? json(event) : layout.doLayout(event);
    return line.getBytes(StandardCharsets.UTF_8);
  }

  private String json(ILoggingEvent event) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":");
    string(sb, event.getInstant().truncatedTo(ChronoUnit.MILLIS).toString());
    field(sb, "level", event.getLevel().toString());
    field(sb, "node", node(event));
    field(sb, "thread", event.getThreadName());
    field(sb, "logger", event.getLoggerName());
    field(sb, "message", event.getFormattedMessage());
    List<KeyValuePair> kvs = event.getKeyValuePairs();
    if (kvs != null && !kvs.isEmpty()) {
      sb.append(",\"kv\":{");
      for (int i = 0; i < kvs.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        string(sb, kvs.get(i).key);
        sb.append(':');
        string(sb, String.valueOf(kvs.get(i).value));
      }
      sb.append('}');
    }
    Map<String, String> mdc = event.getMDCPropertyMap();
    if (mdc != null && !mdc.isEmpty()) {
      sb.append(",\"mdc\":{");
      boolean first = true;
      for (Map.Entry<String, String> e : mdc.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        string(sb, e.getKey());
        sb.append(':');
        string(sb, e.getValue());
      }
      sb.append('}');
    }
    IThrowableProxy error = event.getThrowableProxy();
    if (error != null) {
      field(sb, "error", ThrowableProxyUtil.asString(error));
    }
    return sb.append("}\n").toString();
  }

  private String node(ILoggingEvent event) {
    String node = event.getLoggerContextVO() != null ? event.getLoggerContextVO().getPropertyMap().get(LogSettings.NODE_PROPERTY) : null;
    if (node == null && getContext() != null) {
      node = getContext().getProperty(LogSettings.NODE_PROPERTY);
    }
    return node != null ? node : "-";
  }

  private static void field(StringBuilder sb, String name, String value) {
    sb.append(",\"").append(name).append("\":");
    string(sb, value);
  }

  /** A JSON string literal. */
  static void string(StringBuilder sb, String s) {
    if (s == null) {
      sb.append("null");
      return;
    }
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }
}
