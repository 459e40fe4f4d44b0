package io.odin.ws.testsupport;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Debian's Chromium for the browser tests, driven by playwright-core from a Node.js package of the repository.
 * A test without Chromium is skipped, unless {@code ODIN_REQUIRE_BROWSER} is set (.ci/run sets it): then it fails.
 */
public final class Chromium {

  private Chromium() {
  }

  /** The browser's path ({@code $CHROMIUM_PATH}, /usr/bin/chromium or chromium-browser), or null. */
  public static String path() {
    String configured = System.getenv("CHROMIUM_PATH");
    for (String candidate : new String[] {configured, "/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
      if (candidate != null && new File(candidate).canExecute()) {
        return candidate;
      }
    }
    return null;
  }

  /** The browser's path; skips the test ({@code what} says which) when there is none and none is required. */
  public static String require(String what) {
    String chromium = path();
    if (chromium == null && System.getenv("ODIN_REQUIRE_BROWSER") != null) {
      fail("ODIN_REQUIRE_BROWSER is set (as .ci/run does) but Chromium is not installed");
    }
    Assumptions.assumeTrue(chromium != null, "Chromium is not installed (apt-get install chromium): " + what + " is skipped");
    return chromium;
  }

  /** Runs {@code npm ci} in {@code dir} unless {@code node_modules/<module>} is there (scripts/test runs it first). */
  public static void ensureNodeModules(Path dir, String module) {
    if (Files.isDirectory(dir.resolve("node_modules").resolve(module))) {
      return;
    }
    Process npm;
    try {
      npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      fail("npm is not installed: install Node 20+ and npm, then `npm ci` in " + dir, e);
      return;
    }
    try {
      if (!npm.waitFor(180, TimeUnit.SECONDS) || npm.exitValue() != 0) {
        fail(module + " is missing and `npm ci` in " + dir + " failed; run it by hand (Node 20+ and npm needed)");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail("interrupted while running npm ci in " + dir);
    }
  }
}
