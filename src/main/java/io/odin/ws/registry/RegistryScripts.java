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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The registry's Lua scripts and the Redis requests that run them. Every write and every lookup is one script
 * call, so a flush or a lookup is one pipelined round trip whatever the number of tokens, and a lookup shows up
 * in {@code INFO commandstats} as exactly one {@code evalsha_ro} call. Deadlines come from the Redis clock
 * ({@code TIME}), so the nodes' clocks do not matter. Requires Redis 7 ({@code EVALSHA_RO}). Scripts touch keys
 * they derive from tokens, so they run on a standalone or Sentinel-managed Redis, not on Redis Cluster. The
 * history's scripts ({@link HistoryScripts}) share this Redis and these calls.
 */
final class RegistryScripts {

  /**
   * Writes entries of one shard, with the history's part (docs/registry.md, "History"). KEYS[1] = the token index to
   * update, KEYS[2..n+1] = token keys; with history also the history generation, the broadcast stream's history and
   * position, then (history, position) per token. ARGV[1] = shard address, ARGV[2] = TTL ms, ARGV[3] =
   * history.ttlMs (0: no history), ARGV[4] = epoch seed, ARGV[5..] = one op per token: "+token" or "-token".
   * With history, a held token's stream is kept alive ({@code history.ttlMs} from now: heartbeats pass here) and its
   * position answered; a released one lives {@code history.ttlMs} from its release. Returns
   * {n, {epoch, seq per "+" op}, {broadcast epoch, seq}}: where the streams stood once the entries were visible.
   */
  static final String APPLY = HistoryScripts.FUNCTIONS + """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local shard, ttl, index = ARGV[1], tonumber(ARGV[2]), KEYS[1]
    local httl, seed = tonumber(ARGV[3]), tonumber(ARGV[4])
    local n = #ARGV - 4
    local ident
    if httl > 0 then ident = identity(KEYS[n + 2]) end
    local positions = {}
    for i = 1, n do
      local op, key = ARGV[i + 4], KEYS[i + 1]
      local hs, hm = KEYS[n + 3 + i * 2], KEYS[n + 4 + i * 2]
      if string.byte(op, 1) == 43 then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
        redis.call('ZADD', key, now + ttl, shard)
        if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
        redis.call('SADD', index, string.sub(op, 2))
        if httl > 0 then
          local e, s = ensure(hs, hm, ident, seed + i, httl)
          redis.call('PEXPIRE', hs, httl)
          redis.call('PEXPIRE', hm, httl)
          positions[#positions + 1] = e
          positions[#positions + 1] = s
        end
      else
        redis.call('ZREM', key, shard)
        redis.call('SREM', index, string.sub(op, 2))
        if httl > 0 then
          redis.call('PEXPIRE', hs, httl)
          redis.call('PEXPIRE', hm, httl)
        end
      end
    end
    if redis.call('PTTL', index) ~= -2 then redis.call('PEXPIRE', index, ttl) end
    local b = {}
    if httl > 0 then
      local e, s = ensure(KEYS[n + 3], KEYS[n + 4], ident, seed, httl)
      redis.call('PEXPIRE', KEYS[n + 3], httl)
      redis.call('PEXPIRE', KEYS[n + 4], httl)
      b = {e, s}
    end
    return {n, positions, b}
    """;

  /**
   * Finishes a sync of one shard. KEYS[1] = index, KEYS[2] = sync index, KEYS[3] = marker;
   * ARGV[1] = shard, ARGV[2] = TTL ms, ARGV[3] = token key prefix, ARGV[4] = marker value.
   * Removes the shard from tokens it no longer holds, swaps the rebuilt index in, writes the marker.
   */
  static final String SYNC_END = """
    local shard, ttl, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
    local stale = redis.call('SDIFF', KEYS[1], KEYS[2])
    for _, token in ipairs(stale) do redis.call('ZREM', prefix .. token, shard) end
    if redis.call('EXISTS', KEYS[2]) == 1 then
      redis.call('RENAME', KEYS[2], KEYS[1])
      redis.call('PEXPIRE', KEYS[1], ttl)
    else
      redis.call('DEL', KEYS[1])
    end
    redis.call('SET', KEYS[3], ARGV[4], 'PX', ttl)
    return #stale
    """;

  /**
   * Deletes every entry of a shard that is gone. KEYS[1] = index, KEYS[2] = sync index, KEYS[3] = marker;
   * ARGV[1] = shard, ARGV[2] = token key prefix. About a microsecond per token, once per stopped shard.
   */
  static final String CLEANUP = """
    local shard, prefix = ARGV[1], ARGV[2]
    local tokens = redis.call('SMEMBERS', KEYS[1])
    for _, token in ipairs(tokens) do redis.call('ZREM', prefix .. token, shard) end
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    return #tokens
    """;

