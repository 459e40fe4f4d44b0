package io.odin.ws.loadtest;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/** The load tool's command line. Mutable fields so tests can build one directly; {@link #check()} validates. */
public final class LoadTestOptions {

  public enum PublishMode { HTTP, KAFKA, NONE }

  public String url = "ws://127.0.0.1:3001/ws";
  public int connections = 1000;
  public int ramp = 1000;
  public long durationMillis = 30_000;
  public long warmupMillis;
  /** Publish phases run back to back (--phases); empty = one phase at --rate for --duration (after --warmup). */
  public List<Phase> phases = new ArrayList<>();
  public String tokenPrefix = "lt-";
  /** 0 = derived: connections / connectionsPerToken, rounded up. */
  public int tokens;
  public int connectionsPerToken = 1;
  public int tokensPerMessage = 1;
  public PublishMode publish = PublishMode.HTTP;
  /** null = the --url host, port 3004, /api/publish. */
  public String publishUrl;
  public String kafkaBootstrap = "127.0.0.1:9092";
  public String topic = "odin-events";
  public String kafkaAcks = "1";
  public double rate = 100;
  public int mixTargeted = 80;
  public int mixBroadcast = 20;
  /** The channel share of --mix T:B:C: messages to a random one of the --channels channels. */
  public int mixChannel;
  /** Channels the connections subscribe to at their handshake (0: none); see {@link TokenPlan}. */
  public int channels;
  public int channelSizeLo;
  public int channelSizeHi;
  public String channelPrefix = "lt-ch:";
  public int batch = 1;
  public int payloadBytes;
  public String type = "loadtest";
  public String channel;
  public String report;
  public String chart;
  public boolean verifyRouting;
  public int processes = 1;
  /** Source addresses to bind; empty = none (the kernel picks 127.0.0.1), "auto" = 127.0.0.2, .3, ... */
  public List<String> sourceAddresses = new ArrayList<>();
  public long drainMillis = 10_000;
  public long connectTimeoutMillis = 10_000;
  /** 0 = derived: three times the nominal ramp time plus a minute. */
  public long rampTimeoutMillis;
  public int maxPendingHandshakes = 256;
  public int httpConnections = 16;
  public int maxInFlight = 64;
  public int serverPid = -1;
  /** Gateway nodes' /metrics URLs, read at the start and end of the measured window (CPU and connections per node). */
  public List<String> nodeMetrics = new ArrayList<>();
  public boolean serverGc;
  public boolean quiet;
  public String workerJvmOpts = "-Xms256m -Xmx1500m -XX:+UseZGC";
  public String runId = UUID.randomUUID().toString().substring(0, 8);
  public String label = "";
  public long seed = 42;
  /** With it, each connection sends an HS256 JWT (sub = its token) instead of ?token= (gateway auth.mode=jwt). */
  public String jwtSecret;
  public int eventLoops = Math.max(1, Runtime.getRuntime().availableProcessors());
  /** Reconnect after the server closes a connection with a code that says "come back" (1001, 1006, 1013, ...). */
  public boolean reconnect;
  /** ... with {@code since=} the last message's id (implies {@link #reconnect}). */
  public boolean reconnectWithCursor;
  public long reconnectDelayMillis = 1000;
  public long reconnectJitterMillis = 1000;
  /** Endpoints that take no first connects, only reconnects (comma list of ws:// URLs); null = none. */
  public String failoverUrl;
  /** Offline spells (--offline). */
  public List<OfflineSpell> offline = new ArrayList<>();
  /** Nodes drained or killed during the run (--drain-node, --kill-node). */
  public List<NodeEvent> nodeEvents = new ArrayList<>();
  /** Connections coming and going every second while publishing (--churn); null = none. */
  public Churn churn;
  /** Reconnect storms (--storm). */
  public List<Storm> storms = new ArrayList<>();
  /** The report's latency per window of this length (--window); 0 = none. */
  public long windowMillis;

