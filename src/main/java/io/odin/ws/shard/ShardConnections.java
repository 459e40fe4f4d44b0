package io.odin.ws.shard;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * The connections one shard owns, by token and as one list for broadcasts. Used only from the shard's event
 * loop, so nothing here is synchronised. A token with a single connection (the usual case) maps straight to
 * it; only tokens with several devices on this shard pay for a list.
 * <p>The iteration methods do not copy (a broadcast to 15,000 sockets would otherwise copy 15,000 references
 * per message), so their actions must not add or remove connections; closing a socket is fine, because its
 * removal happens later, in its close handler.
 *
 * @param <C> the connection type
 */
public final class ShardConnections<C extends ShardConnections.Slot> {

  /** A connection remembers its place in the broadcast list, so removal is O(1). */
  public interface Slot {
    int slot();

    void slot(int index);
  }

  private final HashMap<String, Object> byToken = new HashMap<>();
  private final ArrayList<C> all = new ArrayList<>();

  /** Adds a connection; true when it is the first of its token on this shard (register the token). */
  @SuppressWarnings("unchecked")
  public boolean add(String token, C connection) {
    connection.slot(all.size());
    all.add(connection);
    Object existing = byToken.get(token);
    if (existing == null) {
      byToken.put(token, connection);
      return true;
    }
    if (existing instanceof Many) {
      ((Many<C>) existing).add(connection);
    } else {
      Many<C> many = new Many<>();
      many.add((C) existing);
      many.add(connection);
      byToken.put(token, many);
    }
    return false;
  }

  /** Removes a connection; true when it was the last of its token on this shard (unregister the token). */
  @SuppressWarnings("unchecked")
  public boolean remove(String token, C connection) {
    int slot = connection.slot();
    if (slot < 0 || slot >= all.size() || all.get(slot) != connection) {
      return false;
    }
    C last = all.remove(all.size() - 1);
    if (last != connection) {
      all.set(slot, last);
      last.slot(slot);
    }
    connection.slot(-1);
    Object existing = byToken.get(token);
    if (existing == connection) {
      byToken.remove(token);
      return true;
    }
    if (existing instanceof Many) {
      Many<C> many = (Many<C>) existing;
      many.remove(connection);
      if (many.size() == 1) {
        byToken.put(token, many.get(0));
      }
    }
    return false;
  }

  /** Calls {@code action(connection, arg)} for each connection of {@code token}; returns how many there were. */
  @SuppressWarnings("unchecked")
  public <T> int forEachOf(String token, T arg, BiConsumer<C, T> action) {
    Object existing = byToken.get(token);
    if (existing == null) {
      return 0;
    }
    if (existing instanceof Many) {
      Many<C> many = (Many<C>) existing;
      int n = many.size();
      for (int i = 0; i < n; i++) {
        action.accept(many.get(i), arg);
      }
      return n;
    }
    action.accept((C) existing, arg);
    return 1;
  }

  /** Calls {@code action(connection, arg)} for every connection; returns how many there were. */
  public <T> int forEach(T arg, BiConsumer<C, T> action) {
    int n = all.size();
    for (int i = 0; i < n; i++) {
      action.accept(all.get(i), arg);
    }
    return n;
  }

  /**
   * Calls {@code action(connection, arg)} for up to {@code count} connections from position {@code from}
   * (wrapping around); returns the position to continue from. Connections that move meanwhile (swap-remove)
   * may be skipped or visited twice in one round; every one is visited in the next.
   */
  public <T> int forEachIn(int from, int count, T arg, BiConsumer<C, T> action) {
    int n = all.size();
    if (n == 0) {
      return 0;
    }
    int i = from >= n ? 0 : from;
    for (int k = 0; k < Math.min(count, n); k++) {
      action.accept(all.get(i), arg);
      i = i + 1 == n ? 0 : i + 1;
    }
    return i;
  }

  public int size() {
    return all.size();
  }

  public int tokenCount() {
    return byToken.size();
  }

  public boolean holds(String token) {
    return byToken.containsKey(token);
  }

  /** Every token held here, e.g. to register them again after the registry lost them. */
  public List<String> tokens() {
    return new ArrayList<>(byToken.keySet());
  }

  private static final class Many<C> extends ArrayList<C> {
    Many() {
      super(4);
    }
  }
}
