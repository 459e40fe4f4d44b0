package io.odin.ws.api;

import io.odin.ws.testsupport.ChildNode;
import io.odin.ws.testsupport.RawHttp;
import io.odin.ws.testsupport.Scrape;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The management port of a real node in its own JVM (the launcher's logging, a 128 MiB heap) under hostile
 * producers: stalled uploads cannot exhaust the heap, and malformed requests cannot flood the log.
 */
class EdgeSmallHeapTest {

  private static final int BODY_LIMIT = 4 << 20;

  @Test
  void stalledUploadsOneByteShortOfTheLimitLeaveTheNodeAnswering() throws Exception {
    try (ChildNode node = ChildNode.launch("heap", 1, Map.of(), List.of("-Xmx128m", "-XX:+UseSerialGC")).awaitReady()) {
      byte[] body = new byte[BODY_LIMIT - 1];
      Arrays.fill(body, (byte) ' ');
      List<RawHttp> uploads = new ArrayList<>();
      int refused = 0;
      try {
        for (int i = 0; i < 40; i++) {
          RawHttp upload = new RawHttp(node.httpPort);
          uploads.add(upload);
          upload.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: " + BODY_LIMIT));
          try {
            upload.write(body);
          } catch (IOException closedByTheServer) {
            refused++;
          }
        }
        // all 40 are held open at once (the admitted ones one byte short); the node still answers
        assertEquals(200, node.api().get("/health").status);
        for (RawHttp upload : uploads) {
          RawHttp.Answer a = upload.read(1);
          if (a.status() == 503) {
            refused++;
          }
        }
        Scrape s = new Scrape(node.api().get("/metrics").body);
        assertTrue(s.sum("odin_http_rejected_total", "reason", "in_flight_bytes") >= 20,
          "64 MiB in flight admit 16 bodies of 4 MiB: the others are refused; " + refused + " seen refused");
        assertTrue(s.sum("odin_http_inflight_body_bytes") <= 64 << 20);
      } finally {
        for (RawHttp upload : uploads) {
          upload.close();
        }
      }
      assertTrue(node.isAlive(), node.logText());
      assertEquals(200, node.api().get("/health").status);
      assertTrue(!node.logText().contains("OutOfMemoryError"), node.logText());
      assertEquals(202, node.api().post("{\"type\":\"t\",\"token\":\"a\"}").status);
    }
  }

  @Test
  void malformedRequestsWriteAtMostOneLinePerReasonPer10Seconds() throws Exception {
    try (ChildNode node = ChildNode.launch("logs", 1, Map.of()).awaitReady()) {
      int linesBefore = node.logText().split("\n").length;
      long start = System.currentTimeMillis();
      for (int i = 0; i < 100; i++) {
        try (RawHttp raw = new RawHttp(node.httpPort)) {
          switch (i % 4) {
            case 0: // the chunk size Netty cannot parse: 24 lines with a stack trace each on main
              raw.write(RawHttp.publishHead("Content-Type: application/json", "Transfer-Encoding: chunked") + "ZZ\r\n");
              break;
            case 1:
              raw.write("GARBAGE\r\n\r\n");
              break;
            case 2:
              raw.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: 5") + "{bad}");
              break;
            default:
              raw.write(RawHttp.publishHead("Content-Type: text/plain", "Content-Length: 2") + "{}");
          }
          raw.readHead(5_000);
        }
      }
      assertEquals(200, node.api().get("/health").status);
      Scrape s = new Scrape(node.api().get("/metrics").body);
      assertTrue(s.sum("odin_http_rejected_total", "reason", "malformed_http") >= 50, "every one counted");
      assertTrue(s.sum("odin_http_rejected_total", "reason", "unsupported_media_type") >= 25);
      String[] lines = node.logText().split("\n");
      List<String> added = Arrays.asList(lines).subList(linesBefore, lines.length);
      long stackLines = added.stream().filter(l -> l.startsWith("\tat ") || l.contains("Exception:") && !l.contains(" WARN ")).count();
      assertEquals(0, stackLines, String.join("\n", added));
      // four kinds of request, at most one line per reason per 10 s; a loaded machine may take a few windows
      long windows = 1 + (System.currentTimeMillis() - start) / 10_000;
      assertTrue(added.size() <= 4 * windows + 2, added.size() + " lines:\n" + String.join("\n", added));
    }
  }
}
