package io.odin.ws.testsupport;

import java.util.ArrayList;
import java.util.List;

/** Client tokens for tests. */
public final class Tokens {

  private Tokens() {
  }

  /** {@code prefix0 .. prefix(n-1)}. */
  public static List<String> tokens(String prefix, int n) {
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
  }
}
