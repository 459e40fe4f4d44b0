package io.odin.ws.deploy;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Taskfile.yml (go-task v3) parses, has the tasks operators are told to run, and every task's command exists:
 * a script of the repository that is executable, or a program on the PATH. go-task itself is not needed.
 */
class TaskfileTest {

  static final Path ROOT = Path.of("").toAbsolutePath();

  /** The tasks the README and docs name. */
  static final List<String> REQUIRED = List.of("build", "test", "run", "run:cluster", "kafka:up", "kafka:down",
    "redis:up", "redis:down", "images", "stack:up", "stack:down", "loadtest", "bench", "shard-sweep",
    "gcp:deployment:deploy:ws", "gcp:deployment:rollout", "gcp:deployment:down", "gcp:load-test:capacity",
    "gcp:load-test:matrix", "gcp:health", "gcp:canary", "gcp:image", "gcp:template", "gcp:group");

  @SuppressWarnings("unchecked")
  static Map<String, Object> taskfile() throws Exception {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    Object doc = yaml.load(Files.readString(ROOT.resolve("Taskfile.yml")));
    assertInstanceOf(Map.class, doc);
    return (Map<String, Object>) doc;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Map<String, Object>> tasks() throws Exception {
    Object tasks = taskfile().get("tasks");
    assertInstanceOf(Map.class, tasks);
    return (Map<String, Map<String, Object>>) tasks;
  }

  @Test
  void isAVersion3TaskfileWithTheRequiredTasks() throws Exception {
    assertEquals("3", String.valueOf(taskfile().get("version")));
    Map<String, Map<String, Object>> tasks = tasks();
    for (String name : REQUIRED) {
      assertTrue(tasks.containsKey(name), "task " + name + " is missing");
    }
    for (Map.Entry<String, Map<String, Object>> t : tasks.entrySet()) {
      assertInstanceOf(Map.class, t.getValue(), t.getKey());
      Object desc = t.getValue().get("desc");
      assertTrue(desc instanceof String s && !s.isBlank(), t.getKey() + " has no desc (task --list shows it)");
      Object deps = t.getValue().getOrDefault("deps", List.of());
      assertInstanceOf(List.class, deps, t.getKey() + ": deps");
      for (Object d : (List<?>) deps) {
        assertTrue(tasks.containsKey(String.valueOf(d)), t.getKey() + " depends on a task that does not exist: " + d);
      }
    }
  }

  @Test
  void everyTasksCommandExistsAndIsExecutable() throws Exception {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Map<String, Object>> t : tasks().entrySet()) {
      Object cmds = t.getValue().get("cmds");
      assertTrue(cmds instanceof List<?> l && !l.isEmpty(), t.getKey() + " has no cmds");
      for (Object c : (List<?>) cmds) {
        String line;
        if (c instanceof String s) {
          line = s;
        } else if (c instanceof Map<?, ?> m && m.get("cmd") instanceof String s) {
          line = s;
        } else if (c instanceof Map<?, ?> m && m.get("task") != null) {
          if (!tasks().containsKey(String.valueOf(m.get("task")))) {
            problems.add(t.getKey() + " calls a task that does not exist: " + m.get("task"));
          }
          continue;
        } else {
          fail(t.getKey() + ": a command must be a string, {cmd: ...} or {task: ...}, not " + c);
          return;
        }
        String program = line.replaceAll("\\{\\{[^}]*}}", "").trim().split("\\s+")[0];
        assertFalse(program.isEmpty(), t.getKey() + ": empty command");
        if (program.contains("/")) {
          Path script = ROOT.resolve(program).normalize();
          if (!script.startsWith(ROOT)) {
            problems.add(t.getKey() + ": " + program + " is outside the repository");
          } else if (!Files.isRegularFile(script)) {
            problems.add(t.getKey() + ": " + program + " does not exist");
          } else if (!Files.isExecutable(script)) {
            problems.add(t.getKey() + ": " + program + " is not executable");
          }
        } else if (!onPath(program)) {
          problems.add(t.getKey() + ": " + program + " is not on the PATH");
        }
      }
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @Test
  void gcpTasksRunTheGcpScriptsAndPassArgumentsOn() throws Exception {
    for (Map.Entry<String, Map<String, Object>> t : tasks().entrySet()) {
      if (!t.getKey().startsWith("gcp:")) {
        continue;
      }
      String cmd = String.valueOf(((List<?>) t.getValue().get("cmds")).get(0));
      assertTrue(cmd.startsWith("scripts/gcp/"), t.getKey() + ": " + cmd);
      assertTrue(cmd.contains("{{.CLI_ARGS}}"), t.getKey() + " must pass arguments on (task " + t.getKey() + " -- --dry-run)");
    }
  }

  static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(dir, program);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return true;
      }
    }
    return false;
  }
}
