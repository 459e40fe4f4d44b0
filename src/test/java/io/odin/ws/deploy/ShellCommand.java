package io.odin.ws.deploy;

import java.util.ArrayList;
import java.util.List;

/**
 * One command line as the gcp scripts print it in a dry run (lib.sh quote_cmd: plain words, or single-quoted words
 * with {@code '\''} for a quote), split back into its words.
 */
record ShellCommand(String line, List<String> words) {

  static ShellCommand parse(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean inWord = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\'') {
        int end = line.indexOf('\'', i + 1);
        if (end < 0) {
          throw new IllegalArgumentException("unclosed quote in: " + line);
        }
        w.append(line, i + 1, end);
        i = end;
        inWord = true;
      } else if (c == '\\' && i + 1 < line.length()) {
        w.append(line.charAt(++i));
        inWord = true;
      } else if (c == ' ') {
        if (inWord) {
          words.add(w.toString());
          w.setLength(0);
          inWord = false;
        }
      } else {
        w.append(c);
        inWord = true;
      }
    }
    if (inWord) {
      words.add(w.toString());
    }
    return new ShellCommand(line, List.copyOf(words));
  }

  /** Whether the command starts with these words, e.g. {@code is("gcloud", "compute", "firewall-rules", "create")}. */
  boolean is(String... prefix) {
    if (words.size() < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (!words.get(i).equals(prefix[i])) {
        return false;
      }
    }
    return true;
  }

  /** The value of {@code --name VALUE} or {@code --name=VALUE}; null when the flag is absent. */
  String flag(String name) {
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      if (w.equals(name) && i + 1 < words.size()) {
        return words.get(i + 1);
      }
      if (w.startsWith(name + "=")) {
        return w.substring(name.length() + 1);
      }
    }
    return null;
  }

  boolean has(String name) {
    return words.contains(name) || words.stream().anyMatch(w -> w.startsWith(name + "="));
  }

  /** The i-th word after the prefix words (the resource name after "create", for instance). */
  String arg(int i) {
    return words.get(i);
  }
}
