package io.odin.ws.registry;

import io.odin.ws.history.Streams;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The registry's Lua scripts and the Redis requests that run them. Every write and every lookup is one script
 * call, so a lookup is one round trip whatever the number of tokens (a flush one per 4 calls), and a lookup shows up
 * in {@code INFO commandstats} as exactly one {@code evalsha_ro} call. Deadlines come from the Redis clock
 * ({@code TIME}), so the nodes' clocks do not matter. Requires Redis 7 ({@code EVALSHA_RO}, script flags). Scripts touch
 * keys they derive from tokens: on a Redis Cluster each call goes to one master with its keys in ARGV
 * ({@link ScriptCall}), and the script skips (and names) the keys that are not on that master. The history's scripts
 * ({@link HistoryScripts}) share this Redis and these calls.
 */
final class RegistryScripts {

  /**
   * The keys of an index member (after {@link HistoryScripts#FUNCTIONS}): {@code entry(member, token prefix, token
   * suffix, channel prefix, counts prefix)} answers its entry's key and, for a channel's interest ({@code #<channel>}),
   * the key of the channel's subscriber counts (nil for a token): see {@link RegistryKeys#token}.
   */
  static final String CHANNEL_KEYS = """
    local function entry(member, prefix, suffix, cprefix, pprefix)
      if string.byte(member, 1) ~= 35 then return prefix .. member .. suffix end
      local channel = string.sub(member, 2)
      return cprefix .. channel .. suffix, pprefix .. channel .. '}'
    end
    """;

  /**
   * Writes entries of one shard, with the history's part (docs/registry.md, "History"). K[1] = the token index to
   * update ("" for none), K[2..n+1] = token keys; with history also the broadcast stream's (history, position,
   * generation), then (history, position, generation) per token. A[1] = shard address, A[2] = TTL ms, A[3] =
   * history.ttlMs (0: no history), A[4] = epoch seed, A[5..] = one op per token: "+token" or "-token".
   * With history, a held token's stream is kept alive (at least {@code history.ttlMs} from now: heartbeats pass here)
   * and its position answered; a released one lives at least {@code history.ttlMs} from its release. Returns
   * {n, {epoch, seq per "+" op}, {broadcast epoch, seq}, {ops not on this master}}: where the streams stood once the
   * entries were visible (0, 0 for an op not on this master; no broadcast position when its stream is elsewhere).
   */
  static final String APPLY = HistoryScripts.SHEBANG + HistoryScripts.FUNCTIONS + """
    local ms = now()
    local shard, ttl, index = A[1], tonumber(A[2]), K[1]
    local httl, seed = tonumber(A[3]), tonumber(A[4])
    local n = #A - 4
    local indexed = index ~= '' and reach(index)
    local positions, moved = {}, {}
    if httl > 0 then
      local g = {K[n + 4]}
      for i = 1, n do g[#g + 1] = K[n + 4 + i * 3] end
      prefetch(g)
    end
    for i = 1, n do
      local op, key = A[i + 4], K[i + 1]
      local at = n + 4 + (i - 1) * 3
      local hs, hm, hg = K[at + 1], K[at + 2], K[at + 3]
      local add = string.byte(op, 1) == 43
      -- the token's keys are all here (the stream's position read first: nothing is written before), or none is used
      local here = reach(key) and (httl == 0 or reach(hs))
      local e, s, x, away, _
      if here and add and httl > 0 then
        e, s, _, x = ensure(hs, hm, hg, seed + i, httl)
        here = e ~= nil
      elseif here and httl > 0 then
        x, away = try('HGET', hm, 'x')
        here = not away
      end
      if not here then
        moved[#moved + 1] = i
        if add and httl > 0 then
          positions[#positions + 1] = 0
          positions[#positions + 1] = 0
        end
      elseif add then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', ms)
        redis.call('ZADD', key, ms + ttl, shard)
        if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
        if indexed then redis.call('SADD', index, string.sub(op, 2)) end
        if httl > 0 then
          keep(hs, hm, x, httl)
          positions[#positions + 1] = e
          positions[#positions + 1] = s
        end
      else
        redis.call('ZREM', key, shard)
        if indexed then redis.call('SREM', index, string.sub(op, 2)) end
        if httl > 0 then keep(hs, hm, x, httl) end
      end
    end
    if indexed and redis.call('PTTL', index) ~= -2 then redis.call('PEXPIRE', index, ttl) end
    local b = {}
    if httl > 0 and reach(K[n + 2]) then
      local e, s, _, x = ensure(K[n + 2], K[n + 3], K[n + 4], seed, httl)
      if e then
        keep(K[n + 2], K[n + 3], x, httl)
        b = {e, s}
      end
    end
    return {n, positions, b, moved}
    """;

