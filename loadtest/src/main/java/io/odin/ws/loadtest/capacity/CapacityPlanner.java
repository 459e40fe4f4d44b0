package io.odin.ws.loadtest.capacity;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code scripts/capacity-plan}: reads the figures (and prices), computes the plan, prints it. Exit status 0 a plan,
 * 2 bad usage, 3 a bad figures or prices file (every bad field named).
 */
public final class CapacityPlanner {

  private CapacityPlanner() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the planner: the plan to {@code out}, errors to {@code err}. Returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    PlanInputs in;
    try {
      in = PlanInputs.parse(args);
    } catch (PlanInputs.UsageException e) {
      if (e.getMessage() != null) {
        err.println("capacity-plan: " + e.getMessage());
      }
      err.println(PlanInputs.USAGE);
      return e.getMessage() == null ? 0 : 2;
    }
    if (in.figures == null) {
      err.println("capacity-plan: --figures FILE is required (scripts/capacity-plan gives docs/benchmarks/figures.json)");
      return 2;
    }
    try {
      Figures figures = Figures.parse(read(in.figures), in.figures);
      Prices prices = in.prices == null ? Prices.builtIn() : Prices.parse(read(in.prices), in.prices);
      out.print(PlanFormat.render(CapacityModel.plan(in, figures, prices)));
      return 0;
    } catch (Figures.FiguresException e) {
      err.println("capacity-plan: " + e.origin() + " has bad figures:");
      for (String problem : e.problems()) {
        err.println("  " + problem);
      }
      return 3;
    } catch (IllegalArgumentException e) {
      err.println("capacity-plan: " + e.getMessage());
      return 2;
    } catch (NoSuchFileException e) {
      err.println("capacity-plan: " + e.getFile() + ": no such file");
      return 3;
    } catch (IOException e) {
      err.println("capacity-plan: " + e);
      return 3;
    }
  }

  private static String read(String file) throws IOException {
    return Files.readString(Path.of(file), StandardCharsets.UTF_8);
  }
}
