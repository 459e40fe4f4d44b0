package io.odin.ws.auth;

import io.odin.ws.config.ConfigException;
import io.odin.ws.config.ConfigKey;
import io.odin.ws.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * TLS on both servers (WebSocket port: wss://, management port: https://) from PEM files, and their reload:
 * the files are checked every {@code tls.reloadCheckSeconds} and on SIGHUP; a changed certificate is swapped in
 * with {@link HttpServer#updateSSLOptions} for new connections, without closing the open ones.
 */
public final class TlsSettings {

  private static final Logger log = LoggerFactory.getLogger(TlsSettings.class);

  public static final ConfigKey ENABLED = ConfigKey.bool("tls.enabled", false,
    "TLS on the WebSocket port (wss://) and the management port (https://), from tls.certPath and tls.keyPath");
  public static final ConfigKey CERT_PATH = ConfigKey.string("tls.certPath", "",
    "PEM certificate chain (the server's certificate first, then intermediates)");
  public static final ConfigKey KEY_PATH = ConfigKey.string("tls.keyPath", "",
    "PEM private key (PKCS#8 or PKCS#1) of the certificate");
  public static final ConfigKey RELOAD_CHECK_SECONDS = ConfigKey.integer("tls.reloadCheckSeconds", 60, 0, 86_400,
    "How often the certificate and key files are checked for a change (reloaded for new connections; open ones stay);"
      + " 0 checks only on SIGHUP");

  public static final List<ConfigKey> KEYS = List.of(ENABLED, CERT_PATH, KEY_PATH, RELOAD_CHECK_SECONDS);

  /** What to run when the process gets SIGHUP: every server's reload check. */
  private static final List<Runnable> ON_HANGUP = new CopyOnWriteArrayList<>();
  private static final AtomicBoolean HANGUP_INSTALLED = new AtomicBoolean();

  private TlsSettings() {
  }

  public static void validate(GatewayConfig config) {
    if (!config.getBoolean(ENABLED)) {
      return;
    }
    readable(config, CERT_PATH);
    readable(config, KEY_PATH);
  }

  static void readable(GatewayConfig config, ConfigKey key) {
    String path = config.getString(key);
    if (path.isEmpty()) {
      throw new ConfigException(key.name() + ": required when TLS is on");
    }
    if (!Files.isReadable(Path.of(path))) {
      throw new ConfigException(key.name() + ": cannot read " + path);
    }
  }

  /** {@code options} with TLS on when {@code tls.enabled}. */
  public static HttpServerOptions apply(GatewayConfig config, HttpServerOptions options) {
    if (config.getBoolean(ENABLED)) {
      options.setSsl(true).setKeyCertOptions(keyCert(config));
    }
    return options;
  }

  /** The certificate and key of {@code tls.certPath} and {@code tls.keyPath}. */
  public static PemKeyCertOptions keyCert(GatewayConfig config) {
    return new PemKeyCertOptions().setCertPath(config.getString(CERT_PATH)).setKeyPath(config.getString(KEY_PATH));
  }

  /**
   * Reloads {@code server}'s certificate when its files change (checked every {@code tls.reloadCheckSeconds} and
   * on SIGHUP). Call from the verticle that owns the server; run what it returns when the server stops.
   */
  public static Runnable watch(Vertx vertx, HttpServer server, GatewayConfig config) {
    // force: the options name the same paths, only the files' content changed
    return watch(vertx, config, keyCert -> server.updateSSLOptions(new ServerSSLOptions().setKeyCertOptions(keyCert), true));
  }

  /**
   * Calls {@code reload} with the certificate and key when their files change (checked every
   * {@code tls.reloadCheckSeconds} and on SIGHUP); a failed future keeps the previous certificate. Call from the
   * verticle that owns the server; run what it returns when the server stops.
   */
  public static Runnable watch(Vertx vertx, GatewayConfig config, Function<PemKeyCertOptions, Future<?>> reload) {
    if (!config.getBoolean(ENABLED)) {
      return () -> { };
    }
    Path cert = Path.of(config.getString(CERT_PATH));
    Path key = Path.of(config.getString(KEY_PATH));
    long[] seen = {stamp(cert, key)};
    io.vertx.core.Context context = vertx.getOrCreateContext();
    Runnable check = () -> {
      long now = stamp(cert, key);
      if (now != seen[0] && now != -1) {
        seen[0] = now;
        Future<?> reloaded;
        try {
          reloaded = reload.apply(keyCert(config));
        } catch (RuntimeException e) {
          reloaded = Future.failedFuture(e);
        }
        reloaded
          .onSuccess(updated -> log.info("TLS certificate reloaded from {}", cert))
          .onFailure(t -> log.warn("TLS certificate in {} not reloaded, keeping the previous one: {}", cert, t.toString()));
      }
    };
    Runnable onHangup = () -> context.runOnContext(v -> check.run());
    ON_HANGUP.add(onHangup);
    installHangup();
    int seconds = config.getInt(RELOAD_CHECK_SECONDS);
    long timer = seconds == 0 ? -1 : vertx.setPeriodic(seconds * 1000L, id -> check.run());
    return () -> {
      ON_HANGUP.remove(onHangup);
      vertx.cancelTimer(timer);
    };
  }

  /** Last-modified times and sizes of both files folded together; -1 when one cannot be read (mid-replacement). */
  private static long stamp(Path cert, Path key) {
    try {
      return Files.getLastModifiedTime(cert).toMillis() * 31 + Files.size(cert)
        + Files.getLastModifiedTime(key).toMillis() * 17 + Files.size(key) * 7;
    } catch (IOException e) {
      return -1;
    }
  }

  @SuppressWarnings("restriction")
  private static void installHangup() {
    if (!HANGUP_INSTALLED.compareAndSet(false, true)) {
      return;
    }
    try {
      // SIGHUP now means "reload the certificate" instead of the JVM's default (exit): use SIGTERM to stop
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> ON_HANGUP.forEach(Runnable::run));
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.info("no SIGHUP handler ({}): TLS files are reloaded by the periodic check only", e.getMessage());
    }
  }
}