  /**
   * Finishes a sync of one shard. K[1] = index, K[2] = sync index, K[3] = marker; A[1] = shard, A[2] = TTL ms,
   * A[3] = token key prefix, A[4] = marker value, A[5] = token key suffix, A[6] = channel entry prefix, A[7] = the
   * subscriber counts' key prefix. Removes the shard from tokens (and channels: their counts too) it no longer holds
   * (those on this master), swaps the rebuilt index in, writes the marker (cluster: with this process's run id, so that
   * a replica promoted in a failover does not pass it for its own).
   */
  static final String SYNC_END = HistoryScripts.SHEBANG + HistoryScripts.FUNCTIONS + CHANNEL_KEYS + """
    local shard, ttl, suffix = A[1], tonumber(A[2]), A[5]
    local stale = redis.call('SDIFF', K[1], K[2])
    for _, token in ipairs(stale) do
      local key, counts = entry(token, A[3], suffix, A[6], A[7])
      if reach(key) then redis.call('ZREM', key, shard) end
      if counts and reach(counts) then redis.call('HDEL', counts, shard) end
    end
    if redis.call('EXISTS', K[2]) == 1 then
      redis.call('RENAME', K[2], K[1])
      redis.call('PEXPIRE', K[1], ttl)
    else
      redis.call('DEL', K[1])
    end
    local value = A[4]
    if cluster then value = value .. '@' .. runid() end
    redis.call('SET', K[3], value, 'PX', ttl)
    return #stale
    """;

  /**
   * Deletes every entry of a shard that is gone. K[1] = index, K[2] = sync index, K[3] = marker;
   * A[1] = shard, A[2] = token key prefix, A[3] = token key suffix, A[4] = channel entry prefix, A[5] = the subscriber
   * counts' key prefix. Removes its channels' counts too. About a microsecond per token, once per stopped shard (and
   * master).
   */
  static final String CLEANUP = HistoryScripts.SHEBANG + HistoryScripts.FUNCTIONS + CHANNEL_KEYS + """
    local shard = A[1]
    local tokens = redis.call('SMEMBERS', K[1])
    for _, token in ipairs(tokens) do
      local key, counts = entry(token, A[2], A[3], A[4], A[5])
      if reach(key) then redis.call('ZREM', key, shard) end
      if counts and reach(counts) then redis.call('HDEL', counts, shard) end
    end
    redis.call('DEL', K[1], K[2], K[3])
    return #tokens
    """;

  /**
   * Resolves a batch (read-only, EVALSHA_RO). K[1..m] = markers of the live shards, K[m+1..] = token keys;
   * A[1] = m. Returns {0, {missing marker positions}} when a live shard's entries are not complete in Redis
   * (the registry is then not trusted: dispatch falls back), else {1, {{shards of token 1}, ...}, {tokens not on this
   * master}} with only the entries whose deadline has not passed.
   */
  static final String LOOKUP = "#!lua flags=no-writes,allow-cross-slot-keys\n" + HistoryScripts.FUNCTIONS + """
    local m = tonumber(A[1])
    local missing = {}
    for i = 1, m do
      if not marked(K[i]) then missing[#missing + 1] = i end
    end
    if #missing > 0 then return {0, missing} end
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local out, away = {}, {}
    for i = m + 1, #K do
      local shards, gone = try('ZRANGEBYSCORE', K[i], now, '+inf')
      if gone then
        out[#out + 1] = {}
        away[#away + 1] = i - m
      else
        out[#out + 1] = shards
      end
    end
    return {1, out, away}
    """;

