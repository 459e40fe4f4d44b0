package io.odin.ws.testsupport;

import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/**
 * The JavaScript client (clients/js, the npm package odin-ws-client) run by clients/js/test/integration/driver.mjs,
 * in Node.js with the ws package or in headless Chromium, where a page loads the package over HTTP. Commands go to
 * the driver's stdin; every event of every client comes back as a JSON line and is kept here, in order.
 */
public final class JsClientDriver implements AutoCloseable {

  public static final Path PACKAGE_DIR = Path.of("clients/js");

  /** Where the client runs. */
  public enum Env { NODE, BROWSER }

  public final Env env;
  /** The driver's JWT endpoint (HS256 with the secret given at start), as an application's backend serves it. */
  public final String tokenUrl;
  private final Process process;
  private final Writer stdin;
  private final List<JsonObject> events = new CopyOnWriteArrayList<>();

  private JsClientDriver(Env env, Process process) {
    this.env = env;
    this.process = process;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("{")) {
            events.add(new JsonObject(line));
          }
        }
      } catch (IOException | RuntimeException ignored) {
        // the process ended
      }
    }, "js-client-driver-" + env);
    reader.setDaemon(true);
    reader.start();
    JsonObject ready = awaitEvent(e -> "ready".equals(e.getString("ev")), Duration.ofSeconds(120));
    this.tokenUrl = ready.getString("tokenUrl");
  }

  /**
   * Starts the driver in {@code env}; {@code jwtSecret} (or null) signs the JWTs of its token endpoint. A browser
   * driver without Chromium skips the test (fails it under ODIN_REQUIRE_BROWSER).
   */
  public static JsClientDriver start(Env env, String jwtSecret) {
    List<String> cmd = new ArrayList<>(List.of("node", "test/integration/driver.mjs", "--env", env.name().toLowerCase()));
    if (env == Env.BROWSER) {
      cmd.addAll(List.of("--chromium", Chromium.require("the JavaScript client in a browser")));
    }
    Chromium.ensureNodeModules(PACKAGE_DIR, env == Env.BROWSER ? "playwright-core" : "ws");
    if (jwtSecret != null) {
      cmd.addAll(List.of("--jwt-secret", jwtSecret));
    }
    try {
      Process p = new ProcessBuilder(cmd).directory(PACKAGE_DIR.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      return new JsClientDriver(env, p);
    } catch (IOException e) {
      throw new UncheckedIOException("could not start node (Node.js 20+ is needed for the JavaScript client tests)", e);
    }
  }

  /** Sends a command and waits for its answer. */
  public synchronized JsonObject command(JsonObject cmd) {
    int answers = count(e -> "answer".equals(e.getString("ev")));
    try {
      stdin.write(cmd.encode() + "\n");
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the driver is gone: " + failures(), e);
    }
    await("answer to " + cmd.getString("cmd")).atMost(Duration.ofSeconds(60)).until(() ->
      count(e -> "answer".equals(e.getString("ev"))) > answers || !failures().isEmpty() || !process.isAlive());
    if (!failures().isEmpty()) {
      throw new AssertionError(env + " driver: " + failures());
    }
    List<JsonObject> all = all("answer");
    return all.get(all.size() - 1);
  }

  /** Opens a client named {@code name} with a fixed token (auth.mode=none). */
  public JsonObject open(String name, String url, String token, JsonObject options) {
    return command(new JsonObject().put("cmd", "open").put("name", name).put("url", url).put("token", token)
      .put("options", options));
  }

  /** Opens a client whose getToken() fetches JWTs for {@code sub} from the driver, living ttls[0], ttls[1], ... seconds. */
  public JsonObject openJwt(String name, String url, String sub, List<Integer> ttls, JsonObject options) {
    return command(new JsonObject().put("cmd", "open").put("name", name).put("url", url)
      .put("jwt", new JsonObject().put("sub", sub).put("ttls", ttls).put("tokenUrl", tokenUrl)).put("options", options));
  }

  public JsonObject send(String name, String frame, int times) {
    return command(new JsonObject().put("cmd", "send").put("name", name).put("frame", frame).put("times", times));
  }

  /** Events {@code ev} of client {@code name}, in the order they came. */
  public List<JsonObject> events(String name, String ev) {
    return events.stream().filter(e -> ev.equals(e.getString("ev")) && name.equals(e.getString("name"))).toList();
  }

  /** The messages client {@code name} received, in the order it received them. */
  public List<JsonObject> messages(String name) {
    return events(name, "message").stream().sorted(Comparator.comparingInt(e -> e.getInteger("n"))).toList();
  }

  /** The {@code data.seq} of each message client {@code name} received, in order. */
  public List<Integer> seqs(String name) {
    return messages(name).stream().map(m -> m.getJsonObject("data").getInteger("seq")).toList();
  }

  /** Waits for the {@code index}-th (0-based) event {@code ev} of client {@code name}. */
  public JsonObject awaitEvent(String name, String ev, int index, Duration within) {
    await(env + " " + name + ": " + ev + " #" + index + "; events so far " + describe(name)).atMost(within)
      .until(() -> events(name, ev).size() > index || !failures().isEmpty());
    if (!failures().isEmpty()) {
      throw new AssertionError(env + " driver: " + failures());
    }
    return events(name, ev).get(index);
  }

  public JsonObject awaitEvent(Predicate<JsonObject> match, Duration within) {
    await(env + " driver event; got " + events).atMost(within).until(() ->
      events.stream().anyMatch(match) || !failures().isEmpty() || !process.isAlive());
    if (!failures().isEmpty() || events.stream().noneMatch(match)) {
      throw new AssertionError(env + " driver: " + failures() + " (alive: " + process.isAlive() + ")");
    }
    return events.stream().filter(match).findFirst().orElseThrow();
  }

  /** The events of one client other than messages, for failure messages. */
  public String describe(String name) {
    return events.stream().filter(e -> name.equals(e.getString("name")) && !"message".equals(e.getString("ev"))
      && !"sent".equals(e.getString("ev"))).map(JsonObject::encode).toList()
      + " and " + events(name, "message").size() + " messages";
  }

  public List<JsonObject> failures() {
    return all("fail");
  }

  private List<JsonObject> all(String ev) {
    return events.stream().filter(e -> ev.equals(e.getString("ev"))).toList();
  }

  private int count(Predicate<JsonObject> p) {
    return (int) events.stream().filter(p).count();
  }

  @Override
  public void close() throws Exception {
    try {
      stdin.write("{\"cmd\":\"exit\"}\n");
      stdin.flush();
    } catch (IOException ignored) {
      // already gone
    }
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
