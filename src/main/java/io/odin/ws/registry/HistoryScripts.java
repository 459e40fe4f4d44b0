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
 * id (a new process after a restart or a failover) and the history generation of the stream's slot (raised after a
 * message of a stream in that slot went out unstored: {@link PendingRaises}). Whenever they differ from the current ones, or the position is missing (expired, evicted, restarted
 * empty), the stream starts again in a new epoch at sequence 0 and its old messages are dropped. A cursor of an
 * older epoch is never recovered from, so no recovery can claim messages the store no longer has.
 * <p>Epochs are below 10^12 so that Lua (doubles, printed with 14 digits) keeps them exact.
 */
final class HistoryScripts {

  /** Epoch seeds; each script call derives its new epochs as seed + n (n below 10^6). */
  static final long EPOCH_SEED_BOUND = 1_000_000_000_000L - 1_000_000L;

  /** The first line of every registry script: it may reach keys of any slot its master serves (cluster layout). */
  static final String SHEBANG = "#!lua flags=allow-cross-slot-keys\n";

  /**
   * The prologue of every registry script. {@code K} and {@code A} are the keys and arguments, from KEYS and ARGV, or
   * (cluster layout, {@link ScriptCall}) both from ARGV. {@code reach(key)}: the key is on this master (always on a
   * standalone Redis; on a cluster master false for a slot that moved away, or a missing key of a slot being migrated,
   * without touching anything); {@code try(...)}: a command whose error for such a key answers (nil, true) instead of
   * ending the script: a read that is the item's own probe. A key that reads here can be written here in the same
   * script (the slot cannot move meanwhile). {@code identity(gen)}: the store identity a stream's epoch belongs to,
   * this Redis process's run id (a new one after a restart or a failover) and the stream's history generation (nil:
   * not here). {@code marked(key)}: a shard's marker is there (cluster: and was written on this very process).
   * {@code prefetch(gens)}: reads generations for {@code identity} in one MGET (standalone: a call per key costs more
   * than the key). {@code time()}, {@code now()}: Redis's clock, read once per call.
   * {@code ensure}: the position of a stream (epoch, sequence, the Kafka mark asked for, its expiry deadline), created
   * in a new epoch when missing or of another identity; nil when the position or generation is not here (the caller
   * checked the stream itself with {@code reach}). <b>Expiry:</b> a stream and its position expire together at the
   * deadline the position keeps in field {@code x}; {@code deadline(x, ttl)} is nil while x is at least
   * {@code history.ttlMs} away, else a new one a quarter of it further ({@code now + 1.25 ttl}), so that a stream lives
   * at least {@code history.ttlMs} after its last write and most calls leave its expiry alone; {@code keep} applies it.
   * <b>Not persisted, not replicated:</b> every history write runs between {@code unreplicated()} and
   * {@code replicated()}, so it reaches neither the AOF nor replicas. No epoch outlives the Redis process that made it
   * (identity = run id), so a restarted or promoted Redis starts every stream again whatever it loaded; streams copied
   * there would be dead weight, and their churn would drive AOF rewrites (a fork and a rewrite of the data set every few
   * seconds at 20,000 messages/s: docs/benchmarks.md). The registry's writes stay replicated and persisted.
   */
  static final String FUNCTIONS = """
    local K, A, cluster = KEYS, ARGV, false
    if ARGV[1] == '~c' then
      cluster = true
      K, A = {}, {}
      local nk = tonumber(ARGV[2])
      for i = 1, nk do K[i] = ARGV[2 + i] end
      for i = 3 + nk, #ARGV do A[#A + 1] = ARGV[i] end
    end
    local run
    local function runid()
      if not run then run = string.sub(string.match(redis.call('INFO', 'server'), 'run_id:(%x+)'), 1, 16) end
      return run
    end
    local function try(...)
      if not cluster then return redis.call(...) end
      local r = redis.pcall(...)
      if type(r) == 'table' and r.err then return nil, true end
      return r
    end
    local function reach(key)
      return not cluster or type(redis.pcall('EXISTS', key)) == 'number'
    end
    local gens = {}
    local function identity(gen)
      local g = gens[gen]
      if not g then
        local v, away = try('GET', gen)
        if away then return nil end
        g = v or '0'
        gens[gen] = g
      end
      return runid() .. ':' .. g
    end
    local function marked(key)
      if not cluster then return redis.call('EXISTS', key) == 1 end
      local v = redis.pcall('GET', key)
      return type(v) == 'string' and string.sub(v, -16) == runid()
    end
    local function prefetch(keys)
      if cluster then return end
      local want = {}
      for _, gen in ipairs(keys) do
        if not gens[gen] then
          gens[gen] = true
          want[#want + 1] = gen
        end
      end
      for from = 1, #want, 1000 do
        local part = {unpack(want, from, math.min(from + 999, #want))}
        local v = redis.call('MGET', unpack(part))
        for i, gen in ipairs(part) do gens[gen] = v[i] or '0' end
      end
    end
    local clock
    local function time()
      if not clock then clock = redis.call('TIME') end
      return clock
    end
    local function now()
      local t = time()
      return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
    local function deadline(x, ttl)
      x = tonumber(x)
      if x and x - now() >= ttl then return nil end
      return now() + ttl + math.floor(ttl / 4)
    end
    local function unreplicated()
      redis.set_repl(redis.REPL_NONE)
    end
    local function replicated()
      redis.set_repl(redis.REPL_ALL)
    end
    local function keep(stream, meta, x, ttl)
      local at = deadline(x, ttl)
      if not at then return end
      unreplicated()
      redis.call('PEXPIREAT', stream, at)
      if redis.call('PEXPIREAT', meta, at) == 1 then redis.call('HSET', meta, 'x', at) end
      replicated()
    end
    local function ensure(stream, meta, gen, epoch, ttl, field)
      local m, away
      if field then m, away = try('HMGET', meta, 'e', 's', 'i', 'x', field) else m, away = try('HMGET', meta, 'e', 's', 'i', 'x') end
      if away then return nil end
      local ident = identity(gen)
      if not ident then return nil end
      if m[1] and m[3] == ident then return tonumber(m[1]), tonumber(m[2]), m[5], m[4] end
      local at = deadline(nil, ttl)
      unreplicated()
      redis.call('DEL', stream)
      redis.call('HSET', meta, 'e', epoch, 's', 0, 'i', ident, 'x', at)
      redis.call('PEXPIREAT', meta, at)
      replicated()
      return epoch, 0, m[5], at
    end
    """;

