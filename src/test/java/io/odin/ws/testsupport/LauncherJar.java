package io.odin.ws.testsupport;

import io.odin.ws.OdinWsApplication;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * A jar that runs the gateway from the test class path, for the scripts that start {@code java -jar JAR}
 * (scripts/cluster-local, scripts/vertx): during the test phase target/odin-ws.jar is not built yet, or is an older
 * build. It holds only a manifest, whose Main-Class is the real launcher and whose Class-Path is the test JVM's,
 * so the script runs exactly the code under test, started the way operators start the fat jar.
 */
public final class LauncherJar {

  private LauncherJar() {
  }

  public static Path create() {
    try {
      Path jar = Files.createTempDirectory("odin-launcher").resolve("odin-ws.jar");
      List<String> urls = new ArrayList<>();
      for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
        if (!entry.isEmpty()) {
          urls.add(Path.of(entry).toAbsolutePath().toUri().toString());
        }
      }
      Manifest manifest = new Manifest();
      Attributes main = manifest.getMainAttributes();
      main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
      main.put(Attributes.Name.MAIN_CLASS, OdinWsApplication.class.getName());
      main.put(Attributes.Name.CLASS_PATH, String.join(" ", urls));
      // as the fat jar's manifest (pom.xml): what Hazelcast asks for to run without warnings
      main.putValue("Add-Opens", "java.base/java.lang java.base/sun.nio.ch java.management/sun.management"
        + " jdk.management/com.sun.management.internal");
      main.putValue("Add-Exports", "java.base/jdk.internal.ref");
      try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, manifest)) {
        j.flush();
      }
      return jar;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
