package io.odin.ws.deploy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every scripts/gcp script in dry run: the gcloud commands it prints (flags, names, order), and that the
 * management port and the cluster ports are never opened to the world. A gcloud first on the PATH records any
 * call and fails: nothing here may reach Google Cloud, and the test checks nothing tried.
 */
class GcpScriptsDryRunTest {

  static final Path ROOT = Path.of("").toAbsolutePath();
  static final Path GCP = ROOT.resolve("scripts/gcp");
  static final Set<String> INTERNAL_PORTS = Set.of("3004", "5701");
  static final String HEALTH_CHECKERS = "130.211.0.0/22,35.191.0.0/16";
  static Path work;
  static Path tripwireLog;

  record Run(int exit, List<ShellCommand> commands, String stdout, String stderr) {

    List<ShellCommand> all(String... prefix) {
      return commands.stream().filter(c -> c.is(prefix)).toList();
    }

    ShellCommand one(String... prefix) {
      List<ShellCommand> found = all(prefix);
      assertEquals(1, found.size(), "commands starting with " + String.join(" ", prefix) + " in:\n" + stdout);
      return found.get(0);
    }

    int index(String... prefix) {
      for (int i = 0; i < commands.size(); i++) {
        if (commands.get(i).is(prefix)) {
          return i;
        }
      }
      fail("no command starting with " + String.join(" ", prefix) + " in:\n" + stdout);
      return -1;
    }
  }

  @BeforeAll
  static void tripwire() throws IOException {
    work = Files.createTempDirectory("gcp-dry-run");
    Path bin = Files.createDirectories(work.resolve("bin"));
    tripwireLog = work.resolve("gcloud-calls.log");
    Path gcloud = bin.resolve("gcloud");
    Files.writeString(gcloud, "#!/bin/sh\necho \"$*\" >>'" + tripwireLog + "'\nexit 1\n");
    Files.setPosixFilePermissions(gcloud, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterAll
  static void nothingCalledGcloud() throws IOException {
    try {
      assertFalse(Files.exists(tripwireLog), () -> "a dry run called gcloud: " + read(tripwireLog));
    } finally {
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
      }
    }
  }

  static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }

