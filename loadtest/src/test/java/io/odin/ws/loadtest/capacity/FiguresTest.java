package io.odin.ws.loadtest.capacity;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A figures file is read strictly: every bad or missing field is named, all at once. */
class FiguresTest {

  private static JsonObject good() {
    return TestFigures.figures().toJson();
  }

  private static List<String> problems(JsonObject file) {
    return assertThrows(Figures.FiguresException.class, () -> Figures.parse(file.encode(), "f.json")).problems();
  }

  private static JsonObject figure(JsonObject file, Figure f) {
    return file.getJsonObject("figures").getJsonObject(f.key);
  }

  @Test
  void whatItWritesItReads() {
    Figures read = Figures.parse(good().encodePrettily(), "f.json");
    for (Figure f : Figure.values()) {
      assertEquals(TestFigures.figures().get(f), read.get(f), f.key);
      assertEquals("test", read.source(f));
    }
    assertEquals("test", read.measured().getString("at"));
    assertEquals("f.json", read.origin());
  }

  @Test
  void aMissingFigureIsNamed() {
    JsonObject file = good();
    file.getJsonObject("figures").remove(Figure.CPU_PER_BROADCAST.key);
    file.getJsonObject("figures").remove(Figure.REDIS_CONNECT.key);
    assertEquals(List.of("figures: missing node.cpuMicrosPerBroadcastDelivery, redis.commandsPerConnect (the model reads"
      + " every figure)"), problems(file));
  }

  @Test
  void aMisspeltFigureIsNamedWithTheNearestOne() {
    JsonObject file = good();
    JsonObject entry = file.getJsonObject("figures").getJsonObject(Figure.CPU_PER_BROADCAST.key);
    file.getJsonObject("figures").remove(Figure.CPU_PER_BROADCAST.key);
    file.getJsonObject("figures").put("node.cpuMicrosPerBroadcastDeliveries", entry);
    List<String> p = problems(file);
    assertTrue(p.get(0).startsWith("figures.\"node.cpuMicrosPerBroadcastDeliveries\": no such figure (did you mean"
      + " node.cpuMicrosPerBroadcastDelivery?)"), p.toString());
    assertTrue(p.get(1).contains("missing node.cpuMicrosPerBroadcastDelivery"), p.toString());
  }

  @Test
  void badValuesUnitsAndSourcesAreNamedAllAtOnce() {
    JsonObject file = good();
    figure(file, Figure.CPU_PER_TARGETED_KAFKA).put("value", "31.3");
    figure(file, Figure.IDLE_RSS).put("unit", "GiB");
    figure(file, Figure.RSS_PER_CONNECTION).remove("source");
    figure(file, Figure.REDIS_COMMANDS_PER_MASTER).put("value", 0);
    figure(file, Figure.HEAP_PER_CONNECTION).put("value", -1);
    figure(file, Figure.KERNEL_PER_CONNECTION).put("note", "guessed");
    file.getJsonObject("figures").put(Figure.CPU_PER_HANDSHAKE.key, 150);
    List<String> p = problems(file);
    assertEquals(List.of(
      "figures.\"node.idleRssMiB\".unit: must be \"MiB\" (the figure is read in MiB), got \"GiB\"",
      "figures.\"node.rssBytesPerIdleConnection\".source: missing: say where the figure comes from (a command and its"
        + " date, a document, or \"assumption: ...\")",
      "figures.\"node.heapBytesPerIdleConnection\".value: must not be negative, got -1",
      "figures.\"node.kernelBytesPerConnection\": unknown field \"note\" (a figure has value, unit and source)",
      "figures.\"node.cpuMicrosPerHandshake\": must be an object {\"value\": NUMBER, \"unit\": \"µs\", \"source\":"
        + " \"...\"}, got 150",
      "figures.\"node.cpuMicrosPerTargetedDeliveryKafka\".value: must be a number (µs: " + Figure.CPU_PER_TARGETED_KAFKA.meaning
        + "), got \"31.3\"",
      "figures.\"redis.commandsPerSecondPerMaster\".value: must be above 0 (the model divides by it), got 0"), p);
  }

  @Test
  void notJsonAnotherSchemaOrNoFiguresAreSaidSo() {
    assertTrue(assertThrows(Figures.FiguresException.class, () -> Figures.parse("{\"schema\": 1,", "f.json"))
      .getMessage().startsWith("f.json: not a JSON object: "));
    JsonObject other = good().put("schema", 2);
    assertTrue(problems(other).get(0).startsWith("schema: must be 1, got 2"), problems(other).toString());
    assertTrue(problems(new JsonObject().put("schema", 1)).get(0).startsWith("figures: missing (one entry per figure"));
    assertTrue(problems(good().put("measured", "yesterday")).get(0).startsWith("measured: must be an object"));
  }

  @Test
  void theBuiltInPricesParseAndAnUnknownMachineListsTheKnownOnes() {
    Prices prices = Prices.builtIn();
    assertEquals(8, prices.machine("e2-standard-8").vcpus());
    assertEquals(32, prices.machine("e2-standard-8").memoryGiB());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> prices.machine("e2-standard-7"));
    assertTrue(e.getMessage().startsWith("--machine: e2-standard-7 is not in the built-in capacity/gcp-prices.json;"
      + " known: e2-standard-2, "), e.getMessage());
  }

  @Test
  void badPricesAreNamed() {
    String text = "{\"hoursPerMonth\": 730, \"diskPerGiBMonth\": 0.1, \"machines\": {\"m\": {\"vcpus\": 0, \"memoryGiB\": 8,"
      + " \"perHour\": 1}}, \"redisNodes\": {}, \"egressPerGiB\": [{\"upToTiB\": null, \"perGiB\": 0.1},"
      + " {\"upToTiB\": 5, \"perGiB\": 0.1}]}";
    List<String> p = assertThrows(Figures.FiguresException.class, () -> Prices.parse(text, "p.json")).problems();
    assertEquals(List.of("machines.m.vcpus: must be a number above 0, got 0",
      "egressPerGiB[0].upToTiB: only the last tier may be null",
      "egressPerGiB[1].upToTiB: the last tier has no bound: null"), p);
  }
}
