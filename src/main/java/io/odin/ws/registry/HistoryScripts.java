package io.odin.ws.registry;

import io.odin.ws.history.Registered;
import io.odin.ws.history.StoredMessage;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.protocol.Envelope;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The history's Lua: stored positions and messages live next to the registry in the same Redis, and are written
 * in the same script calls, so storing a batch costs no round trip of its own (docs/registry.md, "History").
 * <ul>
 *   <li>{@link #DISPATCH}: stores a batch's messages, then resolves its tokens exactly as {@link RegistryScripts#LOOKUP}
 *       does, in one script: a message is stored before any lookup can route it, and a registration that a lookup
 *       sees comes after every message that lookup's batch stored.</li>
 *   <li>{@link RegistryScripts#APPLY}: the registry's writes, answering for each registered token where its stream
 *       and the broadcast stream stand, and keeping the history of held tokens alive (heartbeats pass through it).</li>
 *   <li>{@link #READ}: pages of streams for replays and gaps.</li>
 * </ul>
 * <b>Epochs.</b> A stream's position hash records the store identity it was created under: the Redis server's run
 * id (a new process after a restart or a failover) and the history generation (raised after messages went out
 * unstored). Whenever they differ from the current ones, or the position is missing (expired, evicted, restarted
 * empty), the stream starts again in a new epoch at sequence 0 and its old messages are dropped. A cursor of an
 * older epoch is never recovered from, so no recovery can claim messages the store no longer has.
 * <p>Epochs are below 10^12 so that Lua (doubles, printed with 14 digits) keeps them exact.
 */
final class HistoryScripts {

  /** Epoch seeds; each script call derives its new epochs as seed + n (n below 10^6). */
  static final long EPOCH_SEED_BOUND = 1_000_000_000_000L - 1_000_000L;

  /** The identity of the store (run id and generation) and the position of a stream, created when missing. */
  static final String FUNCTIONS = """
    local function identity(gen)
      local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
      return string.sub(run, 1, 16) .. ':' .. (redis.call('GET', gen) or '0')
    end
    local function ensure(stream, meta, ident, epoch, ttl)
      local m = redis.call('HMGET', meta, 'e', 's', 'i')
      if m[1] and m[3] == ident then return tonumber(m[1]), tonumber(m[2]) end
      redis.call('DEL', stream)
      redis.call('HSET', meta, 'e', epoch, 's', 0, 'i', ident)
      redis.call('PEXPIRE', meta, ttl)
      return epoch, 0
    end
    """;

  /**
   * Stores a batch, then looks its tokens up. KEYS: the live shards' markers (m), the token keys (n), the history
   * generation, then (history, position) per stream (k). ARGV: m, n, k, history.size, history.ttlMs, bump (1 raises
   * the generation first), epoch seed, the number of distinct frames F, the F frames, then per stored message
   * (stream index, frame index). Returns {complete, lookup answer as LOOKUP's, {{epoch per stream}, {sequence
   * number per stored message}, store identity, time stamp}}: a stored message's order key is the stamp and its
   * 7-digit place among the call's appends.
   */
  static final String DISPATCH = FUNCTIONS + """
    local m, n, k = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local size, ttl, seed = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
    local gen = KEYS[m + n + 1]
    if ARGV[6] == '1' then redis.call('INCR', gen) end
    local ident = identity(gen)
    local t = redis.call('TIME')
    local stamp = t[1] .. string.format('%06d', tonumber(t[2]))
    local epochs, seqs = {}, {}
    for j = 1, k do
      local at = m + n + 1 + (j - 1) * 2
      epochs[j], seqs[j] = ensure(KEYS[at + 1], KEYS[at + 2], ident, seed + j, ttl)
    end
    local frames = tonumber(ARGV[8])
    local stored = {}
    for i = 9 + frames, #ARGV, 2 do
      local j = tonumber(ARGV[i])
      local seq = seqs[j] + 1
      seqs[j] = seq
      stored[#stored + 1] = seq
      redis.call('XADD', KEYS[m + n + (j - 1) * 2 + 2], 'MAXLEN', size, seq .. '-0',
        'o', stamp .. string.format('%07d', #stored), 'f', ARGV[8 + tonumber(ARGV[i + 1])])
    end
    for j = 1, k do
      local at = m + n + 1 + (j - 1) * 2
      redis.call('HSET', KEYS[at + 2], 's', seqs[j])
      redis.call('PEXPIRE', KEYS[at + 1], ttl)
      redis.call('PEXPIRE', KEYS[at + 2], ttl)
    end
    local out = {epochs, stored, ident, stamp}
    local missing = {}
    for i = 1, m do
      if redis.call('EXISTS', KEYS[i]) == 0 then missing[#missing + 1] = i end
    end
    if #missing > 0 then return {0, missing, out} end
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local found = {}
    for i = m + 1, m + n do
      found[#found + 1] = redis.call('ZRANGEBYSCORE', KEYS[i], now, '+inf')
    end
    return {1, found, out}
    """;

  /**
   * Pages of streams. KEYS[1] = the generation, then (history, position) per read. ARGV[1] = history.ttlMs,
   * ARGV[2] = epoch seed, then (epoch, after, limit) per read. Returns {store identity, {{epoch, top, contiguous,
   * {seq, order, frame, ...}} per read}}.
   */
  static final String READ = FUNCTIONS + """
    local ttl, seed = tonumber(ARGV[1]), tonumber(ARGV[2])
    local ident = identity(KEYS[1])
    local out = {}
    for r = 1, (#KEYS - 1) / 2 do
      local stream, meta = KEYS[r * 2], KEYS[r * 2 + 1]
      local want, after, limit = tonumber(ARGV[r * 3]), tonumber(ARGV[r * 3 + 1]), tonumber(ARGV[r * 3 + 2])
      local e, s = ensure(stream, meta, ident, seed + r, ttl)
      local contiguous, msgs = 0, {}
      if e == want and after <= s then
        if after == s then
          contiguous = 1
        else
          local first = (after + 1) .. '-0'
          local got = redis.call('XRANGE', stream, first, '+', 'COUNT', math.max(limit, 1))
          if #got > 0 and got[1][1] == first then
            contiguous = 1
            for i = 1, math.min(limit, #got) do
              local f = got[i][2]
              msgs[#msgs + 1] = string.match(got[i][1], '^(%d+)')
              msgs[#msgs + 1] = f[2]
              msgs[#msgs + 1] = f[4]
            end
          end
        end
      end
      out[r] = {e, s, contiguous, msgs}
    end
    return {ident, out}
    """;

  static final String DISPATCH_SHA = RegistryScripts.sha1(DISPATCH);
  static final String READ_SHA = RegistryScripts.sha1(READ);

  private HistoryScripts() {
  }

  static List<String> scripts() {
    return List.of(DISPATCH, READ);
  }

  static long epochSeed() {
    return ThreadLocalRandom.current().nextLong(1, EPOCH_SEED_BOUND);
  }

  /** The streams of a batch and each message's appends, in batch order. */
  record Appends(List<String> streams, List<byte[]> frames, int[] streamOf, int[] frameOf) {
  }

  static Appends appends(List<Envelope> batch) {
    Map<String, Integer> streams = new LinkedHashMap<>();
    IdentityHashMap<byte[], Integer> frames = new IdentityHashMap<>();
    List<byte[]> frameList = new ArrayList<>();
    int count = 0;
    for (Envelope e : batch) {
      count += e.isBroadcast() ? 1 : e.tokens().length;
    }
    int[] streamOf = new int[count];
    int[] frameOf = new int[count];
    int a = 0;
    for (Envelope e : batch) {
      Integer f = frames.get(e.frame());
      if (f == null) {
        f = frameList.size();
        frames.put(e.frame(), f);
        frameList.add(e.frame());
      }
      if (e.isBroadcast()) {
        streamOf[a] = streams.computeIfAbsent(Streams.BROADCAST, s -> streams.size());
        frameOf[a++] = f;
      } else {
        for (String token : e.tokens()) {
          streamOf[a] = streams.computeIfAbsent(Streams.token(token), s -> streams.size());
          frameOf[a++] = f;
        }
      }
    }
    return new Appends(new ArrayList<>(streams.keySet()), frameList, streamOf, frameOf);
  }

  /**
   * The batch's script call: stores {@code appends}, then looks up {@code tokens} against the live shards' markers
   * (neither when {@code lookup} is false: only stores, for a registry that is not in sync).
   */
  static Request dispatch(RegistryKeys keys, List<String> liveShards, java.util.Collection<String> tokens,
                          Appends appends, int size, long ttlMillis, boolean bump) {
    List<String> streams = appends.streams();
    Request r = Request.cmd(Command.EVALSHA).arg(DISPATCH_SHA)
      .arg(liveShards.size() + tokens.size() + 1 + streams.size() * 2);
    for (String shard : liveShards) {
      r.arg(keys.marker(shard));
    }
    for (String token : tokens) {
      r.arg(keys.token(token));
    }
    r.arg(keys.historyGeneration());
    for (String stream : streams) {
      r.arg(keys.history(stream)).arg(keys.historyPosition(stream));
    }
    r.arg(liveShards.size()).arg(tokens.size()).arg(streams.size()).arg(size).arg(ttlMillis).arg(bump ? "1" : "0")
      .arg(epochSeed()).arg(appends.frames().size());
    for (byte[] frame : appends.frames()) {
      r.arg(frame);
    }
    for (int a = 0; a < appends.streamOf().length; a++) {
      r.arg(appends.streamOf()[a] + 1).arg(appends.frameOf()[a] + 1);
    }
    return r;
  }

  /** Sets every envelope's stored positions from the third part of a DISPATCH answer; returns the store identity. */
  static String stored(Response answer, List<Envelope> batch, Appends appends) {
    Response out = answer.get(2);
    Response epochs = out.get(0);
    Response seqs = out.get(1);
    String stamp = out.get(3).toString();
    int a = 0;
    for (Envelope e : batch) {
      int n = e.isBroadcast() ? 1 : e.tokens().length;
      long[] positions = new long[n * 2];
      String order = orderKey(stamp, a + 1);
      for (int i = 0; i < n; i++, a++) {
        positions[i * 2] = epochs.get(appends.streamOf()[a]).toLong();
        positions[i * 2 + 1] = seqs.get(a).toLong();
      }
      e.stored(positions, order);
    }
    return out.get(2).toString();
  }

  /** The order key DISPATCH gives its {@code append}-th (1-based) stored message. */
  static String orderKey(String stamp, int append) {
    String digits = Integer.toString(append);
    return stamp + "0".repeat(Math.max(0, 7 - digits.length())) + digits;
  }

  /** The READ call for {@code reads}. */
  static Request read(RegistryKeys keys, List<StreamRead> reads, long ttlMillis) {
    Request r = Request.cmd(Command.EVALSHA).arg(READ_SHA).arg(1 + reads.size() * 2).arg(keys.historyGeneration());
    for (StreamRead read : reads) {
      r.arg(keys.history(read.stream())).arg(keys.historyPosition(read.stream()));
    }
    r.arg(ttlMillis).arg(epochSeed());
    for (StreamRead read : reads) {
      r.arg(read.epoch()).arg(read.afterSeq()).arg(read.limit());
    }
    return r;
  }

  /** The pages of a READ answer, one per read, in order. */
  static List<StreamPage> pages(Response answer) {
    Response out = answer.get(1);
    List<StreamPage> pages = new ArrayList<>(out.size());
    for (Response page : out) {
      Response msgs = page.get(3);
      List<StoredMessage> messages = new ArrayList<>(msgs.size() / 3);
      for (int i = 0; i + 2 < msgs.size(); i += 3) {
        messages.add(new StoredMessage(Long.parseLong(msgs.get(i).toString()), msgs.get(i + 1).toString(),
          msgs.get(i + 2).toBytes()));
      }
      pages.add(new StreamPage(page.get(0).toLong(), page.get(1).toLong(), page.get(2).toInteger() == 1, messages));
    }
    return pages;
  }

  static String identity(Response readAnswer) {
    return readAnswer.get(0).toString();
  }

  /** The positions an APPLY answer gives for its "+" ops, in op order, and the broadcast stream's. */
  static List<Registered> registered(Response answer, int adds) {
    List<Registered> out = new ArrayList<>(adds);
    Response positions = answer.get(1);
    Response b = answer.get(2);
    StreamPosition broadcast = b.size() == 2 ? new StreamPosition(b.get(0).toLong(), b.get(1).toLong()) : StreamPosition.UNKNOWN;
    for (int i = 0; i + 1 < positions.size(); i += 2) {
      out.add(new Registered(new StreamPosition(positions.get(i).toLong(), positions.get(i + 1).toLong()), broadcast));
    }
    return out;
  }
}