  public static final String USAGE = String.join("\n",
    "usage: scripts/loadtest [options]",
    "  --url URL[,URL...]           WebSocket endpoint (default ws://127.0.0.1:3001/ws); ?token=T is added;",
    "                               several (the nodes of a cluster): connection i uses URL i % n",
    "  --connections N              connections to open over all processes (default 1000)",
    "  --ramp N                     new connections per second (default 1000)",
    "  --duration D                 how long to publish (or hold idle connections): 30, 20s, 5m, 500ms (default 30s)",
    "  --warmup D                   publish this long first, outside the measured figures (default 0)",
    "  --phases R:D[,R:D...]        publish at rate R for duration D, each phase right after the previous one, with",
    "                               p50/p99/delivered per phase in the report (e.g. 2000:5s,20000:20s,40000:20s);",
    "                               replaces --rate and --duration; deliveries count in the phase they arrive in",
    "  --token-prefix P             tokens are P0, P1, ... (default lt-)",
    "  --tokens N                   number of tokens (default connections / connections-per-token)",
    "  --connections-per-token K    connections sharing each token (default 1)",
    "  --tokens-per-message K       tokens named by each targeted message (default 1)",
    "  --publish http|kafka|none    how to publish (default http; none = idle connections only)",
    "  --publish-url URL            default http://HOST:3004/api/publish, HOST from --url",
    "  --kafka-bootstrap HOST:PORT  for --publish kafka (default 127.0.0.1:9092)",
    "  --topic T                    for --publish kafka (default odin-events, the gateway's kafka.topics default)",
    "  --kafka-acks 0|1|all         producer acks (default 1)",
    "  --rate R                     messages per second (default 100; 0 = publish nothing)",
    "  --mix T:B[:C]                targeted:broadcast[:channel] share (default 80:20:0); a channel message goes to a",
    "                               random one of the --channels channels",
    "  --channels N                 each connection subscribes at its handshake (?channels=) to one of N channels",
    "                               (default 0: none)",
    "  --channel-sizes LO-HI        channel c gets LO + c % (HI-LO+1) subscribers, in connection order (default: the",
    "                               connections spread evenly over the channels)",
    "  --channel-prefix P           channels are P0, P1, ... (default lt-ch:)",
    "  --batch N                    envelopes per publish request (default 1)",
    "  --payload-bytes N            padding added to each message's data (default 0)",
    "  --type T                     envelope type (default loadtest)",
    "  --channel C                  envelope channel (default none; a label: targeted messages stay targeted)",
    "  --report FILE                write the JSON report here",
    "  --chart FILE                 write the HTML chart here (default: the report's name with .html)",
    "  --verify-routing             check every delivery; violations are listed and the exit status is 1",
    "  --processes N                spread connections over N child processes (default 1)",
    "  --source-addresses LIST      'auto' (127.0.0.2, 127.0.0.3, ... one per process), a comma list, or 'none':",
    "                               no bind before connect; with several --url nodes the kernel reuses source ports",
    "                               per destination, and skips bind()'s port search, which slows as a source fills",
    "  --drain D                    longest wait for in-flight messages after publishing (default 10s)",
    "  --connect-timeout D          WebSocket handshake timeout (default 10s)",
    "  --ramp-timeout D             give up waiting for connections after this long (default 3 x connections/ramp + 60s)",
    "  --max-pending-handshakes N   handshakes in progress per process (default 256)",
    "  --http-connections N         publish HTTP connections (default 16)",
    "  --max-in-flight N            publish requests (or Kafka sends) awaiting an answer (default 64)",
    "  --server-pid PID             sample the gateway's resident memory and CPU from /proc",
    "  --server-gc                  with --server-pid: run 'jcmd PID GC.run' before measuring its memory",
    "  --node-metrics URL[,URL...]  each node's /metrics (http://HOST:3004/metrics), read at the start and end of",
    "                               the measured window: CPU and connections per node in the report (any machine),",
    "                               and a clustered node's event-bus bytes and messages to other nodes per second",
    "  --worker-jvm-opts OPTS       JVM options of child processes",
    "  --label TEXT                 free text copied into the report",
    "  --seed N                     random seed for token choice (default 42)",
    "  --jwt-secret S               sign one HS256 JWT per connection (sub = its token; Authorization: Bearer),",
    "                               for a gateway with auth.mode=jwt and auth.jwt.hmacSecret S",
    "  --reconnect                  a connection the server closes with 1001, 1006, 1011, 1012, 1013 or 4408 comes",
    "                               back after --reconnect-delay plus a random share of --reconnect-jitter: to the",
    "                               next --url (or --failover-url) after 1001/1006/1011/1012 or a failed attempt",
    "  --reconnect-with-cursor      the same, with since= the id of the last message it received; counts the resumed",
    "                               frames (recovered, replayed) and verifies exactness across reconnects: every",
    "                               message once, in order, none lost (docs/protocol.md, Reconnecting without loss);",
    "                               one received again under another id (the gateway took it in twice: Kafka's",
    "                               at-least-once) is counted as redelivered, not as a duplicate",
    "  --reconnect-delay D          least wait before a reconnect (default 1s)",
    "  --reconnect-jitter D         plus a random share of this (default 1s)",
    "  --failover-url URL[,URL...]  endpoints that take reconnects but no first connects (a drained node's clients",
    "                               come back there)",
    "  --offline SHARE:AT:FOR[,...] an offline spell: SHARE of the connections (10% or 0.1) close at AT after",
    "                               publishing began and come back FOR later (e.g. 10%:20s:4s)",
    "  --drain-node PID@AT[,...]    SIGTERM the node PID at AT after publishing began (its clients get 1001)",
    "  --kill-node PID@AT[,...]     SIGKILL the node PID at AT after publishing began (its clients see 1006)",
    "  --churn SHARE[:AWAY]         every second while publishing, SHARE of the connections (1% or 0.01) close and come",
    "                               back to their first node, each after a random share of AWAY (default 2s), with",
    "                               their cursor under --reconnect-with-cursor: clients coming and going (scripts/soak)",
    "  --storm N:AT[:SPREAD][,...]  a reconnect storm: N connections (a count, or a share: 88%) close at AT after",
    "                               publishing began and all come back within SPREAD (default 1s); the report's storms",
    "                               section says when all were back, the 503s with Retry-After met, and the latency of",
    "                               live deliveries before, during and after it (scripts/storm)",
    "  --window D                   the report's latency and deliveries per window of D (e.g. 5m)",
    "  --quiet                      no progress line",
    "exit status: 0 ok, 1 routing violations, 2 bad usage, 3 incomplete run (connections failed or publishes refused),",
    "             4 short run (the load asked for was not offered: under 98% of the planned messages sent, or publishes",
    "             unanswered; or deliveries missing at the end of the drain)");

