package io.odin.ws.loadtest;

import java.util.Arrays;

/** A growable list of ints without boxing; starts empty and small, so idle connections cost nothing. */
public final class IntList {

  private static final int[] EMPTY = new int[0];

  private int[] values = EMPTY;
  private int size;

  public IntList() {
  }

  public static IntList of(int... values) {
    IntList l = new IntList();
    for (int v : values) {
      l.add(v);
    }
    return l;
  }

  public void add(int v) {
    if (size == values.length) {
      values = Arrays.copyOf(values, size == 0 ? 4 : size + (size >> 1) + 1);
    }
    values[size++] = v;
  }

  public int get(int i) {
    if (i >= size) {
      throw new IndexOutOfBoundsException(i + " >= " + size);
    }
    return values[i];
  }

  public int size() {
    return size;
  }

  /** A trimmed copy. */
  public int[] toArray() {
    return Arrays.copyOf(values, size);
  }
}
