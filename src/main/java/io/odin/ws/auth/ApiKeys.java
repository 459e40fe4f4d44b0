package io.odin.ws.auth;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who may use the management port: with {@code api.keys} (or {@code api.keysFile}) set, {@code POST /api/publish}
 * needs one of the keys as {@code Authorization: Bearer <key>} or {@code X-API-Key: <key>}, and so do the read
 * endpoints (metrics, stats, status page) unless {@code api.protectReads} is false. {@code /health} and
 * {@code /health/ready} stay open for probes. Keys are compared in constant time (SHA-256 digests compared with
 * {@link MessageDigest#isEqual}, every key tried), so neither a key's content nor its length leaks through timing.
 */
public final class ApiKeys {

  public static final ConfigKey KEYS_LIST = ConfigKey.stringList("api.keys", List.of(),
    "API keys for the management port (ODIN_API_KEYS, comma-separated); empty with no api.keysFile: the port is open");
  public static final ConfigKey KEYS_FILE = ConfigKey.string("api.keysFile", "",
    "A file of API keys, one per line (# comments), added to api.keys");
  public static final ConfigKey PROTECT_READS = ConfigKey.bool("api.protectReads", true,
    "With keys set, also require one for GET /metrics, /api/stats and the status page (never for /health, /health/ready)");

  public static final List<ConfigKey> KEYS = List.of(KEYS_LIST, KEYS_FILE, PROTECT_READS);

  /** Shortest key accepted: a short key can be guessed. */
  static final int MIN_KEY_CHARS = 16;
  private static final Set<String> OPEN_PATHS = Set.of("/health", "/health/ready");

  private final List<byte[]> digests;
  private final boolean protectReads;

  public ApiKeys(GatewayConfig config) {
    List<String> keys = new ArrayList<>(config.getStringList(KEYS_LIST));
    String file = config.getString(KEYS_FILE);
    if (!file.isEmpty()) {
      try {
        for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
          String k = line.strip();
          if (!k.isEmpty() && !k.startsWith("#")) {
            keys.add(k);
          }
        }
      } catch (IOException | java.nio.file.InvalidPathException e) {
        throw new ConfigException(KEYS_FILE.name() + ": cannot read " + file + ": " + e.getMessage());
      }
    }
    digests = new ArrayList<>(keys.size());
    for (String k : keys) {
      if (k.length() < MIN_KEY_CHARS) {
        throw new ConfigException((file.isEmpty() ? KEYS_LIST.name() : KEYS_LIST.name() + "/" + KEYS_FILE.name())
          + ": every key must be at least " + MIN_KEY_CHARS + " characters");
      }
      digests.add(sha256(k));
    }
    protectReads = config.getBoolean(PROTECT_READS);
  }

  public static void validate(GatewayConfig config) {
    new ApiKeys(config);
  }

  /** True when keys are configured. */
  public boolean enabled() {
    return !digests.isEmpty();
  }

  /** True when a request to {@code path} with {@code method} must carry a key. */
  public boolean required(String method, String path) {
    if (digests.isEmpty() || OPEN_PATHS.contains(path)) {
      return false;
    }
    boolean read = "GET".equals(method) || "HEAD".equals(method);
    return !read || protectReads;
  }

  /** True when the request presents one of the keys (Authorization: Bearer, or X-API-Key). */
  public boolean presented(String authorization, String apiKeyHeader) {
    String key = apiKeyHeader;
    if (key == null && authorization != null && authorization.length() > 7
      && authorization.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      key = authorization.substring(7).trim();
    }
    if (key == null || key.isEmpty()) {
      return false;
    }
    byte[] presented = sha256(key);
    boolean match = false;
    for (byte[] d : digests) {
      // no early exit: the time taken does not say which key, or whether any, matched
      match |= MessageDigest.isEqual(d, presented);
    }
    return match;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
