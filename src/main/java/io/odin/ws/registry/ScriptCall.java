package io.odin.ws.registry;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One call of a registry script, rendered for the key layout it runs on. On a standalone Redis the keys go in
 * {@code KEYS}. On a Redis Cluster master they go in {@code ARGV} behind the marker {@link #CLUSTER} and their count,
 * with no declared key: Redis then checks no slot for the command, and the script reaches each key itself, finding out
 * with {@code pcall} which of them are not on this master (a slot that moved, or is moving). The scripts read both
 * forms through the same prologue ({@link HistoryScripts#FUNCTIONS}), so one script serves both layouts.
 */
final class ScriptCall {

  /** The first argument of a script call that carries its keys in ARGV (cluster layout). */
  static final String CLUSTER = "~c";

  private final Command command;
  private final String sha;
  private final List<byte[]> keys = new ArrayList<>();
  private final List<byte[]> args = new ArrayList<>();

  ScriptCall(Command command, String sha) {
    this.command = command;
    this.sha = sha;
  }

  ScriptCall key(String key) {
    keys.add(key.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  int keyCount() {
    return keys.size();
  }

  ScriptCall arg(String arg) {
    args.add(arg.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  ScriptCall arg(long arg) {
    args.add(Long.toString(arg).getBytes(StandardCharsets.US_ASCII));
    return this;
  }

  ScriptCall arg(byte[] arg) {
    args.add(arg);
    return this;
  }

  /** The request: keys in KEYS, or (cluster) in ARGV behind the marker. */
  Request request(boolean cluster) {
    Request r = Request.cmd(command).arg(sha);
    if (cluster) {
      r.arg(0).arg(CLUSTER).arg(keys.size());
    } else {
      r.arg(keys.size());
    }
    for (byte[] k : keys) {
      r.arg(k);
    }
    for (byte[] a : args) {
      r.arg(a);
    }
    return r;
  }
}
