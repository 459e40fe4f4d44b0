package io.odin.ws.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import io.odin.ws.GatewaySchema;
import io.odin.ws.config.ConfigException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OdinLogEncoderTest {

  private static String encode(String format, LoggerContext context, LoggingEvent event) {
    OdinLogEncoder encoder = new OdinLogEncoder();
    encoder.setContext(context);
    encoder.setFormat(format);
    encoder.start();
    return new String(encoder.encode(event), StandardCharsets.UTF_8);
  }

  private static LoggerContext newContext() {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter());
    return context;
  }

  private static LoggingEvent event(LoggerContext context, String message, Throwable error, Object... args) {
    return new LoggingEvent("fqcn", context.getLogger("io.odin.ws.Sample"), Level.WARN, message, error, args);
  }

  @Test
  void jsonLinesCarryTheNodeIdAndEscapeEverything() {
    LoggerContext context = newContext();
    context.putProperty(LogSettings.NODE_PROPERTY, "node-7");
    String line = encode("json", context, event(context, "quote \" backslash \\ newline\n tab\t {}", new IllegalStateException("boom"), "arg"));
    assertTrue(line.endsWith("}\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
    JsonObject json = new JsonObject(line);
    assertEquals("node-7", json.getString("node"));
    assertEquals("WARN", json.getString("level"));
    assertEquals("io.odin.ws.Sample", json.getString("logger"));
    assertEquals("quote \" backslash \\ newline\n tab\t arg", json.getString("message"));
    assertTrue(json.getString("error").startsWith("java.lang.IllegalStateException: boom"));
    assertTrue(json.getString("time").endsWith("Z"));
    assertTrue(json.containsKey("thread"));
  }

  @Test
  void textLinesCarryTheNodeIdToo() {
    LoggerContext context = newContext();
    context.putProperty(LogSettings.NODE_PROPERTY, "node-7");
    String line = encode("text", context, event(context, "hello {}", null, "world"));
    assertTrue(line.contains("[node-7]") && line.contains("hello world") && line.contains("WARN"), line);
    assertFalse(line.startsWith("{"));
  }

  @Test
  void beforeTheNodeIdIsKnownLinesSayDash() {
    LoggerContext context = newContext();
    assertEquals("-", new JsonObject(encode("json", context, event(context, "early", null))).getString("node"));
  }

  @Test
  void logFormatIsCheckedAndNamed() {
    ConfigException e = assertThrows(ConfigException.class,
      () -> LogSettings.apply(GatewaySchema.resolve(new JsonObject().put("log.format", "xml"), Map.of())));
    assertTrue(e.getMessage().startsWith("log.format: must be text or json"), e.getMessage());
    assertEquals("json", GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_LOG_FORMAT", "json")).getString(LogSettings.FORMAT));
  }
}
