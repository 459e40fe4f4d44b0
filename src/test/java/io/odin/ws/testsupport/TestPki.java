package io.odin.ws.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throwaway keys and certificates made at test time: RSA and EC key pairs as PEM (for JWTs), and a CA with
 * certificates it signed for 127.0.0.1 and localhost (for wss://, https:// and the event bus over TLS), made
 * with the JDK's keytool. Nothing is checked in.
 */
public final class TestPki {

  private static final String PASS = "changeit";

  /** A CA and one server/peer certificate signed by it, as PEM files. */
  public record Certs(Path caCert, Path cert, Path key) { }

  private TestPki() {
  }

  public static KeyPair rsa() {
    return generate("RSA", 2048);
  }

  public static KeyPair ec() {
    return generate("EC", 256);
  }

  private static KeyPair generate(String type, int size) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(type);
      g.initialize(size);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public static String publicPem(KeyPair pair) {
    return pem("PUBLIC KEY", pair.getPublic().getEncoded());
  }

  public static String privatePem(KeyPair pair) {
    return pem("PRIVATE KEY", pair.getPrivate().getEncoded());
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
      + "\n-----END " + type + "-----\n";
  }

  /** A new CA in {@code dir} (ca.p12, ca.pem). */
  public static Path ca(Path dir, String name) {
    keytool(dir, "-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name,
      "-ext", "bc:c", "-validity", "2", "-keystore", name + ".p12", "-storetype", "PKCS12", "-storepass", PASS);
    keytool(dir, "-exportcert", "-alias", "ca", "-keystore", name + ".p12", "-storepass", PASS, "-rfc", "-file", name + ".pem");
    return dir.resolve(name + ".pem");
  }

  /** A certificate for 127.0.0.1 and localhost signed by the CA {@code caName} made by {@link #ca}. */
  public static Certs signed(Path dir, String caName, String name) {
    try {
      keytool(dir, "-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name,
        "-validity", "2", "-keystore", name + ".p12", "-storetype", "PKCS12", "-storepass", PASS);
      keytool(dir, "-certreq", "-alias", name, "-keystore", name + ".p12", "-storepass", PASS, "-file", name + ".csr");
      keytool(dir, "-gencert", "-alias", "ca", "-keystore", caName + ".p12", "-storepass", PASS, "-infile", name + ".csr",
        "-outfile", name + ".crt", "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "eku=serverAuth,clientAuth",
        "-validity", "2", "-rfc");
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(dir.resolve(name + ".p12"))) {
        ks.load(in, PASS.toCharArray());
      }
      Key key = ks.getKey(name, PASS.toCharArray());
      Path keyPem = dir.resolve(name + ".key.pem");
      Files.writeString(keyPem, pem("PRIVATE KEY", key.getEncoded()));
      // the chain: this certificate, then the CA's
      Path chain = dir.resolve(name + ".chain.pem");
      Files.writeString(chain, Files.readString(dir.resolve(name + ".crt")) + Files.readString(dir.resolve(caName + ".pem")));
      return new Certs(dir.resolve(caName + ".pem"), chain, keyPem);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void keytool(Path dir, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
