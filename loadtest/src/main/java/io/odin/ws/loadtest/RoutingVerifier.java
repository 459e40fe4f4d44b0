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
 *       connections of its tokens for a targeted one, its subscribers for a channel message) although that connection
 *       was entitled to it: open for the whole time the message was in flight (from {@code settle} before it was sent
 *       until {@code grace} after), or away but back with a cursor the gateway said it {@code recovered} from (then
 *       everything published while it was away is owed too: docs/protocol.md, "Reconnecting without loss");</li>
 *   <li><b>misrouted</b>: a connection received a targeted message for a token it does not have, or a channel
 *       message of a channel it is not subscribed to;</li>
 *   <li><b>duplicate</b>: a connection received the same message more than once (across its reconnects too);</li>
 *   <li><b>unknown</b>: a connection received a sequence number of this run that was never published;</li>
 *   <li><b>order</b> (publish API only, see {@link #checkOrder}): a connection received a message of one stream (its
 *       token's targeted messages, the broadcasts, or its channel's messages) before one that was dispatched earlier:
 *       before another of the same publish request that comes before it, or before one whose request was answered
 *       before its own was sent. Messages of requests in flight together have no order; the streams have none
 *       between them.</li>
 * </ul>
 * A message whose publish failed (HTTP error, Kafka send failure) may arrive or not: it is never missing, but it
 * still must not be misrouted or duplicated. Connections that never opened are skipped.
 * <p>What a connection could not get, and was told so or never asked for, is not a violation but counted as
 * <b>lost while away</b>: messages published while it was away and never received, because it came back without a
 * cursor ({@code noCursor}), with one the gateway could not recover from ({@code notRecovered}, {@code resumed} with
 * {@code recovered:false}), or did not come back ({@code notBack}).
 * <p>Not a violation either, but counted and listed: <b>redelivered</b>, a message that reached a connection again as
 * another gateway message (at another position of its stream, as its {@code id} says; known with
 * {@code --reconnect-with-cursor}): the gateway took it in and stored it twice, which its Kafka ingest's at-least-once
 * allows after a crash or a rebalance (README, Kafka, "Delivery guarantee"). At the same position (a replay
 * overlapping live delivery, say) it is a duplicate.
 * <p>Plain Java, no I/O: the load tool runs it over the receipts of all its processes after the drain.
 */
public final class RoutingVerifier {

  /** Examples kept per kind of violation; the counts are always complete. */
  public static final int MAX_EXAMPLES = 100;

  private static final java.time.format.DateTimeFormatter TIME =
    java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(java.time.ZoneOffset.UTC);

  public enum Kind { MISSING, MISROUTED, DUPLICATE, UNKNOWN, ORDER, REDELIVERED }

  /** Why messages published while a connection was away were not owed to it. */
  public enum Away { NO_CURSOR, NOT_RECOVERED, NOT_BACK }

  private final MessageLog log;
  private final TokenPlan plan;
  private final long settleMicros;
  private final long graceMicros;
  private boolean checkOrder;

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

  /**
   * Also checks each stream's order (violations of kind {@link Kind#ORDER}). Valid when a publish's answer comes
   * after its messages were dispatched (the publish API's 202); not for Kafka, whose acknowledgement says nothing
   * about when the gateway consumed a record, nor across its partitions.
   */
  public RoutingVerifier checkOrder(boolean check) {
    this.checkOrder = check;
    return this;
  }

  public Result verify(Iterable<ConnectionRecord> connections) {
    int messages = log.size();
    // per message, in sequence order: broadcasts, and the targeted messages of each token
    IntList broadcasts = new IntList();
    Map<Integer, IntList> byToken = new java.util.HashMap<>();
    Map<Integer, IntList> byChannel = new java.util.HashMap<>();
    boolean[] failed = new boolean[messages];
    long[] sentAt = new long[messages];
    for (int seq = 0; seq < messages; seq++) {
      failed[seq] = log.status(seq) == MessageLog.Status.FAILED;
      sentAt[seq] = log.sentAtMicros(seq);
      if (log.isBroadcast(seq)) {
        broadcasts.add(seq);
      } else if (log.channel(seq) >= 0) {
        byChannel.computeIfAbsent(log.channel(seq), k -> new IntList()).add(seq);
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
      // receipts sorted by sequence number, then by id hash (when ids were read)
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
              + plan.name(c.token()) + ") again as another gateway message (another position in its stream)");
          } else {
            r.count(Kind.DUPLICATE, "message " + seq + " received again by connection " + c.id()
              + " (token " + plan.name(c.token()) + ")" + (c.sessions().size() > 1 ? " after "
              + (c.sessions().size() - 1) + " reconnects" : ""));
          }
          continue;
        }
        if (seq < 0 || seq >= messages) {
          r.count(Kind.UNKNOWN, "connection " + c.id() + " received message " + seq + ", which was never published");
          continue;
        }
        if (!log.isFor(seq, c.token(), plan.channelOf(c.id()))) {
          r.count(Kind.MISROUTED, "message " + seq + " for " + describeTargets(seq) + " reached connection " + c.id()
            + " of token " + plan.name(c.token()));
        }
      }
      if (checkOrder) {
        checkOrder(c, messages, sentAt, r);
      }
      // what it should have received
      Windows w = windows(c);
      checkRequired(broadcasts, c, got, w, failed, sentAt, required, missingPerMessage, missingExamples, r);
      IntList mine = byToken.get(c.token());
      if (mine != null) {
        checkRequired(mine, c, got, w, failed, sentAt, required, missingPerMessage, missingExamples, r);
      }
      IntList channel = byChannel.get(plan.channelOf(c.id()));
      if (channel != null) {
        checkRequired(channel, c, got, w, failed, sentAt, required, missingPerMessage, missingExamples, r);
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
        sb.append(" #").append(ids.get(i));
        describeSessions(byId.get(ids.get(i)), sb);
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

  /**
   * When a connection was owed messages ({@code owed}: pairs of from, until, by send time) and when it was away
   * without being owed what was published ({@code away}: from, until, and the reason). A stretch of sessions is owed
   * without a break while each reconnect in it was {@code recovered}; a session whose {@code resumed} never came
   * neither breaks nor extends it (the next one decides).
   */
  record Windows(long[] owed, long[] away, Away[] reasons, boolean[] recovered) {

    /** The index of the owed window holding {@code t}, or -1. */
    int owedAt(long t) {
      for (int i = 0; i < owed.length; i += 2) {
        if (t >= owed[i] && t <= owed[i + 1]) {
          return i / 2;
        }
      }
      return -1;
    }

    /** The reason of the away window holding {@code t}, or null. */
    Away awayAt(long t) {
      for (int i = 0; i < away.length; i += 2) {
        if (t > away[i] && t < away[i + 1]) {
          return reasons[i / 2];
        }
      }
      return null;
    }
  }

  Windows windows(ConnectionRecord c) {
    List<ConnectionRecord.Session> sessions = c.sessions();
    List<Long> owed = new ArrayList<>(2);
    List<Long> away = new ArrayList<>(2);
    List<Away> reasons = new ArrayList<>();
    List<Boolean> recovered = new ArrayList<>();
    ConnectionRecord.Session first = sessions.get(0);
    long from = plus(first.openedAtMicros(), settleMicros);
    long until = untilOf(first);
    boolean viaRecovery = false;
    for (int i = 1; i < sessions.size(); i++) {
      ConnectionRecord.Session s = sessions.get(i);
      switch (s.resume()) {
        case RECOVERED -> {
          until = untilOf(s);
          viaRecovery = true;
        }
        case PENDING -> { }
        case NONE, NOT_RECOVERED -> {
          owed.add(from);
          owed.add(until);
          recovered.add(viaRecovery);
          long next = plus(s.openedAtMicros(), settleMicros);
          away.add(until);
          away.add(next);
          reasons.add(s.resume() == ConnectionRecord.Resume.NONE ? Away.NO_CURSOR : Away.NOT_RECOVERED);
          from = next;
          until = untilOf(s);
          viaRecovery = false;
        }
      }
    }
    owed.add(from);
    owed.add(until);
    recovered.add(viaRecovery);
    if (until != Long.MAX_VALUE) {
      away.add(until);
      away.add(Long.MAX_VALUE);
      reasons.add(Away.NOT_BACK);
    }
    boolean[] rec = new boolean[recovered.size()];
    for (int i = 0; i < rec.length; i++) {
      rec[i] = recovered.get(i);
    }
    return new Windows(owed.stream().mapToLong(Long::longValue).toArray(),
      away.stream().mapToLong(Long::longValue).toArray(), reasons.toArray(new Away[0]), rec);
  }

  private long untilOf(ConnectionRecord.Session s) {
    return s.closedAtMicros() == Long.MAX_VALUE ? Long.MAX_VALUE : s.closedAtMicros() - graceMicros;
  }

  private static long plus(long t, long d) {
    return t == Long.MAX_VALUE ? t : t + d;
  }

  private void checkRequired(IntList candidates, ConnectionRecord c, int[] gotSorted, Windows w,
                             boolean[] failed, long[] sentAt, int[] required, int[] missingPerMessage,
                             Map<Integer, IntList> missingExamples, Result r) {
    for (int i = 0, n = candidates.size(); i < n; i++) {
      int seq = candidates.get(i);
      if (failed[seq]) {
        continue;
      }
      int owed = w.owedAt(sentAt[seq]);
      if (owed < 0) {
        Away why = w.awayAt(sentAt[seq]);
        if (why != null && Arrays.binarySearch(gotSorted, seq) < 0) {
          r.lostWhileAway.merge(why, 1L, Long::sum);
        }
        continue;
      }
      required[seq]++;
      if (Arrays.binarySearch(gotSorted, seq) < 0) {
        missingPerMessage[seq]++;
        r.counts.merge(Kind.MISSING, 1L, Long::sum);
        if (w.recovered()[owed]) {
          r.missingAcrossRecovery++;
        }
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

  /**
   * Each stream's messages in the order they were dispatched, as far as the tool knows that order: a request's
   * messages in the order it carries them, and a request answered before another was sent before it.
   */
  private void checkOrder(ConnectionRecord c, int messages, long[] sentAt, Result r) {
    // streams: 0 the token's targeted messages, 1 the broadcasts, 2 its channel's messages
    long[] latestSent = {Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE};
    int[] latestSentSeq = {-1, -1, -1};
    Map<Integer, Integer> lastOfRequest = new java.util.HashMap<>();
    java.util.BitSet seen = new java.util.BitSet();
    for (int seq : c.received()) {
      if (seq < 0 || seq >= messages || seen.get(seq)) {
        continue;
      }
      seen.set(seq);
      int stream = log.isBroadcast(seq) ? 1 : log.channel(seq) >= 0 ? 2 : 0;
      long acked = log.ackedAtMicros(seq);
      if (acked < latestSent[stream]) {
        r.count(Kind.ORDER, "connection " + c.id() + " received " + STREAM_NAMES[stream] + seq
          + " (its publish answered at " + acked + " µs) after " + latestSentSeq[stream] + ", which was sent only at "
          + latestSent[stream] + " µs");
      }
      int request = log.request(seq);
      Integer before = lastOfRequest.get(request * 3 + stream);
      if (before != null && before > seq) {
        r.count(Kind.ORDER, "connection " + c.id() + " received " + STREAM_NAMES[stream] + seq
          + " after " + before + ", which its publish request carried after it");
      }
      lastOfRequest.merge(request * 3 + stream, seq, Math::max);
      if (sentAt[seq] > latestSent[stream]) {
        latestSent[stream] = sentAt[seq];
        latestSentSeq[stream] = seq;
      }
    }
  }

  private static final String[] STREAM_NAMES = {"message ", "broadcast ", "channel message "};

  /** A connection's sessions, for an example: when it opened, and each time it came back and how. */
  private static void describeSessions(ConnectionRecord c, StringBuilder sb) {
    List<ConnectionRecord.Session> sessions = c.sessions();
    sb.append(" (opened ").append(time(c.openedAtMicros()));
    for (int i = 1; i < sessions.size(); i++) {
      ConnectionRecord.Session before = sessions.get(i - 1);
      ConnectionRecord.Session s = sessions.get(i);
      sb.append(", closed ").append(before.closeCode()).append(' ').append(time(before.closedAtMicros()))
        .append(" back ").append(time(s.openedAtMicros())).append(' ')
        .append(s.resume().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
    }
    ConnectionRecord.Session last = sessions.get(sessions.size() - 1);
    if (!last.open()) {
      sb.append(", closed ").append(last.closeCode()).append(' ').append(time(last.closedAtMicros()));
    }
    sb.append(')');
  }

  /** A time of the tool's clock (microseconds since the epoch) as the gateway's logs show it: HH:mm:ss.SSS, UTC. */
  static String time(long epochMicros) {
    if (epochMicros == Long.MAX_VALUE || epochMicros == Long.MIN_VALUE) {
      return "-";
    }
    return TIME.format(java.time.Instant.ofEpochSecond(epochMicros / 1_000_000, epochMicros % 1_000_000 * 1000));
  }

  private String describeTargets(int seq) {
    if (log.isBroadcast(seq)) {
      return "everybody";
    }
    if (log.channel(seq) >= 0) {
      return "channel " + plan.channelName(log.channel(seq));
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
    long missingAcrossRecovery;
    final Map<Away, Long> lostWhileAway = new java.util.EnumMap<>(Away.class);
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

    /**
     * Missing deliveries owed only because a reconnect was answered {@code recovered:true}: published while the
     * connection was away, never received (a recovery over a hole). Part of {@link Kind#MISSING}.
     */
    public long missingAcrossRecovery() {
      return missingAcrossRecovery;
    }

    /** Messages published for a connection while it was away, not owed to it, and never received, by reason. */
    public long lostWhileAway(Away why) {
      return lostWhileAway.getOrDefault(why, 0L);
    }

    public long lostWhileAway() {
      long n = 0;
      for (long v : lostWhileAway.values()) {
        n += v;
      }
      return n;
    }

    public int messages() {
      return messages;
    }

    @Override
    public String toString() {
      return "verified " + messages + " messages over " + connections + " connections: " + deliveries
        + " deliveries (" + requiredDeliveries + " required); violations " + counts + "; lost while away "
        + lostWhileAway;
    }
  }
}