  static Run run(String script, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(GCP.resolve(script).toString());
    cmd.addAll(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile());
    Map<String, String> e = pb.environment();
    e.keySet().removeIf(k -> k.startsWith("GCP_") || k.startsWith("ODIN_") || k.startsWith("META_"));
    e.put("PATH", work.resolve("bin") + ":" + e.getOrDefault("PATH", "/usr/bin:/bin"));
    e.put("GCP_PROJECT", "test-project");
    e.put("GCP_IMAGE_TAG", "v1");
    e.put("GCP_OUT", work.resolve("out").toString());
    e.putAll(env);
    Path out = Files.createTempFile(work, "stdout", ".txt");
    Path err = Files.createTempFile(work, "stderr", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), script + " did not finish");
    String stdout = Files.readString(out);
    // only a dry run's stdout is commands (--help prints prose); "# dry run: ..." lines mark placeholders
    List<ShellCommand> commands = cmd.contains("--dry-run") && !script.endsWith(".sh")
      ? stdout.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).map(ShellCommand::parse).toList() : List.of();
    return new Run(p.exitValue(), commands, stdout, Files.readString(err));
  }

  static Run dryRun(String script, Map<String, String> env, String... args) throws Exception {
    String[] all = new String[args.length + 1];
    all[0] = "--dry-run";
    System.arraycopy(args, 0, all, 1, args.length);
    Run r = run(script, env, all);
    assertEquals(0, r.exit(), () -> script + " --dry-run failed:\n" + r.stderr());
    for (ShellCommand c : r.commands()) {
      assertNotEquals("+", c.arg(0), "a dry run ran a command: " + c.line());
    }
    return r;
  }

  static List<String> ports(ShellCommand rule) {
    List<String> ports = new ArrayList<>();
    for (String r : rule.flag("--rules").split(",")) {
      assertTrue(r.startsWith("tcp:"), "only TCP rules: " + r);
      ports.add(r.substring(4));
    }
    return ports;
  }

  @Test
  void deployCreatesEverythingInOrder() throws Exception {
    Run r = dryRun("deploy", Map.of());
    int services = r.index("gcloud", "services", "enable");
    int serviceAccount = r.index("gcloud", "iam", "service-accounts", "create");
    int firewall = r.index("gcloud", "compute", "firewall-rules", "create");
    int redis = r.index("gcloud", "redis", "instances", "create");
    int repo = r.index("gcloud", "artifacts", "repositories", "create");
    int build = r.index("gcloud", "builds", "submit");
    int template = r.index("gcloud", "compute", "instance-templates", "create");
    int healthCheck = r.index("gcloud", "compute", "health-checks", "create", "http");
    int group = r.index("gcloud", "compute", "instance-groups", "managed", "create");
    int stable = r.index("gcloud", "compute", "instance-groups", "managed", "wait-until");
    assertTrue(services < serviceAccount && serviceAccount < firewall && firewall < redis && redis < repo
      && repo < build && build < template && template < healthCheck && healthCheck < group && group < stable, r.stdout());

    ShellCommand b = r.one("gcloud", "builds", "submit");
    String image = "us-central1-docker.pkg.dev/test-project/odin-ws/odin-ws:v1";
    assertEquals(image, b.flag("--tag"));
    assertEquals(ROOT.toString(), b.arg(3), "Cloud Build builds the repository's Dockerfile");
    ShellCommand repoCmd = r.one("gcloud", "artifacts", "repositories", "create");
    assertEquals("docker", repoCmd.flag("--repository-format"));
    assertEquals("us-central1", repoCmd.flag("--location"));

    ShellCommand g = r.one("gcloud", "compute", "instance-groups", "managed", "create");
    ShellCommand t = r.one("gcloud", "compute", "instance-templates", "create");
    assertEquals("odin-ws", g.arg(5));
    assertEquals("us-central1", g.flag("--region"), "a regional group: instances spread over zones");
    assertEquals(t.arg(4), g.flag("--template"), "the group runs the template just created");
    assertEquals("3", g.flag("--size"));
    assertEquals("odin-ws-health", g.flag("--health-check"));
    ShellCommand hc = r.one("gcloud", "compute", "health-checks", "create", "http");
    assertEquals("3004", hc.flag("--port"));
    assertEquals("/health/ready", hc.flag("--request-path"));
    assertTrue(r.all("gcloud").stream().allMatch(c -> "test-project".equals(c.flag("--project"))
      || c.is("gcloud", "projects", "add-iam-policy-binding", "test-project")), "every command names the project");
  }

  @Test
  void managementAndClusterPortsAreOpenInsideTheVpcOnly() throws Exception {
    for (Map<String, String> env : List.of(Map.<String, String>of(),
        Map.of("GCP_INTERNAL_RANGES", "10.0.0.0/8,172.16.0.0/12", "GCP_EVENT_BUS_PORT", "6000",
          "GCP_WS_SOURCE_RANGES", "203.0.113.0/24"))) {
      Run r = dryRun("setup", env);
      String internal = env.getOrDefault("GCP_INTERNAL_RANGES", "10.128.0.0/9");
      Set<String> internalPorts = new java.util.HashSet<>(INTERNAL_PORTS);
      internalPorts.add(env.getOrDefault("GCP_EVENT_BUS_PORT", "5801"));
      List<ShellCommand> rules = r.all("gcloud", "compute", "firewall-rules", "create");
      assertEquals(4, rules.size(), r.stdout());
      boolean sawWs = false;
      boolean sawCluster = false;
      for (ShellCommand rule : rules) {
        String ranges = rule.flag("--source-ranges");
        assertEquals("INGRESS", rule.flag("--direction"));
        assertNotNull(rule.flag("--target-tags"), "a rule applies to tagged VMs only: " + rule.line());
        List<String> ports = ports(rule);
        if (ports.stream().anyMatch(internalPorts::contains)) {
          assertFalse(ranges.contains("0.0.0.0/0"), "management or cluster port open to the world: " + rule.line());
          assertTrue(ranges.equals(internal) || ranges.equals(HEALTH_CHECKERS), rule.line());
          if (ranges.equals(HEALTH_CHECKERS)) {
            assertEquals(List.of("3004"), ports, "health checkers reach the management port only");
          }
        }
        if (ports.equals(List.of("3001"))) {
          sawWs = true;
          assertEquals(env.getOrDefault("GCP_WS_SOURCE_RANGES", "0.0.0.0/0"), ranges);
        }
        if (ports.contains("5701")) {
          sawCluster = true;
          assertTrue(ports.containsAll(internalPorts), "Hazelcast, event bus and 3004 together: " + rule.line());
        }
      }
      assertTrue(sawWs && sawCluster, r.stdout());
    }
  }

  @Test
  void aWorldWideInternalRangeIsRefused() throws Exception {
    for (String bad : List.of("0.0.0.0/0", "10.0.0.0/8,0.0.0.0/0", "::/0")) {
      for (String script : List.of("setup", "deploy")) {
        Run r = run(script, Map.of("GCP_INTERNAL_RANGES", bad), "--dry-run");
        assertEquals(1, r.exit(), script + " accepted GCP_INTERNAL_RANGES=" + bad);
        assertTrue(r.stderr().contains("GCP_INTERNAL_RANGES"), r.stderr());
        assertTrue(r.all("gcloud", "compute", "firewall-rules").isEmpty(), r.stdout());
      }
    }
  }

  @Test
  void templateRunsTheContainerFromAStartupScriptNotTheContainerAgent() throws Exception {
    Path env = work.resolve("extra.env");
    Files.writeString(env, "ODIN_WS_MAX_FRAME_BYTES=8192\n");
    Run r = dryRun("template", Map.of("GCP_SHARDS", "4", "GCP_ENV_FILE", env.toString(),
      "GCP_KAFKA_BOOTSTRAP", "10.0.0.7:9092,10.0.0.8:9092"));
    assertTrue(r.all("gcloud", "compute", "instance-templates", "create-with-container").isEmpty());
    assertFalse(r.stdout().contains("gce-container-declaration"), "the deprecated container agent's metadata");
    ShellCommand t = r.one("gcloud", "compute", "instance-templates", "create");
    assertEquals("cos-cloud", t.flag("--image-project"));
    assertEquals("cos-stable", t.flag("--image-family"));
    assertEquals("odin-ws", t.flag("--tags"), "the firewall rules' target tag");
    assertEquals("cloud-platform", t.flag("--scopes"));
    assertEquals("odin-ws-node@test-project.iam.gserviceaccount.com", t.flag("--service-account"));

    // the label Hazelcast's GCP discovery looks for, as conf/cluster/hazelcast-gcp.xml names it
    Matcher m = Pattern.compile("<label>([^<]+)</label>")
      .matcher(Files.readString(ROOT.resolve("conf/cluster/hazelcast-gcp.xml")));
    assertTrue(m.find());
    assertTrue(Arrays.asList(t.flag("--labels").split(",")).contains(m.group(1)), t.flag("--labels"));

    Map<String, String> files = new HashMap<>();
    for (String kv : t.flag("--metadata-from-file").split(",")) {
      String[] p = kv.split("=", 2);
      files.put(p[0], p[1]);
    }
    assertEquals(GCP.resolve("startup.sh").toString(), files.get("startup-script"));
    assertEquals(ROOT.resolve("conf/cluster/hazelcast-gcp.xml").toString(), files.get("hazelcast-config"));
    assertEquals(env.toString(), files.get("odin-env"));
    assertEquals("us-central1-docker.pkg.dev/test-project/odin-ws/odin-ws:v1", Files.readString(Path.of(files.get("odin-image"))));
    assertEquals("4", Files.readString(Path.of(files.get("odin-shards"))));
    assertEquals("10.0.0.7:9092,10.0.0.8:9092", Files.readString(Path.of(files.get("odin-kafka-bootstrap"))),
      "a list with commas survives (it goes in through a file)");
    assertEquals("redis://10.0.0.3:6379", Files.readString(Path.of(files.get("odin-redis-url"))),
      "the Memorystore instance's address (dry-run placeholder)");

    // content-addressed names: same settings, same template; other settings, another one
    String name = t.arg(4);
    assertEquals(name, run("template", Map.of("GCP_SHARDS", "4", "GCP_ENV_FILE", env.toString(),
      "GCP_KAFKA_BOOTSTRAP", "10.0.0.7:9092,10.0.0.8:9092"), "--dry-run", "--print-name").stdout().trim());
    assertNotEquals(name, run("template", Map.of("GCP_SHARDS", "5", "GCP_ENV_FILE", env.toString(),
      "GCP_KAFKA_BOOTSTRAP", "10.0.0.7:9092,10.0.0.8:9092"), "--dry-run", "--print-name").stdout().trim());
  }

  @Test
  void startupScriptRunsTheImageWithDockerOnTheHostNetwork() throws Exception {
    Path xml = ROOT.resolve("conf/cluster/hazelcast-gcp.xml");
    Map<String, String> meta = Map.of(
      "META_odin_image", "europe-west1-docker.pkg.dev/p/odin-ws/odin-ws:v7",
      "META_odin_shards", "5",
      "META_odin_cluster_label", "staging",
      "META_odin_redis_url", "redis://10.1.2.3:6379",
      "META_odin_env", "ODIN_SHARDS=99\nODIN_WS_MAX_CONNECTIONS=50000\n",
      "META_hazelcast_config", Files.readString(xml),
      "META_ip", "10.132.0.9");
    Run r = run("startup.sh", meta, "--dry-run");
    assertEquals(0, r.exit(), r.stderr());
    String out = r.stdout();
    assertFalse(out.contains("konlet") || out.contains("gce-container-declaration"));
    assertTrue(out.contains("docker-credential-gcr configure-docker --registries=europe-west1-docker.pkg.dev"), out);
    String dockerRun = out.lines().filter(l -> l.startsWith("docker run")).findFirst().orElseThrow();
    for (String flag : List.of("--network=host", "--restart=always", "--ulimit nofile=1048576:1048576",
        "--env-file /var/lib/odin-ws/odin.env", "/var/lib/odin-ws/hazelcast-gcp.xml:/etc/odin-ws/hazelcast-gcp.xml:ro")) {
      assertTrue(dockerRun.contains(flag), flag + " missing in: " + dockerRun);
    }
    assertTrue(dockerRun.endsWith(" europe-west1-docker.pkg.dev/p/odin-ws/odin-ws:v7"), dockerRun);
    assertTrue(out.indexOf("docker pull") < out.indexOf("docker run"));

    String envFile = section(out, "/var/lib/odin-ws/odin.env");
    List<String> lines = envFile.lines().toList();
    assertTrue(lines.contains("ODIN_CLUSTER=true"), envFile);
    assertTrue(lines.contains("ODIN_CLUSTER_CONFIG=/etc/odin-ws/hazelcast-gcp.xml"), envFile);
    assertTrue(lines.contains("ODIN_CLUSTER_HOST=10.132.0.9"), envFile);
    assertTrue(lines.contains("ODIN_REDIS_URL=redis://10.1.2.3:6379"), envFile);
    assertTrue(lines.contains("ODIN_WS_MAX_CONNECTIONS=50000"), "the operator's settings pass through: " + envFile);
    assertTrue(lines.indexOf("ODIN_SHARDS=5") > lines.indexOf("ODIN_SHARDS=99"),
      "the deployment's shard count comes last, so it wins: " + envFile);
    String hz = section(out, "/var/lib/odin-ws/hazelcast-gcp.xml");
    assertTrue(hz.contains("<label>odin-ws-cluster=staging</label>"), "the cluster label of this deployment");

    Map<String, String> noIp = new HashMap<>(meta);
    noIp.remove("META_ip");
    Run placeholder = run("startup.sh", noIp, "--dry-run");
    assertEquals(0, placeholder.exit(), placeholder.stderr());
    assertTrue(placeholder.stdout().contains("ODIN_CLUSTER_HOST=10.128.0.10"), placeholder.stdout());
    assertTrue(placeholder.stderr().contains("dry run: 10.128.0.10 is a placeholder for this VM's own address"), placeholder.stderr());

    Run missing = run("startup.sh", Map.of(), "--dry-run");
    assertEquals(1, missing.exit());
    assertTrue(missing.stderr().contains("odin-image"));
  }

  /** What a dry run of startup.sh would write to FILE (printed after "### FILE"). */
  static String section(String out, String file) {
    int start = out.indexOf("### " + file + "\n");
    assertTrue(start >= 0, "no " + file + " in:\n" + out);
    start += file.length() + 5;
    int end = out.indexOf("\n###", start);
    int next = out.indexOf("\ndocker", start);
    int stop = Math.min(end < 0 ? out.length() : end, next < 0 ? out.length() : next);
    for (String cmd : List.of("\nsysctl", "\nmkdir", "\nrun ")) {
      int i = out.indexOf(cmd, start);
      if (i >= 0 && i < stop) {
        stop = i;
      }
    }
    return out.substring(start, stop);
  }

  @Test
  void rolloutNeverHasFewerServingVmsThanTheGroupSize() throws Exception {
    Run r = dryRun("rollout", Map.of("GCP_SHARDS", "3"));
    String template = run("template", Map.of("GCP_SHARDS", "3"), "--dry-run", "--print-name").stdout().trim();
    ShellCommand u = r.one("gcloud", "compute", "instance-groups", "managed", "rolling-action", "start-update");
    assertEquals("0", u.flag("--max-unavailable"));
    assertEquals("3", u.flag("--max-surge"), "a regional group's surge covers its three zones");
    assertEquals("template=" + template, u.flag("--version"));
    assertEquals("proactive", u.flag("--type"));
    assertEquals("us-central1", u.flag("--region"));
    int create = r.index("gcloud", "compute", "instance-templates", "create");
    int update = r.index("gcloud", "compute", "instance-groups", "managed", "rolling-action", "start-update");
    List<ShellCommand> waits = r.all("gcloud", "compute", "instance-groups", "managed", "wait-until");
    assertTrue(create < update && r.commands().indexOf(waits.get(0)) > update, r.stdout());
    assertTrue(waits.stream().anyMatch(w -> w.has("--stable")));
    assertTrue(r.stdout().lines().noneMatch(l -> l.contains("start-update") && !l.contains("--max-unavailable=0")));
  }

  @Test
  void capacityTestRunsTheLoadToolOnTheLoadGeneratorAgainstEveryInstance() throws Exception {
    Path report = work.resolve("reports/cap.json");
    Run r = dryRun("loadtest", Map.of("GCP_SIZE", "4", "GCP_LOADTEST_CONNECTIONS", "40000",
      "GCP_LOADTEST_LABEL", "shards=4", "GCP_LOADTEST_REPORT", report.toString()), "--", "--payload-bytes", "64");
    ShellCommand vm = r.one("gcloud", "compute", "instances", "create");
    assertEquals("odin-ws-loadgen", vm.arg(4));
    assertEquals("odin-ws-loadgen", vm.flag("--tags"), "not the nodes' tag: the loadgen gets no node port rules");
    assertFalse(vm.flag("--labels").contains("odin-ws-cluster"), "the loadgen must not join Hazelcast discovery");
    assertTrue(vm.flag("--metadata-from-file").endsWith("scripts/gcp/loadgen-startup.sh"));
    int list = r.index("gcloud", "compute", "instances", "list");
    List<ShellCommand> ssh = r.all("gcloud", "compute", "ssh");
    List<ShellCommand> scp = r.all("gcloud", "compute", "scp");
    assertTrue(ssh.stream().allMatch(c -> c.has("--tunnel-through-iap")) && scp.stream().allMatch(c -> c.has("--tunnel-through-iap")));
    ShellCommand loadtest = ssh.stream().filter(c -> c.flag("--command").contains("scripts/loadtest")).findFirst().orElseThrow();
    List<String> lt = ShellCommand.parse(loadtest.flag("--command").replaceFirst("^.*&& (scripts/loadtest)", "$1")).words();
    ShellCommand ltCmd = new ShellCommand(loadtest.flag("--command"), lt);
    assertEquals(List.of("ws://10.128.0.10:3001/ws", "ws://10.128.0.11:3001/ws", "ws://10.128.0.12:3001/ws",
      "ws://10.128.0.13:3001/ws"), Arrays.asList(ltCmd.flag("--url").split(",")), "one URL per running instance");
    assertEquals(4, ltCmd.flag("--node-metrics").split(",").length);
    assertTrue(ltCmd.flag("--node-metrics").startsWith("http://10.128.0.10:3004/metrics"));
    assertEquals("40000", ltCmd.flag("--connections"));
    assertEquals("shards=4", ltCmd.flag("--label"));
    assertEquals("/tmp/odin-ws-capacity.json", ltCmd.flag("--report"));
    assertEquals("64", ltCmd.flag("--payload-bytes"), "extra arguments reach the load tool");
    assertTrue(ltCmd.has("--verify-routing"));
    assertTrue(loadtest.flag("--command").startsWith("ulimit -n 1048576"));
    int jar = r.commands().indexOf(scp.get(0));
    int runIdx = r.commands().indexOf(loadtest);
    ShellCommand back = scp.stream().filter(c -> c.words().get(c.words().size() - 1).equals(report.toString()))
      .findFirst().orElseThrow(() -> new AssertionError("report not copied back:\n" + r.stdout()));
    assertTrue(r.index("gcloud", "compute", "instances", "create") < list && list < jar && jar < runIdx
      && runIdx < r.commands().indexOf(back), r.stdout());
    assertTrue(scp.get(0).words().stream().anyMatch(w -> w.endsWith("loadtest/target/odin-loadtest.jar")));
    // the addresses above are placeholders, and said to be; the report is not claimed
    assertTrue(r.stdout().contains("# dry run: the command above is not run; a placeholder stands for its answer: "
      + "odin-ws-dry0 us-central1-a 10.128.0.10; odin-ws-dry1 us-central1-b 10.128.0.11"), r.stdout());
    assertFalse(Files.exists(report), "a dry run writes no report");
    assertTrue(r.stderr().contains("dry run: nothing ran, no report written (a real run copies it to " + report + ")"), r.stderr());
    assertFalse(r.stderr().contains("loadtest: report "), r.stderr());
  }

  /**
   * GCP_PLAN: the variables scripts/capacity-plan --format env writes size the group and set the capacity test's load;
   * one set in the environment wins; a file with anything but GCP_NAME=VALUE lines is refused, not run.
   */
  @Test
  void aCapacityPlansVariablesSizeTheGroupAndItsLoadTest() throws Exception {
    Path plan = work.resolve("plan.env");
    Files.writeString(plan, String.join("\n",
      "# odin-ws capacity plan: scripts/capacity-plan --connections 1000000 ...",
      "GCP_MACHINE_TYPE=e2-standard-8",
      "GCP_SIZE=6",
      "GCP_LOADTEST_CONNECTIONS=1000000",
      "GCP_LOADTEST_RATE=16666.683",
      "GCP_LOADTEST_MIX=1000000:1", ""));
    Run r = dryRun("loadtest", Map.of("GCP_PLAN", plan.toString(), "GCP_LOADTEST_CONNECTIONS", "60000"));
    ShellCommand loadtest = r.all("gcloud", "compute", "ssh").stream()
      .filter(c -> c.flag("--command").contains("scripts/loadtest")).findFirst().orElseThrow();
    ShellCommand lt = new ShellCommand(loadtest.flag("--command"),
      ShellCommand.parse(loadtest.flag("--command").replaceFirst("^.*&& (scripts/loadtest)", "$1")).words());
    assertEquals(6, lt.flag("--url").split(",").length, "the plan's group size");
    assertEquals("16666.683", lt.flag("--rate"));
    assertEquals("1000000:1", lt.flag("--mix"));
    assertEquals("60000", lt.flag("--connections"), "the environment wins over the plan");
    Run group = dryRun("group", Map.of("GCP_PLAN", plan.toString()));
    assertEquals("6", group.one("gcloud", "compute", "instance-groups", "managed", "create").flag("--size"));
    assertTrue(dryRun("template", Map.of("GCP_PLAN", plan.toString())).one("gcloud", "compute", "instance-templates",
      "create").flag("--machine-type").equals("e2-standard-8"));

    Files.writeString(plan, "GCP_SIZE=6\nGCP_SIZE=$(touch /tmp/odin-plan-ran)\n");
    Run bad = run("loadtest", Map.of("GCP_PLAN", plan.toString()), "--dry-run");
    assertNotEquals(0, bad.exit());
    assertTrue(bad.stderr().contains("GCP_PLAN: " + plan + ": 'GCP_SIZE=$(touch /tmp/odin-plan-ran)' is not a"
      + " GCP_NAME=VALUE line"), bad.stderr());
    assertFalse(Files.exists(Path.of("/tmp/odin-plan-ran")));
    Run missing = run("loadtest", Map.of("GCP_PLAN", work.resolve("none.env").toString()), "--dry-run");
    assertNotEquals(0, missing.exit());
    assertTrue(missing.stderr().contains("is not a file (write one: scripts/capacity-plan ... --format env >FILE)"),
      missing.stderr());
  }

  @Test
  void matrixRollsEachShardCountThenTestsItThenWritesOneTable() throws Exception {
    Run r = dryRun("matrix", Map.of());
    List<String> shards = new ArrayList<>();
    List<Integer> updates = new ArrayList<>();
    List<String> templates = new ArrayList<>();
    for (int i = 0; i < r.commands().size(); i++) {
      ShellCommand c = r.commands().get(i);
      if (c.is("gcloud", "compute", "instance-groups", "managed", "rolling-action", "start-update")) {
        updates.add(i);
        templates.add(c.flag("--version"));
      }
      if (c.is("gcloud", "compute", "ssh") && c.flag("--command").contains("scripts/loadtest")) {
        Matcher m = Pattern.compile("--label shards=(\\d+)").matcher(c.flag("--command"));
        assertTrue(m.find(), c.line());
        shards.add(m.group(1));
        assertTrue(!updates.isEmpty() && updates.get(updates.size() - 1) < i, "each test runs after its rollout");
      }
    }
    assertEquals(List.of("2", "3", "4", "5", "7"), shards);
    assertEquals(5, updates.size());
    assertEquals(5, templates.stream().distinct().count(), "one template per shard count");
    for (String s : List.of("2", "3", "4", "5", "7")) {
      String name = run("template", Map.of("GCP_SHARDS", s), "--dry-run", "--print-name").stdout().trim();
      assertEquals("template=" + name, templates.get(shards.indexOf(s)));
    }
    ShellCommand table = r.commands().get(r.commands().size() - 1);
    assertTrue(table.is("java", "-cp"), table.line());
    assertEquals("io.odin.ws.loadtest.MatrixReport", table.arg(3));
    List<String> reports = table.words().subList(5, table.words().size());
    assertEquals(5, reports.size());
    for (int i = 0; i < 5; i++) {
      assertTrue(reports.get(i).endsWith("matrix/shards-" + shards.get(i) + ".json"), reports.get(i));
    }
  }

  @Test
  void healthReadsEveryInstanceAndCanaryPutsTheStageOnOne() throws Exception {
    Run h = dryRun("health", Map.of("GCP_SIZE", "5"));
    // the instances are made up, and the dry run says so right after the command that would list them
    List<String> lines = h.stdout().lines().toList();
    int list = lines.indexOf(lines.stream().filter(l -> l.startsWith("gcloud compute instances list")).findFirst().orElseThrow());
    assertTrue(lines.get(list + 1).startsWith("# dry run: the command above is not run; a placeholder stands for its answer: "
      + "odin-ws-dry0 us-central1-a 10.128.0.10;"), h.stdout());
    List<ShellCommand> ssh = h.all("gcloud", "compute", "ssh");
    assertEquals(5, ssh.size());
    assertEquals(5, ssh.stream().map(c -> c.arg(3)).distinct().count());
    assertTrue(ssh.stream().allMatch(c -> c.flag("--command").contains("http://127.0.0.1:3004/health")));

    Run c = dryRun("canary", Map.of("ODIN_API_KEY", "secret-key-123"), "10");
    assertFalse(c.stdout().contains("secret-key-123") || c.stderr().contains("secret-key-123"), "the key leaked");
    ShellCommand put = c.all("gcloud", "compute", "ssh").get(0);
    String curl = put.flag("--command");
    assertTrue(curl.contains("-X PUT") && curl.contains("http://127.0.0.1:3004/api/dispatch"), curl);
    assertTrue(curl.contains("{\"mode\":\"targeted\",\"targetedPercent\":10}"), curl);
    assertTrue(curl.contains("-H @-"), "the key is read from stdin: " + curl);
    assertEquals(1 + 3, c.all("gcloud", "compute", "ssh").size(), "the PUT, then /health of every node");

    Run rollback = dryRun("canary", Map.of(), "0", "--mode", "broadcast");
    String body = rollback.all("gcloud", "compute", "ssh").get(0).flag("--command");
    assertTrue(body.contains("{\"mode\":\"broadcast\",\"targetedPercent\":0}") && !body.contains("@-"), body);
    for (String bad : List.of("101", "-5", "ten")) {
      assertEquals(2, run("canary", Map.of(), "--dry-run", bad).exit(), bad);
    }
    assertEquals(2, run("canary", Map.of(), "--dry-run", "50", "--mode", "sideways").exit());
  }

  /**
   * A dry run reads nothing from the key's stdin. Fed through a pipe under pipefail, the writer died of SIGPIPE
   * (exit 141) whenever the reader was gone before it wrote: one dry run in 40 with a short key, every one with a
   * key larger than a pipe's buffer, which makes the failure certain here instead of rare.
   */
  @Test
  void canaryDryRunWithAnApiKeyNobodyReadsSucceeds() throws Exception {
    String key = "k".repeat(100_000);
    for (int i = 0; i < 3; i++) {
      Run c = dryRun("canary", Map.of("ODIN_API_KEY", key), "10");
      assertTrue(c.all("gcloud", "compute", "ssh").get(0).flag("--command").contains("-H @-"));
      assertFalse(c.stdout().contains(key.substring(0, 64)) || c.stderr().contains(key.substring(0, 64)), "the key leaked");
    }
  }

  @Test
  void teardownDeletesEverythingInDependencyOrder() throws Exception {
    Run r = dryRun("down", Map.of());
    int group = r.index("gcloud", "compute", "instance-groups", "managed", "delete");
    int hc = r.index("gcloud", "compute", "health-checks", "delete");
    int template = r.index("gcloud", "compute", "instance-templates", "delete");
    int loadgen = r.index("gcloud", "compute", "instances", "delete");
    int firewall = r.index("gcloud", "compute", "firewall-rules", "delete");
    int redis = r.index("gcloud", "redis", "instances", "delete");
    assertTrue(group < hc && hc < template && template < loadgen && loadgen < firewall && firewall < redis, r.stdout());
    assertEquals(4, r.all("gcloud", "compute", "firewall-rules", "delete").size());
    assertTrue(r.all("gcloud").stream().filter(c -> c.words().contains("delete")).allMatch(c -> c.has("--quiet")));
    assertTrue(r.all("gcloud", "artifacts", "repositories", "delete").isEmpty(), "images stay without --all");
    Run all = dryRun("down", Map.of(), "--all");
    assertEquals(1, all.all("gcloud", "artifacts", "repositories", "delete").size());
    assertEquals(1, all.all("gcloud", "iam", "service-accounts", "delete").size());
    Run external = dryRun("down", Map.of("GCP_REDIS_URL", "redis://10.9.9.9:6379"));
    assertTrue(external.all("gcloud", "redis").isEmpty(), "a Redis the deployment did not make is left alone");
  }

  @Test
  void everyScriptHasHelpAndRefusesUnknownOptions() throws Exception {
    try (Stream<Path> files = Files.list(GCP)) {
      for (Path f : files.sorted().toList()) {
        if (!Files.isExecutable(f)) {
          assertEquals("lib.sh", f.getFileName().toString(), "every script but the sourced library is executable");
          continue;
        }
        String name = f.getFileName().toString();
        Run help = run(name, Map.of(), "--help");
        assertEquals(0, help.exit(), name + " --help");
        assertTrue(help.stdout().contains("--dry-run"), name + " --help does not mention --dry-run:\n" + help.stdout());
        assertTrue(help.stdout().lines().noneMatch(l -> l.startsWith("gcloud ")), name + " --help printed commands");
        assertEquals(2, run(name, Map.of(), "--dry-run", "--no-such-option").exit(), name + " accepted an unknown option");
      }
    }
  }

  @Test
  void scriptsAreShellcheckClean() throws Exception {
    assumeTrue(new ProcessBuilder("sh", "-c", "command -v shellcheck").start().waitFor() == 0,
      "shellcheck is not installed (scripts/test installs it)");
    List<String> cmd = new ArrayList<>(List.of("shellcheck", "-x"));
    try (Stream<Path> files = Files.list(GCP)) {
      files.sorted().forEach(f -> cmd.add(f.toString()));
    }
    Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
  }
}