  public static LoadTestOptions parse(String... args) {
    LoadTestOptions o = new LoadTestOptions();
    boolean tokensGiven = false;
    boolean cptGiven = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (a.equals("--verify-routing")) {
        o.verifyRouting = true;
        continue;
      }
      if (a.equals("--server-gc")) {
        o.serverGc = true;
        continue;
      }
      if (a.equals("--quiet")) {
        o.quiet = true;
        continue;
      }
      if (a.equals("--reconnect")) {
        o.reconnect = true;
        continue;
      }
      if (a.equals("--reconnect-with-cursor")) {
        o.reconnect = true;
        o.reconnectWithCursor = true;
        continue;
      }
      if (a.equals("--help") || a.equals("-h")) {
        throw new UsageException(null);
      }
      if (!a.startsWith("--")) {
        throw new UsageException("unexpected argument '" + a + "'");
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new UsageException(a + " needs a value");
        }
        value = args[++i];
      }
      switch (a) {
        case "--url" -> o.url = value;
        case "--connections" -> o.connections = intArg(a, value, 0);
        case "--ramp" -> o.ramp = intArg(a, value, 1);
        case "--duration" -> o.durationMillis = durationMillis(a, value);
        case "--warmup" -> o.warmupMillis = durationMillis(a, value);
        case "--phases" -> o.phases = phases(a, value);
        case "--token-prefix" -> o.tokenPrefix = value;
        case "--tokens" -> {
          o.tokens = intArg(a, value, 1);
          tokensGiven = true;
        }
        case "--connections-per-token" -> {
          o.connectionsPerToken = intArg(a, value, 1);
          cptGiven = true;
        }
        case "--tokens-per-message" -> o.tokensPerMessage = intArg(a, value, 1);
        case "--publish" -> {
          try {
            o.publish = PublishMode.valueOf(value.toUpperCase(Locale.ROOT));
          } catch (IllegalArgumentException e) {
            throw new UsageException("--publish takes http, kafka or none, got '" + value + "'");
          }
        }
        case "--publish-url" -> o.publishUrl = value;
        case "--kafka-bootstrap" -> o.kafkaBootstrap = value;
        case "--topic" -> o.topic = value;
        case "--kafka-acks" -> o.kafkaAcks = value;
        case "--rate" -> {
          try {
            o.rate = Double.parseDouble(value);
          } catch (NumberFormatException e) {
            throw new UsageException("--rate takes a number, got '" + value + "'");
          }
          if (o.rate < 0 || o.rate > 10_000_000) {
            throw new UsageException("--rate must be 0 to 10000000");
          }
        }
        case "--mix" -> {
          String[] parts = value.split(":");
          if (parts.length != 2 && parts.length != 3) {
            throw new UsageException("--mix takes TARGETED:BROADCAST[:CHANNEL], e.g. 80:20 or 0:0:100, got '" + value + "'");
          }
          o.mixTargeted = intArg(a, parts[0], 0);
          o.mixBroadcast = intArg(a, parts[1], 0);
          o.mixChannel = parts.length == 3 ? intArg(a, parts[2], 0) : 0;
          if (o.mixTargeted + o.mixBroadcast + o.mixChannel == 0) {
            throw new UsageException("--mix: every share is 0");
          }
        }
        case "--batch" -> o.batch = intArg(a, value, 1);
        case "--payload-bytes" -> o.payloadBytes = intArg(a, value, 0);
        case "--type" -> o.type = value;
        case "--channel" -> o.channel = value;
        case "--channels" -> o.channels = intArg(a, value, 0);
        case "--channel-prefix" -> o.channelPrefix = value;
        case "--channel-sizes" -> {
          String[] parts = value.split("-");
          if (parts.length != 2) {
            throw new UsageException("--channel-sizes takes LO-HI, e.g. 1-5, got '" + value + "'");
          }
          o.channelSizeLo = intArg(a, parts[0], 1);
          o.channelSizeHi = intArg(a, parts[1], o.channelSizeLo);
        }
        case "--report" -> o.report = value;
        case "--chart" -> o.chart = value;
        case "--processes" -> o.processes = intArg(a, value, 1);
        case "--source-addresses" -> o.sourceAddresses = new ArrayList<>(Arrays.asList(value.split(",")));
        case "--drain" -> o.drainMillis = durationMillis(a, value);
        case "--connect-timeout" -> o.connectTimeoutMillis = durationMillis(a, value);
        case "--ramp-timeout" -> o.rampTimeoutMillis = durationMillis(a, value);
        case "--max-pending-handshakes" -> o.maxPendingHandshakes = intArg(a, value, 1);
        case "--http-connections" -> o.httpConnections = intArg(a, value, 1);
        case "--max-in-flight" -> o.maxInFlight = intArg(a, value, 1);
        case "--server-pid" -> o.serverPid = intArg(a, value, 1);
        case "--node-metrics" -> o.nodeMetrics = new ArrayList<>(Arrays.asList(value.split(",")));
        case "--worker-jvm-opts" -> o.workerJvmOpts = value;
        case "--label" -> o.label = value;
        case "--seed" -> o.seed = Long.parseLong(value);
        case "--jwt-secret" -> o.jwtSecret = value;
        case "--run-id" -> o.runId = value;
        case "--event-loops" -> o.eventLoops = intArg(a, value, 1);
        case "--reconnect-delay" -> o.reconnectDelayMillis = durationMillis(a, value);
        case "--reconnect-jitter" -> o.reconnectJitterMillis = durationMillis(a, value);
        case "--failover-url" -> o.failoverUrl = value;
        case "--offline" -> o.offline.addAll(offlineSpells(a, value));
        case "--drain-node" -> o.nodeEvents.addAll(nodeEvents(a, value, NodeEvent.Kind.DRAIN));
        case "--kill-node" -> o.nodeEvents.addAll(nodeEvents(a, value, NodeEvent.Kind.KILL));
        case "--churn" -> o.churn = churn(a, value);
        case "--storm" -> o.storms.addAll(storms(a, value));
        case "--window" -> o.windowMillis = durationMillis(a, value);
        default -> throw new UsageException("unknown option " + a);
      }
    }
    if (!tokensGiven) {
      o.tokens = Math.max(1, (o.connections + o.connectionsPerToken - 1) / o.connectionsPerToken);
    } else if (cptGiven && (long) o.tokens * o.connectionsPerToken < o.connections) {
      throw new UsageException("--tokens " + o.tokens + " x --connections-per-token " + o.connectionsPerToken
        + " is less than --connections " + o.connections);
    }
    o.check();
    return o;
  }

  /** Validates the combination; throws {@link UsageException}. */
  public LoadTestOptions check() {
    if (!phases.isEmpty()) {
      if (warmupMillis > 0) {
        throw new UsageException("--phases and --warmup do not combine: make the warm-up the first phase");
      }
      // the publisher's figures and checks see the phases as one run: the highest rate, their total duration
      rate = phases.stream().mapToDouble(Phase::rate).max().orElse(0);
      durationMillis = phases.stream().mapToLong(Phase::millis).sum();
    }
    wsUris();
    if (tokens < 1) {
      tokens = Math.max(1, (connections + connectionsPerToken - 1) / connectionsPerToken);
    }
    if (tokensPerMessage > tokens) {
      throw new UsageException("--tokens-per-message " + tokensPerMessage + " exceeds --tokens " + tokens);
    }
    if (!tokenPrefix.matches("[A-Za-z0-9._:-]{1,100}")) {
      throw new UsageException("--token-prefix may contain only letters, digits and . _ : - (1 to 100 of them)");
    }
    if (processes > connections && connections > 0) {
      throw new UsageException("--processes " + processes + " exceeds --connections " + connections);
    }
    if (sourceAddresses.size() > 1 || (sourceAddresses.size() == 1 && !isKeyword(sourceAddresses.get(0)))) {
      if (sourceAddresses.stream().anyMatch(LoadTestOptions::isKeyword)) {
        throw new UsageException("--source-addresses is 'auto', 'none' or a list of addresses, not a mix");
      }
      if (sourceAddresses.size() < processes) {
        throw new UsageException("--source-addresses lists " + sourceAddresses.size() + " addresses for "
          + processes + " processes");
      }
    }
    if (mixChannel > 0 && channels == 0 && rate > 0) {
      throw new UsageException("--mix with a channel share needs --channels N");
    }
    if (channels > 0 && !(channelPrefix + channels).matches("[A-Za-z0-9._:@/=-]{1,128}")) {
      throw new UsageException("--channel-prefix: channel names are 1 to 128 of letters, digits and . _ : @ / = -");
    }
    failoverEndpoints();
    long runMillis = warmupMillis + durationMillis + drainMillis;
    for (OfflineSpell spell : offline) {
      if (spell.atMillis() >= runMillis) {
        throw new UsageException("--offline at " + spell.atMillis() / 1000.0 + " s is after the run (--warmup, --duration"
          + " and --drain add up to " + runMillis / 1000.0 + " s)");
      }
    }
    for (Storm storm : storms) {
      if (storm.atMillis() >= runMillis) {
        throw new UsageException("--storm at " + storm.atMillis() / 1000.0 + " s is after the run (--warmup, --duration and"
          + " --drain add up to " + runMillis / 1000.0 + " s)");
      }
      if (storm.permille(connections) < 1) {
        throw new UsageException("--storm takes at least one connection: " + storm.count() + " of " + connections);
      }
    }
    for (NodeEvent e : nodeEvents) {
      if (e.atMillis() >= runMillis) {
        throw new UsageException("--" + (e.kind() == NodeEvent.Kind.DRAIN ? "drain" : "kill") + "-node at "
          + e.atMillis() / 1000.0 + " s is after the run (--warmup, --duration and --drain add up to "
          + runMillis / 1000.0 + " s)");
      }
    }
    if (rate == 0 || connections == 0) {
      publish = rate == 0 ? PublishMode.NONE : publish;
    }
    publishUri();
    return this;
  }

  /** The first (or only) WebSocket URL. */
  public URI wsUri() {
    return wsUris().get(0);
  }

  /** Every WebSocket URL of {@code --url} (a comma list spreads connections over nodes: connection i uses URL i % n). */
  public List<URI> wsUris() {
    return wsUris("--url", url);
  }

  private static List<URI> wsUris(String option, String urls) {
    List<URI> out = new ArrayList<>();
    for (String u : urls.split(",")) {
      try {
        URI uri = new URI(u.trim());
        if (uri.getHost() == null) {
          throw new UsageException(option + " has no host: '" + u + "'");
        }
        if (!"ws".equals(uri.getScheme())) {
          throw new UsageException(option + " must be ws://HOST:PORT/PATH, got '" + u + "'");
        }
        out.add(uri);
      } catch (java.net.URISyntaxException e) {
        throw new UsageException(option + " is not a URL: '" + u + "'");
      }
    }
    return out;
  }

  /** What each connection connects to, in the order of {@link #wsUris()}. */
  public List<ClientFleet.Endpoint> endpoints() {
    return endpoints(wsUris());
  }

  /** Where reconnects may go besides {@link #endpoints()} (--failover-url). */
  public List<ClientFleet.Endpoint> failoverEndpoints() {
    return failoverUrl == null || failoverUrl.isBlank() ? List.of() : endpoints(wsUris("--failover-url", failoverUrl));
  }

  private static List<ClientFleet.Endpoint> endpoints(List<URI> uris) {
    List<ClientFleet.Endpoint> out = new ArrayList<>();
    for (URI u : uris) {
      out.add(new ClientFleet.Endpoint(u.getHost(), u.getPort() > 0 ? u.getPort() : 80,
        u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath()));
    }
    return out;
  }

  /** The clients of connections {@code [from, to)}, in this process or a child. */
  public ClientFleet.Spec fleetSpec(int from, int to, String sourceAddress) {
    return new ClientFleet.Spec(endpoints(), failoverEndpoints(), tokenPlan(), from, to, sourceAddress, ramp,
      maxPendingHandshakes, connectTimeoutMillis, runId, verifyRouting, eventLoops, jwtSecret,
      new ClientFleet.Reconnect(reconnect, reconnectWithCursor, reconnectDelayMillis,
        reconnectJitterMillis));
  }

  public int wsPort() {
    int p = wsUri().getPort();
    return p > 0 ? p : 80;
  }

  public URI publishUri() {
    String u = publishUrl != null ? publishUrl : "http://" + wsUri().getHost() + ":3004/api/publish";
    try {
      URI uri = new URI(u);
      if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new UsageException("--publish-url must be http://HOST:PORT/PATH, got '" + u + "'");
      }
      return uri;
    } catch (java.net.URISyntaxException e) {
      throw new UsageException("--publish-url is not a URL: '" + u + "'");
    }
  }

  /** The source address process {@code index} binds to, or null. */
  public String sourceAddress(int index) {
    if (sourceAddresses.isEmpty()) {
      return null;
    }
    if (sourceAddresses.size() == 1 && sourceAddresses.get(0).equals("auto")) {
      return "127.0.0." + (2 + index);
    }
    if (sourceAddresses.size() == 1 && sourceAddresses.get(0).equals("none")) {
      return null;
    }
    return sourceAddresses.get(index % sourceAddresses.size()).trim();
  }

  private static boolean isKeyword(String address) {
    return address.equals("auto") || address.equals("none");
  }

  public TokenPlan tokenPlan() {
    return new TokenPlan(tokenPrefix, tokens, connections, channelPrefix, channels, channelSizeLo, channelSizeHi);
  }

  /** One publish phase: a rate for a duration. */
  public record Phase(double rate, long millis) {
    public String label() {
      return String.format(Locale.ROOT, "%.0f/s for %.1f s", rate, millis / 1000.0);
    }

    /** Messages this phase publishes. */
    public long messages() {
      return (long) Math.floor(rate * millis / 1000.0);
    }
  }

  /**
   * An offline spell: {@code permille} per mille of the connections close {@code atMillis} after publishing began and
   * come back {@code forMillis} later.
   */
  public record OfflineSpell(int permille, long atMillis, long forMillis) {
  }

  /** Every second, {@code permille} per mille of the connections close and come back within {@code maxAwayMillis}. */
  public record Churn(int permille, long maxAwayMillis) {
  }

  /**
   * A reconnect storm {@code atMillis} after publishing began: {@code count} connections (or, with count -1,
   * {@code sharePermille} per mille of them) close and come back within {@code spreadMillis}.
   */
  public record Storm(int count, int sharePermille, long atMillis, long spreadMillis) {
    /** The share of {@code connections} it takes, per mille. */
    public int permille(int connections) {
      return count < 0 ? sharePermille : connections <= 0 ? 0 : (int) Math.min(1000, Math.round(count * 1000.0 / connections));
    }
  }

  /** A node drained (SIGTERM) or killed (SIGKILL) {@code atMillis} after publishing began. */
  public record NodeEvent(Kind kind, long pid, long atMillis) {
    public enum Kind { DRAIN, KILL }
  }

  /** 'SHARE:AT:FOR,...' as offline spells; SHARE is a percentage (10%) or a fraction (0.1). */
  static List<OfflineSpell> offlineSpells(String option, String value) {
    List<OfflineSpell> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String[] f = part.trim().split(":");
      if (f.length != 3) {
        throw new UsageException(option + " takes SHARE:AT:FOR[,...], e.g. 10%:20s:4s, got '" + value + "'");
      }
      double share = share(option, f[0]);
      long forMillis = durationMillis(option, f[2]);
      if (forMillis <= 0) {
        throw new UsageException(option + ": how long the spell lasts must be above 0, got '" + f[2] + "'");
      }
      out.add(new OfflineSpell((int) Math.max(1, Math.round(share * 1000)), durationMillis(option, f[1]), forMillis));
    }
    return out;
  }

  /** A share of the connections: a percentage (10%) or a fraction (0.1), above 0 and at most all of them. */
  static double share(String option, String text) {
    double share;
    try {
      String v = text.trim();
      share = v.endsWith("%") ? Double.parseDouble(v.substring(0, v.length() - 1)) / 100 : Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new UsageException(option + ": '" + text + "' is not a share (10% or 0.1)");
    }
    if (!(share > 0 && share <= 1)) {
      throw new UsageException(option + ": a share must be above 0 and at most 100%, got '" + text + "'");
    }
    return share;
  }

  /** 'SHARE[:AWAY]' as churn. */
  static Churn churn(String option, String value) {
    String[] f = value.trim().split(":");
    if (f.length > 2) {
      throw new UsageException(option + " takes SHARE[:AWAY], e.g. 1%:2s, got '" + value + "'");
    }
    int permille = (int) Math.round(share(option, f[0]) * 1000);
    if (permille < 1) {
      throw new UsageException(option + ": at least 0.1% a second, got '" + f[0] + "'");
    }
    return new Churn(permille, f.length > 1 ? durationMillis(option, f[1]) : 2000);
  }

  /** 'N:AT[:SPREAD],...' as storms; N is a count of connections or a share (88%, 0.88). */
  static List<Storm> storms(String option, String value) {
    List<Storm> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String[] f = part.trim().split(":");
      if (f.length < 2 || f.length > 3) {
        throw new UsageException(option + " takes N:AT[:SPREAD][,...], e.g. 15000:30s:1s, got '" + value + "'");
      }
      String n = f[0].trim();
      int count = -1;
      int permille = 0;
      if (n.matches("[0-9]+")) {
        count = Integer.parseInt(n);
      } else {
        permille = (int) Math.max(1, Math.round(share(option, n) * 1000));
      }
      out.add(new Storm(count, permille, durationMillis(option, f[1]), f.length > 2 ? durationMillis(option, f[2]) : 1000));
    }
    return out;
  }

  /** 'PID@AT,...' as node events. */
  static List<NodeEvent> nodeEvents(String option, String value, NodeEvent.Kind kind) {
    List<NodeEvent> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String[] f = part.trim().split("@");
      if (f.length != 2) {
        throw new UsageException(option + " takes PID@AT[,...], e.g. 12345@20s, got '" + value + "'");
      }
      long pid;
      try {
        pid = Long.parseLong(f[0].trim());
      } catch (NumberFormatException e) {
        throw new UsageException(option + ": '" + f[0] + "' is not a process id");
      }
      if (pid <= 1) {
        throw new UsageException(option + ": '" + f[0] + "' is not a process id");
      }
      out.add(new NodeEvent(kind, pid, durationMillis(option, f[1])));
    }
    return out;
  }

  /** 'R:D,R:D,...' as phases. */
  static List<Phase> phases(String option, String value) {
    List<Phase> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String[] rd = part.trim().split(":");
      if (rd.length != 2) {
        throw new UsageException(option + " takes RATE:DURATION[,RATE:DURATION...], e.g. 2000:5s,20000:20s, got '" + value + "'");
      }
      double r;
      try {
        r = Double.parseDouble(rd[0].trim());
      } catch (NumberFormatException e) {
        throw new UsageException(option + ": '" + rd[0] + "' is not a rate");
      }
      if (r <= 0 || r > 10_000_000) {
        throw new UsageException(option + ": a phase's rate must be above 0 and at most 10000000, got " + rd[0]);
      }
      long d = durationMillis(option, rd[1]);
      if (d <= 0) {
        throw new UsageException(option + ": a phase's duration must be above 0, got '" + rd[1] + "'");
      }
      out.add(new Phase(r, d));
    }
    return out;
  }

  /** The phases to publish: those of --phases, or one at --rate for --warmup + --duration. */
  public List<Phase> publishPhases() {
    return phases.isEmpty() ? List.of(new Phase(rate, warmupMillis + durationMillis)) : phases;
  }

  /** 'D' as milliseconds: a bare number is seconds; units ms, s, m, h. */
  public static long durationMillis(String option, String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    long factor = 1000;
    String num = v;
    if (v.endsWith("ms")) {
      factor = 1;
      num = v.substring(0, v.length() - 2);
    } else if (v.endsWith("s")) {
      num = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      factor = 60_000;
      num = v.substring(0, v.length() - 1);
    } else if (v.endsWith("h")) {
      factor = 3_600_000;
      num = v.substring(0, v.length() - 1);
    }
    try {
      double d = Double.parseDouble(num);
      if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) {
        throw new NumberFormatException();
      }
      return Math.round(d * factor);
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a duration like 30, 20s, 5m or 500ms, got '" + value + "'");
    }
  }

  private static int intArg(String option, String value, int min) {
    try {
      int v = Integer.parseInt(value.trim());
      if (v < min) {
        throw new UsageException(option + " must be at least " + min + ", got " + v);
      }
      return v;
    } catch (NumberFormatException e) {
      throw new UsageException(option + " takes a whole number, got '" + value + "'");
    }
  }

  /** Bad command line; the message says why (null: just show the usage). */
  public static final class UsageException extends RuntimeException {
    public UsageException(String message) {
      super(message);
    }
  }
}