  /**
   * A shard's subscriber counts. K = the channels' count hashes; A[1] = shard, A[2] = TTL ms, A[3..] = one count per
   * key (0 removes the shard's field). A hash lives a TTL after its last write: heartbeats re-assert counts (on a
   * cluster, on the master that serves the channel's slot then). Returns {keys, keys not on this master}.
   */
  static final String COUNTS = HistoryScripts.SHEBANG + HistoryScripts.FUNCTIONS + """
    local shard, ttl = A[1], tonumber(A[2])
    local away = 0
    for i = 1, #K do
      local n = tonumber(A[i + 2])
      if not reach(K[i]) then
        away = away + 1
      elseif n > 0 then
        redis.call('HSET', K[i], shard, n)
        redis.call('PEXPIRE', K[i], ttl)
      else
        redis.call('HDEL', K[i], shard)
      end
    end
    return {#K, away}
    """;

  static final String APPLY_SHA = sha1(APPLY);
  static final String COUNTS_SHA = sha1(COUNTS);
  static final String SYNC_END_SHA = sha1(SYNC_END);
  static final String CLEANUP_SHA = sha1(CLEANUP);
  static final String LOOKUP_SHA = sha1(LOOKUP);

  private RegistryScripts() {
  }

  /** SCRIPT LOAD of every script, the history's too, sent when Redis answers NOSCRIPT (first use, or after a restart). */
  static List<Request> load() {
    List<Request> out = new ArrayList<>();
    List<String> scripts = new ArrayList<>(List.of(APPLY, SYNC_END, CLEANUP, LOOKUP, COUNTS));
    scripts.addAll(HistoryScripts.scripts());
    for (String script : scripts) {
      out.add(Request.cmd(Command.SCRIPT).arg("LOAD").arg(script));
    }
    return out;
  }

  static boolean isNoScript(Throwable t) {
    return t != null && t.getMessage() != null && t.getMessage().contains("NOSCRIPT");
  }

  /**
   * The requests of one flush, in order: one per step.
   *
   * @param historyTtlMillis history.ttlMs, or 0 without history
   */
  static List<Request> flush(WriteQueue.Flush flush, RegistryKeys keys, long ttlMillis, long historyTtlMillis,
                             String markerValue) {
    List<Request> out = new ArrayList<>(flush.steps().size());
    boolean cluster = keys.cluster();
    for (WriteQueue.Step step : flush.steps()) {
      String shard = step.shard();
      switch (step.kind()) {
        case CLEANUP:
          out.add(new ScriptCall(Command.EVALSHA, CLEANUP_SHA)
            .key(keys.index(shard)).key(keys.syncIndex(shard)).key(keys.marker(shard))
            .arg(shard).arg(keys.tokenPrefix()).arg(keys.tokenSuffix()).arg(keys.channelPrefix())
            .arg(keys.subscribersPrefix()).request(cluster));
          break;
        case SYNC_BEGIN:
          out.add(Request.cmd(Command.DEL).arg(keys.syncIndex(shard)));
          break;
        case APPLY:
          out.add(apply(keys, step.toSyncIndex() ? keys.syncIndex(shard) : keys.index(shard), shard, step.tokens(),
            step.adds(), ttlMillis, historyTtlMillis));
          break;
        case SYNC_END:
          out.add(new ScriptCall(Command.EVALSHA, SYNC_END_SHA)
            .key(keys.index(shard)).key(keys.syncIndex(shard)).key(keys.marker(shard))
            .arg(shard).arg(ttlMillis).arg(keys.tokenPrefix()).arg(markerValue).arg(keys.tokenSuffix())
            .arg(keys.channelPrefix()).arg(keys.subscribersPrefix()).request(cluster));
          break;
        case COUNTS: {
          ScriptCall c = new ScriptCall(Command.EVALSHA, COUNTS_SHA);
          for (String channel : step.tokens()) {
            c.key(keys.subscribers(channel));
          }
          c.arg(shard).arg(ttlMillis);
          for (int n : step.counts()) {
            c.arg(n);
          }
          out.add(c.request(cluster));
          break;
        }
        default:
          throw new IllegalStateException(step.kind().toString());
      }
    }
    return out;
  }

