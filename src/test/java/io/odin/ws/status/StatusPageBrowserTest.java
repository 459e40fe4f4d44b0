package io.odin.ws.status;

import io.odin.ws.testsupport.Chromium;
import io.odin.ws.testsupport.TestNode;
import io.odin.ws.testsupport.Traffic;
import io.odin.ws.testsupport.WsClients;
import io.odin.ws.testsupport.WsClients.Conn;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The status page in a real headless Chromium (Debian's, driven by playwright-core from src/test/browser): it loads,
 * then follows the node by itself as clients connect and traffic flows. Takes a screenshot under load
 * (target/status-page.png). To refresh the documentation's screenshot with a longer history:
 * {@code mvn test -Dtest=StatusPageBrowserTest -Dstatus.screenshot=docs/status-page.png -Dstatus.interval=1000
 * -Dstatus.settlePolls=45 -Dstatus.connectEveryMs=1500}.
 * <p>Skipped only when Chromium is not installed ({@code apt-get install chromium}); .ci/run installs it and sets
 * {@code ODIN_REQUIRE_BROWSER}, which turns the skip into a failure. The node modules come from
 * {@code npm ci} in src/test/browser (.ci/run does it; the test does it when they are missing).
 */
class StatusPageBrowserTest {

  static final Path BROWSER_DIR = Path.of("src/test/browser");
  static final int CLIENTS = 240;

  @Test
  void pageFollowsConnectionsAndTrafficByItself() throws Exception {
    String chromium = Chromium.require("the status page browser test");
    Chromium.ensureNodeModules(BROWSER_DIR, "playwright-core");
    Path screenshot = Path.of(System.getProperty("status.screenshot", "target/status-page.png")).toAbsolutePath();
    int interval = Integer.getInteger("status.interval", 500);
    int settlePolls = Integer.getInteger("status.settlePolls", 6);
    long connectEveryMs = Long.getLong("status.connectEveryMs", 100);
    Files.createDirectories(screenshot.getParent());

    try (TestNode node = TestNode.start(4); WsClients clients = new WsClients(node.wsPort)) {
      Process browser = new ProcessBuilder("node", "status-page.mjs",
        "--url", "http://127.0.0.1:" + node.httpPort + "/?interval=" + interval + "&window=" + (interval >= 1000 ? 120 : 60),
        "--connections", String.valueOf(CLIENTS), "--screenshot", screenshot.toString(),
        "--chromium", chromium, "--timeout", "60000", "--settle", String.valueOf(settlePolls))
        .directory(BROWSER_DIR.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(browser.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            lines.add(line);
          }
        } catch (Exception ignored) {
          // the process ended
        }
      }, "chromium-driver-output");
      reader.setDaemon(true);
      reader.start();
      try {
        JsonObject loaded = expect(lines, "LOADED");
        assertEquals(node.node().nodeId(), loaded.getString("node"));
        assertEquals(0, loaded.getInteger("connections"), "no client yet: " + loaded);
        assertEquals(1, loaded.getInteger("clusterRows"));
        assertEquals(4, loaded.getInteger("shardRows"));

        // now clients connect and traffic flows; the open page must show it without being reloaded
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
          tokens.add("b" + (i % 180));
        }
        // clients arrive in waves (paced by a timer, so the chart shows a ramp) while traffic flows
        List<Conn> conns = new CopyOnWriteArrayList<>();
        AtomicInteger nextClient = new AtomicInteger();
        long waves = clients.vertx().setPeriodic(connectEveryMs, id -> {
          for (int i = 0; i < CLIENTS / 6 && nextClient.get() < CLIENTS; i++) {
            clients.connectAsync(tokens.get(nextClient.getAndIncrement())).onSuccess(conns::add);
          }
        });
        try (Traffic traffic = new Traffic(node.httpPort, tokens, 40, 40, 5)) {
          await().atMost(Duration.ofSeconds(60)).until(() -> conns.size() == CLIENTS);
          clients.vertx().cancelTimer(waves);
          JsonObject done = expect(lines, "DONE");
          JsonObject last = done.getJsonObject("last");
          assertEquals(CLIENTS, last.getInteger("connections"), done.encode());
          assertTrue(last.getDouble("rate") > 0, "messages per second shown: " + last);
          assertTrue(last.getDouble("deliveries") > 0, "deliveries per second shown: " + last);
          assertNotNull(last.getValue("p99"), "latency shown: " + last);
          assertEquals(4, last.getInteger("shardLines"), "one line per shard");
          assertTrue(last.getJsonArray("cutOff").isEmpty(), "tile subtitles fit at 1280 px: " + last);
          assertTrue(last.getInteger("ratePoints") >= 6, "the rate chart has a history: " + last);
          assertTrue(last.getInteger("polls") > done.getJsonObject("first").getInteger("polls") + 6, "it kept polling");
          assertTrue(traffic.accepted() > 0);
        }
        assertTrue(browser.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, browser.exitValue());
        assertTrue(Files.size(screenshot) > 10_000, "screenshot written to " + screenshot);
        conns.forEach(c -> assertTrue(c.frames.size() > 0, c.token + " got traffic"));
      } finally {
        browser.destroyForcibly();
      }
    }
  }

  /** Waits for the driver's next status line; fails on FAIL or when it stops talking. */
  private static JsonObject expect(LinkedBlockingQueue<String> lines, String word) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(1, TimeUnit.SECONDS);
      if (line == null) {
        continue;
      }
      if (line.startsWith("FAIL")) {
        fail("browser: " + line);
      }
      if (line.startsWith(word + " ")) {
        return new JsonObject(line.substring(word.length() + 1));
      }
    }
    fail("browser: no " + word + " within 180 s");
    return null;
  }
}
