package io.odin.ws.loadtest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks what every connection received against what was published:
 * <ul>
 *   <li><b>missing</b>: a message did not reach a connection it was for (every connection for a broadcast, the
 *       connections of its tokens for a targeted one) although that connection was open for the whole time the
 *       message was in flight: from {@code settle} before it was sent until {@code grace} after (with
 *       {@code --reconnect}, from its first open to its last close, less the gaps in which it was away and did not
 *       recover: {@link ConnectionRecord#gaps()});</li>
 *   <li><b>misrouted</b>: a connection received a targeted message for a token it does not have;</li>
 *   <li><b>duplicate</b>: a connection received the same message more than once;</li>
 *   <li><b>unknown</b>: a connection received a sequence number of this run that was never published.</li>
 * </ul>
 * Not a violation, but counted and listed: <b>redelivered</b>, a message that reached a connection again as another
 * gateway message (another {@code id}; known with {@code --reconnect}): the gateway took it in twice, which its Kafka
 * ingest's at-least-once allows after a crash or a rebalance (README, Kafka, "Delivery guarantee").
 * A message whose publish failed (HTTP error, Kafka send failure) may arrive or not: it is never missing, but it
 * still must not be misrouted or duplicated. Connections that never opened are skipped.
 * <p>Plain Java, no I/O: the load tool runs it over the receipts of all its processes after the drain.
 */
public final class RoutingVerifier {

  /** Examples kept per kind of violation; the counts are always complete. */
  public static final int MAX_EXAMPLES = 100;

  public enum Kind { MISSING, MISROUTED, DUPLICATE, UNKNOWN, REDELIVERED }

  private final MessageLog log;
  private final TokenPlan plan;
  private final long settleMicros;
  private final long graceMicros;

  /**
   * @param settleMicros a connection must have been open this long before a message was sent to be required to
   *                     get it (the gateway registers a socket just after answering its handshake)
   * @param graceMicros  and must have stayed open this long after (the drain time the tool waits)
   */
  public RoutingVerifier(MessageLog log, TokenPlan plan, long settleMicros, long graceMicros) {
    this.log = log;
    this.plan = plan;
    this.settleMicros = settleMicros;
    this.graceMicros = graceMicros;
  }

  public Result verify(Iterable<ConnectionRecord> connections) {
    int messages = log.size();
    // per message, in sequence order: broadcasts, and the targeted messages of each token
    IntList broadcasts = new IntList();
    Map<Integer, IntList> byToken = new java.util.HashMap<>();
    boolean[] failed = new boolean[messages];
    long[] sentAt = new long[messages];
    for (int seq = 0; seq < messages; seq++) {
      failed[seq] = log.status(seq) == MessageLog.Status.FAILED;
      sentAt[seq] = log.sentAtMicros(seq);
      if (log.isBroadcast(seq)) {
        broadcasts.add(seq);
      } else {
        for (int t : log.tokens(seq)) {
          byToken.computeIfAbsent(t, k -> new IntList()).add(seq);
        }
      }
    }
    int[] required = new int[messages];
    int[] missingPerMessage = new int[messages];
    Map<Integer, IntList> missingExamples = new LinkedHashMap<>();
    Map<Integer, ConnectionRecord> byId = new java.util.HashMap<>();
    Result r = new Result();
    for (ConnectionRecord c : connections) {
      if (!c.opened()) {
        continue;
      }
      byId.put(c.id(), c);
      r.connections++;
      // receipts sorted by sequence number, then by id (when ids were recorded)
      int[] received = c.received();
      boolean withIds = c.receivedIds().length == received.length && received.length > 0;
      long[] pairs = new long[received.length];
      for (int i = 0; i < received.length; i++) {
        pairs[i] = ((long) received[i] << 32) | (withIds ? c.receivedIds()[i] & 0xffffffffL : 0);
      }
      Arrays.sort(pairs);
      int[] got = new int[pairs.length];
      for (int i = 0; i < pairs.length; i++) {
        got[i] = (int) (pairs[i] >> 32);
      }
      r.deliveries += got.length;
      // what it received: duplicates, unknown, misrouted
      for (int i = 0; i < got.length; i++) {
        int seq = got[i];
        if (i > 0 && got[i - 1] == seq) {
          if (withIds && pairs[i - 1] != pairs[i]) {
            r.count(Kind.REDELIVERED, "message " + seq + " reached connection " + c.id() + " (token "
              + plan.name(c.token()) + ") again as another gateway message (another id)");
          } else {
            r.count(Kind.DUPLICATE, "message " + seq + " received again by connection " + c.id()
              + " (token " + plan.name(c.token()) + ")");
          }
          continue;
        }
        if (seq < 0 || seq >= messages) {
          r.count(Kind.UNKNOWN, "connection " + c.id() + " received message " + seq + ", which was never published");
          continue;
        }
        if (!log.isFor(seq, c.token())) {
          r.count(Kind.MISROUTED, "message " + seq + " for " + describeTargets(seq) + " reached connection " + c.id()
            + " of token " + plan.name(c.token()));
        }
      }
      // what it should have received
      long from = c.openedAtMicros() == Long.MIN_VALUE ? Long.MIN_VALUE : c.openedAtMicros() + settleMicros;
      long until = c.closedAtMicros() == Long.MAX_VALUE ? Long.MAX_VALUE : c.closedAtMicros() - graceMicros;
      checkRequired(broadcasts, c, got, from, until, failed, sentAt, required, missingPerMessage, missingExamples, r);
      IntList mine = byToken.get(c.token());
      if (mine != null) {
        checkRequired(mine, c, got, from, until, failed, sentAt, required, missingPerMessage, missingExamples, r);
      }
    }
    for (Map.Entry<Integer, IntList> e : missingExamples.entrySet()) {
      int seq = e.getKey();
      if (r.examples.get(Kind.MISSING).size() >= MAX_EXAMPLES) {
        break;
      }
      IntList ids = e.getValue();
      StringBuilder sb = new StringBuilder();
      sb.append("message ").append(seq).append(" (sent ").append(time(sentAt[seq])).append(") for ")
        .append(describeTargets(seq)).append(" missing at ").append(missingPerMessage[seq]).append(" of ")
        .append(required[seq]).append(" connections (not received by the end of the drain), e.g.");
      for (int i = 0; i < ids.size(); i++) {
        ConnectionRecord c = byId.get(ids.get(i));
        sb.append(" #").append(ids.get(i)).append(" (opened ").append(time(c.openedAtMicros()));
        for (int g = 0; g < c.gaps().length; g += 2) {
          sb.append(", away without recovery ").append(time(c.gaps()[g])).append(" to ").append(time(c.gaps()[g + 1]));
        }
        sb.append(')');
      }
      r.examples.get(Kind.MISSING).add(sb.toString());
    }
    for (int seq = 0; seq < messages; seq++) {
      if (missingPerMessage[seq] > 0) {
        r.messagesWithLoss++;
      }
      r.requiredDeliveries += required[seq];
    }
    r.messages = messages;
    return r;
  }

  private void checkRequired(IntList candidates, ConnectionRecord c, int[] gotSorted, long from, long until,
                             boolean[] failed, long[] sentAt, int[] required, int[] missingPerMessage,
                             Map<Integer, IntList> missingExamples, Result r) {
    for (int i = 0, n = candidates.size(); i < n; i++) {
      int seq = candidates.get(i);
      if (failed[seq] || sentAt[seq] < from || sentAt[seq] > until || c.inGap(sentAt[seq], graceMicros, settleMicros)) {
        continue;
      }
      required[seq]++;
      if (Arrays.binarySearch(gotSorted, seq) < 0) {
        missingPerMessage[seq]++;
        r.counts.merge(Kind.MISSING, 1L, Long::sum);
        IntList ids = missingExamples.get(seq);
        if (ids == null && missingExamples.size() < MAX_EXAMPLES) {
          ids = new IntList();
          missingExamples.put(seq, ids);
        }
        if (ids != null && ids.size() < 5) {
          ids.add(c.id());
        }
      }
    }
  }

  /** A time of the tool's clock (microseconds since the epoch) as the gateway's logs show it: HH:mm:ss.SSS, UTC. */
  static String time(long epochMicros) {
    if (epochMicros == Long.MAX_VALUE || epochMicros == Long.MIN_VALUE) {
      return "-";
    }
    return java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(java.time.ZoneOffset.UTC)
      .format(java.time.Instant.ofEpochSecond(epochMicros / 1_000_000, epochMicros % 1_000_000 * 1000));
  }

  private String describeTargets(int seq) {
    if (log.isBroadcast(seq)) {
      return "everybody";
    }
    int[] tokens = log.tokens(seq);
    if (tokens.length == 1) {
      return "token " + plan.name(tokens[0]);
    }
    StringBuilder sb = new StringBuilder("tokens");
    for (int t : tokens) {
      sb.append(' ').append(plan.name(t));
    }
    return sb.toString();
  }

  /** The outcome: complete counts per kind, and up to {@link #MAX_EXAMPLES} readable examples of each. */
  public static final class Result {
    final Map<Kind, Long> counts = new LinkedHashMap<>();
    final Map<Kind, List<String>> examples = new LinkedHashMap<>();
    long connections;
    long deliveries;
    long requiredDeliveries;
    long messagesWithLoss;
    int messages;

    Result() {
      for (Kind k : Kind.values()) {
        counts.put(k, 0L);
        examples.put(k, new ArrayList<>());
      }
    }

    void count(Kind kind, String example) {
      counts.merge(kind, 1L, Long::sum);
      List<String> list = examples.get(kind);
      if (list.size() < MAX_EXAMPLES) {
        list.add(example);
      }
    }

    public long count(Kind kind) {
      return counts.get(kind);
    }

    /** Every kind but {@link Kind#REDELIVERED}, which the gateway's at-least-once ingest allows. */
    public long violations() {
      long n = 0;
      for (Map.Entry<Kind, Long> e : counts.entrySet()) {
        if (e.getKey() != Kind.REDELIVERED) {
          n += e.getValue();
        }
      }
      return n;
    }

    public boolean ok() {
      return violations() == 0;
    }

    public List<String> examples(Kind kind) {
      return examples.get(kind);
    }

    /** Every example, kind by kind. */
    public List<String> allExamples() {
      List<String> all = new ArrayList<>();
      for (Map.Entry<Kind, List<String>> e : examples.entrySet()) {
        for (String s : e.getValue()) {
          all.add(e.getKey().name().toLowerCase(java.util.Locale.ROOT) + ": " + s);
        }
      }
      return all;
    }

    /** Connections that opened and were checked. */
    public long connections() {
      return connections;
    }

    /** Load-tool messages received over all checked connections, duplicates included. */
    public long deliveries() {
      return deliveries;
    }

    /** Deliveries the run had to make (connection open throughout, publish not failed). */
    public long requiredDeliveries() {
      return requiredDeliveries;
    }

    public long messagesWithLoss() {
      return messagesWithLoss;
    }

    public int messages() {
      return messages;
    }

    @Override
    public String toString() {
      return "verified " + messages + " messages over " + connections + " connections: " + deliveries
        + " deliveries (" + requiredDeliveries + " required); violations " + counts;
    }
  }
}