  /**
   * Stores a batch, then looks its tokens up. K: the live shards' markers (m), the token keys (n), (history, position,
   * generation) per stream (k), then generations to raise first (r). A: m, n, k, r, history.size, history.ttlMs, epoch
   * seed, the order stamp ("": this Redis's clock), the number of distinct frames F, the F frames, then per stored
   * message (stream index, frame index, order index in 7 digits, source). A source "topic/partition@offset" (a Kafka record) is
   * stored once per stream: the stream's position hash keeps the highest offset stored per partition (field
   * "k" + topic/partition; a partition's records reach a stream in offset order, from whichever node consumes it), and a
   * record at or below it was stored before (read again after a rebalance or a crash): sequence number -1, not
   * stored again. Returns {complete, lookup answer as LOOKUP's, {{epoch per
   * stream}, {sequence number per stored message}, store identity (the run id), stamp}, {streams not on this master}, {tokens not on
   * this master}, {generations not on this master, not raised}}: a stored message's order key is the stamp and its
   * 7-digit order index; a stream not on this master has epoch 0 and its messages sequence number 0 (not stored).
   */
  static final String DISPATCH = SHEBANG + FUNCTIONS + """
    local m, n, k, r = tonumber(A[1]), tonumber(A[2]), tonumber(A[3]), tonumber(A[4])
    local ttl, seed = tonumber(A[6]), tonumber(A[7])
    local unraised = {}
    for i = 1, r do
      local g = K[m + n + k * 3 + i]
      if reach(g) then redis.call('INCR', g) else unraised[#unraised + 1] = i end
    end
    local t = time()
    local stamp = A[8]
    if stamp == '' then stamp = t[1] .. string.format('%06d', tonumber(t[2])) end
    local frames = tonumber(A[9])
    -- the partition of each stream's first Kafka record: its mark is read with the stream's position
    local first = {}
    for i = 10 + frames, #A, 4 do
      local j = tonumber(A[i])
      if not first[j] and A[i + 3] ~= '' then first[j] = string.match(A[i + 3], '^(.*)@') end
    end
    local epochs, seqs, moved, marks, expiry, made = {}, {}, {}, {}, {}, {}
    if k > 0 then
      local g = {}
      for j = 1, k do g[j] = K[m + n + j * 3] end
      prefetch(g)
    end
    for j = 1, k do
      local at = m + n + (j - 1) * 3
      local e, s, mark
      if reach(K[at + 1]) then e, s, mark, expiry[j] = ensure(K[at + 1], K[at + 2], K[at + 3], seed + j, ttl, first[j] and ('k' .. first[j])) end
      if first[j] then marks[j] = {[first[j]] = tonumber(mark) or -1} end
      if e then
        epochs[j], seqs[j] = e, s
      else
        epochs[j], seqs[j] = 0, 0
        moved[#moved + 1] = j
      end
    end
    local stored = {}
    unreplicated()
    for i = 10 + frames, #A, 4 do
      local j = tonumber(A[i])
      local again = false
      if epochs[j] ~= 0 and A[i + 3] ~= '' then
        local from, offset = string.match(A[i + 3], '^(.*)@(%d+)$')
        offset = tonumber(offset)
        local mj = marks[j]
        if not mj then mj = {} marks[j] = mj end
        local mark = mj[from]
        if not mark then mark = tonumber(redis.call('HGET', K[m + n + (j - 1) * 3 + 2], 'k' .. from)) or -1 end
        if offset <= mark then again = true else mark = offset end
        mj[from] = mark
      end
      if again then
        stored[#stored + 1] = -1
      elseif epochs[j] ~= 0 then
        local seq = seqs[j] + 1
        seqs[j] = seq
        stored[#stored + 1] = seq
        -- arguments as the strings they came as where possible: a Lua number passed to Redis is printed again
        local stream, id, order, frame = K[m + n + (j - 1) * 3 + 1], seq .. '-0', stamp .. A[i + 2], A[9 + tonumber(A[i + 1])]
        if made[j] == nil then
          -- the stream's first append in this call may not create it: a key made here gets its expiry below
          made[j] = not redis.call('XADD', stream, 'NOMKSTREAM', 'MAXLEN', A[5], id, 'o', order, 'f', frame)
          if made[j] then redis.call('XADD', stream, 'MAXLEN', A[5], id, 'o', order, 'f', frame) end
        else
          redis.call('XADD', stream, 'MAXLEN', A[5], id, 'o', order, 'f', frame)
        end
      else
        stored[#stored + 1] = 0
      end
    end
    for j = 1, k do
      if epochs[j] ~= 0 then
        local at = m + n + (j - 1) * 3
        local fields = {'s', seqs[j]}
        for from, mark in pairs(marks[j] or {}) do
          fields[#fields + 1] = 'k' .. from
          fields[#fields + 1] = mark
        end
        -- both keys expire together, a quarter of history.ttlMs past the least they must live, so that most calls
        -- leave the expiry alone; a stream made here has none yet
        local ends = deadline(expiry[j], ttl)
        if made[j] and not ends then ends = tonumber(expiry[j]) end
        if ends then
          fields[#fields + 1] = 'x'
          fields[#fields + 1] = ends
          redis.call('PEXPIREAT', K[at + 1], ends)
          redis.call('PEXPIREAT', K[at + 2], ends)
        end
        redis.call('HSET', K[at + 2], unpack(fields))
      end
    end
    replicated()
    local out = {epochs, stored, runid(), stamp}
    local missing = {}
    for i = 1, m do
      if not marked(K[i]) then missing[#missing + 1] = i end
    end
    if #missing > 0 then return {0, missing, out, moved, {}, unraised} end
    local found, away = {}, {}
    local since = string.format('%d', now())
    for i = m + 1, m + n do
      local shards, gone = try('ZRANGEBYSCORE', K[i], since, '+inf')
      if gone then
        found[#found + 1] = {}
        away[#away + 1] = i - m
      else
        found[#found + 1] = shards
      end
    end
    return {1, found, out, moved, away, unraised}
    """;

