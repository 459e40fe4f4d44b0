package io.odin.ws.auth;

import io.odin.ws.GatewaySchema;
import io.odin.ws.config.ConfigException;
import io.odin.ws.config.GatewayConfig;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiKeysTest {

  static final String KEY = "k-0123456789abcdef";

  @TempDir
  Path dir;

  @Test
  void noKeysNothingRequired() {
    ApiKeys keys = new ApiKeys(GatewaySchema.defaults());
    assertFalse(keys.enabled());
    assertFalse(keys.required("POST", "/api/publish"));
    assertFalse(keys.required("GET", "/metrics"));
  }

  @Test
  void keysFromEnvironmentAndFile() throws Exception {
    Path file = Files.writeString(dir.resolve("keys"), "# producers\nfile-key-0123456789\n\n");
    ApiKeys keys = new ApiKeys(GatewaySchema.resolve(new JsonObject().put("api.keysFile", file.toString()),
      Map.of("ODIN_API_KEYS", KEY + ", other-key-0123456789")));
    assertTrue(keys.presented("Bearer " + KEY, null));
    assertTrue(keys.presented("bearer other-key-0123456789", null));
    assertTrue(keys.presented(null, "file-key-0123456789"));
    assertFalse(keys.presented("Bearer " + KEY + "x", null));
    assertFalse(keys.presented("Basic " + KEY, null));
    assertFalse(keys.presented(null, null));
    assertFalse(keys.presented(null, ""));
  }

  @Test
  void whatNeedsAKey() {
    ApiKeys keys = new ApiKeys(GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_API_KEYS", KEY)));
    assertTrue(keys.required("POST", "/api/publish"));
    assertTrue(keys.required("GET", "/metrics"));
    assertTrue(keys.required("GET", "/api/stats"));
    assertTrue(keys.required("GET", "/"));
    assertFalse(keys.required("GET", "/health"));
    assertFalse(keys.required("GET", "/health/ready"));
    ApiKeys openReads = new ApiKeys(GatewaySchema.resolve(new JsonObject().put("api.protectReads", false), Map.of("ODIN_API_KEYS", KEY)));
    assertTrue(openReads.required("POST", "/api/publish"));
    assertFalse(openReads.required("GET", "/metrics"));
  }

  @Test
  void shortKeysAndMissingFilesAreConfigErrors() {
    ConfigException e = assertThrows(ConfigException.class,
      () -> new ApiKeys(GatewaySchema.resolve(new JsonObject(), Map.of("ODIN_API_KEYS", "short"))));
    assertTrue(e.getMessage().startsWith("api.keys: every key must be at least 16"), e.getMessage());
    e = assertThrows(ConfigException.class,
      () -> new ApiKeys(GatewaySchema.resolve(new JsonObject().put("api.keysFile", "/nonexistent/keys"), Map.of())));
    assertTrue(e.getMessage().startsWith("api.keysFile: cannot read"), e.getMessage());
  }
}