  /**
   * Resolves a batch (read-only, EVALSHA_RO). KEYS[1..m] = markers of the live shards, KEYS[m+1..] = token keys;
   * ARGV[1] = m. Returns {0, {missing marker positions}} when a live shard's entries are not complete in Redis
   * (the registry is then not trusted: dispatch falls back), else {1, {{shards of token 1}, ...}} with only the
   * entries whose deadline has not passed.
   */
  static final String LOOKUP = """
    local m = tonumber(ARGV[1])
    local missing = {}
    for i = 1, m do
      if redis.call('EXISTS', KEYS[i]) == 0 then missing[#missing + 1] = i end
    end
    if #missing > 0 then return {0, missing} end
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local out = {}
    for i = m + 1, #KEYS do
      out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[i], now, '+inf')
    end
    return {1, out}
    """;

  static final String APPLY_SHA = sha1(APPLY);
  static final String SYNC_END_SHA = sha1(SYNC_END);
  static final String CLEANUP_SHA = sha1(CLEANUP);
  static final String LOOKUP_SHA = sha1(LOOKUP);

  private RegistryScripts() {
  }

  /** SCRIPT LOAD of every script, the history's too, sent when Redis answers NOSCRIPT (first use, or after a restart). */
  static List<Request> load() {
    List<Request> out = new ArrayList<>();
    List<String> scripts = new ArrayList<>(List.of(APPLY, SYNC_END, CLEANUP, LOOKUP));
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
    for (WriteQueue.Step step : flush.steps()) {
      String shard = step.shard();
      switch (step.kind()) {
        case CLEANUP:
          out.add(Request.cmd(Command.EVALSHA).arg(CLEANUP_SHA).arg(3)
            .arg(keys.index(shard)).arg(keys.syncIndex(shard)).arg(keys.marker(shard))
            .arg(shard).arg(keys.tokenPrefix()));
          break;
        case SYNC_BEGIN:
          out.add(Request.cmd(Command.DEL).arg(keys.syncIndex(shard)));
          break;
        case APPLY: {
          List<String> tokens = step.tokens();
          boolean history = historyTtlMillis > 0;
          Request r = Request.cmd(Command.EVALSHA).arg(APPLY_SHA)
            .arg(1 + tokens.size() + (history ? 3 + tokens.size() * 2 : 0))
            .arg(step.toSyncIndex() ? keys.syncIndex(shard) : keys.index(shard));
          for (String token : tokens) {
            r.arg(keys.token(token));
          }
          if (history) {
            r.arg(keys.historyGeneration())
              .arg(keys.history(Streams.BROADCAST)).arg(keys.historyPosition(Streams.BROADCAST));
            for (String token : tokens) {
              String stream = Streams.token(token);
              r.arg(keys.history(stream)).arg(keys.historyPosition(stream));
            }
          }
          r.arg(shard).arg(ttlMillis).arg(historyTtlMillis).arg(HistoryScripts.epochSeed());
          for (int i = 0; i < tokens.size(); i++) {
            r.arg((step.adds().get(i) ? "+" : "-") + tokens.get(i));
          }
          out.add(r);
          break;
        }
        case SYNC_END:
          out.add(Request.cmd(Command.EVALSHA).arg(SYNC_END_SHA).arg(3)
            .arg(keys.index(shard)).arg(keys.syncIndex(shard)).arg(keys.marker(shard))
            .arg(shard).arg(ttlMillis).arg(keys.tokenPrefix()).arg(markerValue));
          break;
        default:
          throw new IllegalStateException(step.kind().toString());
      }
    }
    return out;
  }

  /** The lookup of a batch: one EVALSHA_RO with the live shards' markers and the tokens. */
  static Request lookup(RegistryKeys keys, List<String> liveShards, Collection<String> tokens) {
    Request r = Request.cmd(Command.EVALSHA_RO).arg(LOOKUP_SHA).arg(liveShards.size() + tokens.size());
    for (String shard : liveShards) {
      r.arg(keys.marker(shard));
    }
    for (String token : tokens) {
      r.arg(keys.token(token));
    }
    return r.arg(liveShards.size());
  }

  /** The answer of {@link #lookup}: complete, with shards per token, or naming the live shards not in sync. */
  record LookupAnswer(boolean complete, Map<String, List<String>> shardsByToken, List<String> unsyncedShards) {
  }

  static LookupAnswer parseLookup(Response response, List<String> liveShards, Collection<String> tokens) {
    if (response == null || response.size() < 2) {
      throw new IllegalStateException("unexpected lookup answer: " + response);
    }
    Response payload = response.get(1);
    if (response.get(0).toInteger() == 0) {
      List<String> unsynced = new ArrayList<>();
      for (Response r : payload) {
        unsynced.add(liveShards.get(r.toInteger() - 1));
      }
      return new LookupAnswer(false, Map.of(), unsynced);
    }
    Map<String, List<String>> found = new HashMap<>(tokens.size() * 2);
    int i = 0;
    for (String token : tokens) {
      Response shards = payload.get(i++);
      if (shards != null && shards.size() > 0) {
        List<String> list = new ArrayList<>(shards.size());
        for (Response s : shards) {
          list.add(s.toString());
        }
        found.put(token, list);
      }
    }
    return new LookupAnswer(true, found, List.of());
  }

  static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
