package io.odin.ws.testsupport;

import io.odin.ws.history.Registered;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.ConnectionRegistry;
import io.odin.ws.registry.InMemoryConnectionRegistry;
import io.odin.ws.registry.RegistryLookup;
import io.vertx.core.Future;

import java.util.Collection;
import java.util.List;

/**
 * A connection registry that keeps registrations but cannot answer lookups, like a registry whose store is down:
 * the dispatcher must fall back to every shard.
 */
public final class FailingRegistry implements ConnectionRegistry {

  private final InMemoryConnectionRegistry kept = new InMemoryConnectionRegistry(true);

  @Override
  public Future<Registered> register(String token, String shardAddress) {
    return kept.register(token, shardAddress);
  }

  @Override
  public void unregister(String token, String shardAddress) {
    kept.unregister(token, shardAddress);
  }

  @Override
  public void removeShard(String shardAddress) {
    kept.removeShard(shardAddress);
  }

  @Override
  public Future<RegistryLookup> lookup(Collection<String> tokens, List<Envelope> toStore) {
    return Future.failedFuture(new IllegalStateException("registry unavailable (test)"));
  }

  @Override
  public String kind() {
    return "failing-test";
  }

  @Override
  public Future<Void> close() {
    return kept.close();
  }
}