  /** One APPLY call: {@code tokens} of {@code shard} with their ops; {@code index} the token index to keep ("": none). */
  static Request apply(RegistryKeys keys, String index, String shard, List<String> tokens, List<Boolean> adds,
                       long ttlMillis, long historyTtlMillis) {
    boolean history = historyTtlMillis > 0;
    ScriptCall c = new ScriptCall(Command.EVALSHA, APPLY_SHA).key(index);
    for (String token : tokens) {
      c.key(keys.token(token));
    }
    if (history) {
      c.key(keys.history(Streams.BROADCAST)).key(keys.historyPosition(Streams.BROADCAST))
        .key(keys.historyGeneration(Streams.BROADCAST));
      for (String token : tokens) {
        String stream = Streams.ofRegistryKey(token);
        c.key(keys.history(stream)).key(keys.historyPosition(stream)).key(keys.historyGeneration(stream));
      }
    }
    c.arg(shard).arg(ttlMillis).arg(historyTtlMillis).arg(HistoryScripts.epochSeed());
    for (int i = 0; i < tokens.size(); i++) {
      c.arg((adds.get(i) ? "+" : "-") + tokens.get(i));
    }
    return c.request(keys.cluster());
  }

  /** The lookup of a batch: one EVALSHA_RO with the live shards' markers and the tokens. */
  static Request lookup(RegistryKeys keys, List<String> liveShards, Collection<String> tokens) {
    ScriptCall c = new ScriptCall(Command.EVALSHA_RO, LOOKUP_SHA);
    for (String shard : liveShards) {
      c.key(keys.marker(shard));
    }
    for (String token : tokens) {
      c.key(keys.token(token));
    }
    return c.arg(liveShards.size()).request(keys.cluster());
  }

  /**
   * The answer of {@link #lookup} (or of DISPATCH's lookup part): complete, with shards per token, or naming the live
   * shards not in sync; {@code away}: tokens whose keys were not on this master (cluster: their slot moved), not
   * answered.
   */
  record LookupAnswer(boolean complete, Map<String, List<String>> shardsByToken, List<String> unsyncedShards,
                      Set<String> away) {
  }

  /**
   * @param awayAt where the answer lists the tokens not on this master (2 for LOOKUP, 4 for DISPATCH)
   */
  static LookupAnswer parseLookup(Response response, List<String> liveShards, Collection<String> tokens, int awayAt) {
    if (response == null || response.size() < 2) {
      throw new IllegalStateException("unexpected lookup answer: " + response);
    }
    Response payload = response.get(1);
    if (response.get(0).toInteger() == 0) {
      List<String> unsynced = new ArrayList<>();
      for (Response r : payload) {
        unsynced.add(liveShards.get(r.toInteger() - 1));
      }
      return new LookupAnswer(false, Map.of(), unsynced, Set.of());
    }
    Map<String, List<String>> found = new HashMap<>(tokens.size() * 2);
    List<String> ordered = tokens instanceof List<String> l ? l : new ArrayList<>(tokens);
    int i = 0;
    for (String token : ordered) {
      Response shards = payload.get(i++);
      if (shards != null && shards.size() > 0) {
        List<String> list = new ArrayList<>(shards.size());
        for (Response s : shards) {
          list.add(s.toString());
        }
        found.put(token, list);
      }
    }
    Set<String> away = Set.of();
    if (response.size() > awayAt && response.get(awayAt).size() > 0) {
      away = new HashSet<>();
      for (int a : HistoryScripts.oneBased(response.get(awayAt))) {
        away.add(ordered.get(a));
      }
    }
    return new LookupAnswer(true, found, List.of(), away);
  }

  static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
