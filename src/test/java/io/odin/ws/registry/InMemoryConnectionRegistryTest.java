package io.odin.ws.registry;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InMemoryConnectionRegistryTest {

  @Test
  void tracksShardsPerToken() {
    InMemoryConnectionRegistry registry = new InMemoryConnectionRegistry(true);
    registry.register("a", "s0");
    registry.register("a", "s1");
    registry.register("b", "s1");
    RegistryLookup lookup = registry.lookup(List.of("a", "b", "c")).result();
    assertTrue(lookup.authoritative());
    assertEquals(Set.of("s0", "s1"), Set.copyOf(lookup.shardsOf("a")));
    assertEquals(Set.of("s1"), Set.copyOf(lookup.shardsOf("b")));
    assertNull(lookup.shardsOf("c"));

    registry.unregister("a", "s0");
    assertEquals(Set.of("s1"), Set.copyOf(registry.lookup(List.of("a")).result().shardsOf("a")));
    registry.removeShard("s1");
    assertNull(registry.lookup(List.of("a")).result().shardsOf("a"));
    assertNull(registry.lookup(List.of("b")).result().shardsOf("b"));
    assertEquals(0, registry.size());
  }

  @Test
  void inAClusterItAnswersNothingSoDispatchFallsBack() {
    InMemoryConnectionRegistry registry = new InMemoryConnectionRegistry(false);
    registry.register("a", "s0");
    RegistryLookup lookup = registry.lookup(List.of("a")).result();
    assertNull(lookup.shardsOf("a"), "another node may hold devices of the same token");
    assertTrue(!lookup.authoritative());
  }
}
