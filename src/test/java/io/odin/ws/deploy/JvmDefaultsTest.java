package io.odin.ws.deploy;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JVM options a gateway runs with are one choice, made once: the README's run command, the scripts that start
 * gateways (through scripts/gateway-jvm-options.sh), the Taskfile's run task and the container image must all carry
 * them, so that what is benchmarked is what operators run. The image differs only in how the heap is bounded (a
 * share of the container's memory limit instead of -Xmx).
 */
class JvmDefaultsTest {

  static final Path ROOT = Path.of("").toAbsolutePath();

  @Test
  void theReadmeRunCommandTheScriptsTheTaskfileAndTheImageShareTheJvmOptions() throws Exception {
    List<String> options = scriptOptions();
    assertTrue(options.stream().anyMatch(o -> o.startsWith("-Xmx")), "a bounded heap: " + options);
    // a node out of heap exits (and is restarted) instead of living on with dead event loops (issue 33)
    assertTrue(options.contains("-XX:+ExitOnOutOfMemoryError"), "exit on OutOfMemoryError: " + options);

    String readme = Files.readString(ROOT.resolve("README.md"));
    String firstBlock = readme.substring(readme.indexOf("```sh") + 5, readme.indexOf("```", readme.indexOf("```sh") + 5));
    assertEquals(options, optionsOf(firstBlock), "the README's run command (its first code block)");

    assertEquals(options, optionsOf(runTask()), "Taskfile.yml's run task");

    List<String> image = dockerHeapOptions();
    assertTrue(image.stream().anyMatch(o -> o.startsWith("-XX:MaxRAMPercentage=")), "the image bounds its heap: " + image);
    for (String option : options) {
      if (!option.startsWith("-Xmx")) {
        assertTrue(image.contains(option), "the image's JAVA_HEAP_OPTS lacks " + option + ": " + image);
      }
    }
  }

  /** ODIN_GATEWAY_JVM_OPTS=(...) of scripts/gateway-jvm-options.sh. */
  private static List<String> scriptOptions() throws Exception {
    Matcher m = Pattern.compile("(?m)^ODIN_GATEWAY_JVM_OPTS=\\(([^)]*)\\)")
      .matcher(Files.readString(ROOT.resolve("scripts/gateway-jvm-options.sh")));
    assertTrue(m.find(), "scripts/gateway-jvm-options.sh defines ODIN_GATEWAY_JVM_OPTS");
    return Arrays.asList(m.group(1).trim().split("\\s+"));
  }

  /** The options between `java` and `-jar` of the first `java ... -jar target/odin-ws.jar` in the text. */
  private static List<String> optionsOf(String text) {
    Matcher m = Pattern.compile("\\bjava((?:\\s+-[^\\s]+)*?)\\s+-jar target/odin-ws\\.jar").matcher(text);
    assertTrue(m.find(), "a java ... -jar target/odin-ws.jar command in: " + text);
    String between = m.group(1).trim();
    return between.isEmpty() ? List.of() : Arrays.asList(between.split("\\s+"));
  }

  @SuppressWarnings("unchecked")
  private static String runTask() throws Exception {
    Map<String, Object> taskfile = (Map<String, Object>) new Yaml(new SafeConstructor(new LoaderOptions()))
      .load(Files.readString(ROOT.resolve("Taskfile.yml")));
    Map<String, Object> run = (Map<String, Object>) ((Map<String, Object>) taskfile.get("tasks")).get("run");
    return String.join("\n", (List<String>) run.get("cmds"));
  }

  private static List<String> dockerHeapOptions() throws Exception {
    Matcher m = Pattern.compile("JAVA_HEAP_OPTS=\"([^\"]*)\"").matcher(Files.readString(ROOT.resolve("Dockerfile")));
    assertTrue(m.find(), "the Dockerfile sets JAVA_HEAP_OPTS");
    return new ArrayList<>(Arrays.asList(m.group(1).trim().split("\\s+")));
  }
}