  /**
   * Pages of streams. K: (history, position, generation) per read. A: history.ttlMs, epoch seed, then (epoch, after,
   * limit) per read. Returns {store identity (the run id), {{epoch, top, contiguous, {seq, order, frame, ...}} per read}, {reads of
   * streams not on this master}}.
   */
  static final String READ = SHEBANG + FUNCTIONS + """
    local ttl, seed = tonumber(A[1]), tonumber(A[2])
    local out, moved = {}, {}
    for r = 1, #K / 3 do
      local stream, meta, gen = K[r * 3 - 2], K[r * 3 - 1], K[r * 3]
      local want, after, limit = tonumber(A[r * 3]), tonumber(A[r * 3 + 1]), tonumber(A[r * 3 + 2])
      local e, s
      if reach(stream) then e, s = ensure(stream, meta, gen, seed + r, ttl) end
      if e then
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
      else
        out[r] = {0, 0, 0, {}}
        moved[#moved + 1] = r
      end
    end
    return {runid(), out, moved}
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

  /**
   * The streams of a batch and each message's appends, in batch order: append {@code a} puts frame
   * {@code frameOf[a]} on stream {@code streamOf[a]} with order index {@code orderOf[a]} (its 1-based place in the
   * whole batch). A part of a batch (one cluster master's streams) keeps the batch's order indices and says where its
   * streams and appends are in the batch ({@code batchStream}, {@code batchAppend}; null for a whole batch).
   */
  record Appends(List<String> streams, List<byte[]> frames, int[] streamOf, int[] frameOf, int[] orderOf,
                 String[] sourceOf, int[] batchStream, int[] batchAppend) {

    /** Nothing to store: a call that only raises generations. */
    static final Appends NONE = new Appends(List.of(), List.of(), new int[0], new int[0], new int[0], new String[0],
      new int[0], new int[0]);

    int count() {
      return streamOf.length;
    }

    /** The appends to the streams {@code inPart} selects (by stream index), as their own call would carry them. */
    Appends part(boolean[] inPart) {
      int[] streamIndex = new int[streams.size()];
      List<String> partStreams = new ArrayList<>();
      List<Integer> batchStreams = new ArrayList<>();
      for (int j = 0; j < streams.size(); j++) {
        if (inPart[j]) {
          streamIndex[j] = partStreams.size();
          partStreams.add(streams.get(j));
          batchStreams.add(j);
        }
      }
      int n = 0;
      for (int s : streamOf) {
        if (inPart[s]) {
          n++;
        }
      }
      int[] so = new int[n];
      int[] fo = new int[n];
      int[] oo = new int[n];
      int[] ba = new int[n];
      String[] src = new String[n];
      IdentityHashMap<byte[], Integer> frameIndex = new IdentityHashMap<>();
      List<byte[]> partFrames = new ArrayList<>();
      int p = 0;
      for (int a = 0; a < streamOf.length; a++) {
        if (inPart[streamOf[a]]) {
          byte[] frame = frames.get(frameOf[a]);
          Integer f = frameIndex.get(frame);
          if (f == null) {
            f = partFrames.size();
            frameIndex.put(frame, f);
            partFrames.add(frame);
          }
          so[p] = streamIndex[streamOf[a]];
          fo[p] = f;
          oo[p] = orderOf[a];
          src[p] = sourceOf[a];
          ba[p++] = a;
        }
      }
      return new Appends(partStreams, partFrames, so, fo, oo, src,
        batchStreams.stream().mapToInt(Integer::intValue).toArray(), ba);
    }
  }

  static Appends appends(List<Envelope> batch) {
    Map<String, Integer> streams = new LinkedHashMap<>();
    IdentityHashMap<byte[], Integer> frames = new IdentityHashMap<>();
    List<byte[]> frameList = new ArrayList<>();
    List<String[]> streamsOf = new ArrayList<>(batch.size());
    int count = 0;
    for (Envelope e : batch) {
      String[] of = Streams.of(e);
      streamsOf.add(of);
      count += of.length;
    }
    int[] streamOf = new int[count];
    int[] frameOf = new int[count];
    int[] orderOf = new int[count];
    String[] sourceOf = new String[count];
    int a = 0;
    for (int i = 0; i < batch.size(); i++) {
      Envelope e = batch.get(i);
      String source = e.source() == null ? "" : e.source() + "@" + e.offset();
      Integer f = frames.get(e.frame());
      if (f == null) {
        f = frameList.size();
        frames.put(e.frame(), f);
        frameList.add(e.frame());
      }
      for (String stream : streamsOf.get(i)) {
        streamOf[a] = streams.computeIfAbsent(stream, s -> streams.size());
        orderOf[a] = a + 1;
        sourceOf[a] = source;
        frameOf[a++] = f;
      }
    }
    return new Appends(new ArrayList<>(streams.keySet()), frameList, streamOf, frameOf, orderOf, sourceOf, null, null);
  }

  /**
   * The batch's script call: stores {@code appends} (raising {@code raises}, generation keys, first), then looks up
   * {@code tokens} against the live shards' markers (neither when {@code lookup} is false: only stores, for a registry
   * that is not in sync).
   *
   * @param stamp the order stamp of the batch, or "" for this Redis's clock
   */
  static Request dispatch(RegistryKeys keys, List<String> liveShards, java.util.Collection<String> tokens,
                          Appends appends, int size, long ttlMillis, List<String> raises, String stamp) {
    List<String> streams = appends.streams();
    ScriptCall c = new ScriptCall(Command.EVALSHA, DISPATCH_SHA);
    for (String shard : liveShards) {
      c.key(keys.marker(shard));
    }
    for (String token : tokens) {
      c.key(keys.token(token));
    }
    for (String stream : streams) {
      c.key(keys.history(stream)).key(keys.historyPosition(stream)).key(keys.historyGeneration(stream));
    }
    for (String gen : raises) {
      c.key(gen);
    }
    c.arg(liveShards.size()).arg(tokens.size()).arg(streams.size()).arg(raises.size()).arg(size).arg(ttlMillis)
      .arg(epochSeed()).arg(stamp).arg(appends.frames().size());
    for (byte[] frame : appends.frames()) {
      c.arg(frame);
    }
    for (int a = 0; a < appends.count(); a++) {
      c.arg(appends.streamOf()[a] + 1).arg(appends.frameOf()[a] + 1).arg(orderDigits(appends.orderOf()[a]))
        .arg(appends.sourceOf()[a]);
    }
    return c.request(keys.cluster());
  }

  /**
   * What a DISPATCH call stored: the epoch of each stream (0: not on this master, nothing stored), the sequence number
   * of each append (0: not stored), the store identity and the order stamp, the streams not on this master and the
   * generations it did not raise because they are not on this master (0-based).
   */
  record Stored(long[] epochs, long[] seqs, String identity, String stamp, int[] movedStreams, int[] unraised) {
  }

  static Stored stored(Response answer) {
    Response out = answer.get(2);
    Response epochs = out.get(0);
    Response seqs = out.get(1);
    long[] e = new long[epochs.size()];
    for (int j = 0; j < e.length; j++) {
      e[j] = epochs.get(j).toLong();
    }
    long[] s = new long[seqs.size()];
    for (int a = 0; a < s.length; a++) {
      s[a] = seqs.get(a).toLong();
    }
    return new Stored(e, s, out.get(2).toString(), out.get(3).toString(), oneBased(answer.size() > 3 ? answer.get(3) : null),
      oneBased(answer.size() > 5 ? answer.get(5) : null));
  }

  /** 1-based indices of a script answer, 0-based. */
  static int[] oneBased(Response list) {
    if (list == null) {
      return new int[0];
    }
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i).toInteger() - 1;
    }
    return out;
  }

  /**
   * Sets every envelope's stored positions (epoch and sequence number per stream of the batch's appends, where
   * {@code epochs} is per stream and {@code seqs} per append; a sequence number of 0 is an append that was not stored,
   * its position stays 0:0). An envelope none of whose appends was stored keeps none.
   */
  static void setPositions(List<Envelope> batch, Appends appends, long[] epochs, long[] seqs, String stamp) {
    int a = 0;
    for (Envelope e : batch) {
      int n = e.isBroadcast() || e.isChannelMessage() ? 1 : e.tokens().length;
      long[] positions = new long[n * 2];
      String order = orderKey(stamp, appends.orderOf()[a]);
      boolean any = false;
      for (int i = 0; i < n; i++, a++) {
        if (seqs[a] != 0) {
          // -1: the stream had this Kafka record already (Envelope.STORED_BEFORE)
          positions[i * 2] = epochs[appends.streamOf()[a]];
          positions[i * 2 + 1] = seqs[a];
          any = true;
        }
      }
      if (any) {
        e.stored(positions, order);
      }
    }
  }

  /** The order key DISPATCH gives a stored message of order index {@code index} (1-based). */
  static String orderKey(String stamp, int index) {
    return stamp + orderDigits(index);
  }

  /** An order index as the 7 digits of its order key. */
  static String orderDigits(int index) {
    String digits = Integer.toString(index);
    return digits.length() >= 7 ? digits : "0".repeat(7 - digits.length()) + digits;
  }

  /** The READ call for {@code reads}. */
  static Request read(RegistryKeys keys, List<StreamRead> reads, long ttlMillis) {
    ScriptCall c = new ScriptCall(Command.EVALSHA, READ_SHA);
    for (StreamRead read : reads) {
      c.key(keys.history(read.stream())).key(keys.historyPosition(read.stream()))
        .key(keys.historyGeneration(read.stream()));
    }
    c.arg(ttlMillis).arg(epochSeed());
    for (StreamRead read : reads) {
      c.arg(read.epoch()).arg(read.afterSeq()).arg(read.limit());
    }
    return c.request(keys.cluster());
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

  /** The reads of a READ answer whose streams are not on this master (0-based). */
  static int[] movedReads(Response answer) {
    return oneBased(answer.size() > 2 ? answer.get(2) : null);
  }

  static String identity(Response readAnswer) {
    return readAnswer.get(0).toString();
  }

  /**
   * The positions an APPLY answer gives for its "+" ops, in op order (UNKNOWN for an op whose keys were not on this
   * master), and the broadcast stream's (UNKNOWN when the broadcast stream is not on this master).
   */
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

  /** The ops of an APPLY answer whose keys were not on this master (0-based). */
  static int[] movedOps(Response applyAnswer) {
    return oneBased(applyAnswer.size() > 3 ? applyAnswer.get(3) : null);
  }
}
