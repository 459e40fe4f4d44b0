package io.odin.ws.api;

import io.odin.ws.testsupport.Publisher;
import io.odin.ws.testsupport.RawHttp;
import io.odin.ws.testsupport.Scrape;
import io.odin.ws.testsupport.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** http.requestTimeoutMs against a real node: stalled uploads, half request heads, silent and trickling connections. */
class ManagementTimeoutTest {

  private static final int REQUEST_TIMEOUT_MS = 2_000;

  @Test
  void stalledUploadsAndHalfRequestsAreTornDown() throws Exception {
    try (TestNode node = TestNode.start(1, new JsonObject().put("http.requestTimeoutMs", REQUEST_TIMEOUT_MS));
         Publisher api = new Publisher(node.httpPort)) {
      run(node, api);
    }
  }

  private static void run(TestNode node, Publisher api) throws Exception {
    try (RawHttp upload = new RawHttp(node.httpPort); RawHttp halfHead = new RawHttp(node.httpPort);
         RawHttp silent = new RawHttp(node.httpPort); RawHttp trickle = new RawHttp(node.httpPort)) {
      long start = System.currentTimeMillis();
      upload.write(RawHttp.publishHead("Content-Type: application/json", "Content-Length: 100")).write("[{\"type\":");
      halfHead.write("POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      // a head trickled slower than the request timeout allows, one header line at a time
      trickle.write("GET /health HTTP/1.1\r\n");
      RawHttp.Answer answer = upload.read(REQUEST_TIMEOUT_MS * 6L);
      assertEquals(408, answer.status(), answer.toString());
      assertTrue(answer.closed, answer.toString());
      assertTrue(System.currentTimeMillis() - start < REQUEST_TIMEOUT_MS * 6L);
      for (int i = 0; i < 4; i++) {
        try {
          trickle.write("X-Slow-" + i + ": 1\r\n");
        } catch (java.io.IOException closed) {
          break;
        }
        await().pollDelay(Duration.ofMillis(REQUEST_TIMEOUT_MS / 2)).until(() -> true);
      }
      assertTrue(halfHead.read(REQUEST_TIMEOUT_MS * 3L).closed, "half a request head is cut off");
      assertTrue(silent.read(REQUEST_TIMEOUT_MS * 3L).closed, "a connection that sends nothing is cut off");
      assertTrue(trickle.read(REQUEST_TIMEOUT_MS * 3L).closed, "a trickled head is cut off");
    }
    assertTrue(new Scrape(api.get("/metrics").body).sum("odin_http_rejected_total", "reason", "request_timeout") >= 1);
  }

}
