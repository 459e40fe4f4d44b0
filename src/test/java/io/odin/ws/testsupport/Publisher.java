package io.odin.ws.testsupport;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

/** Publishes through the real management HTTP API. */
public final class Publisher implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http;
  private final int port;

  public Publisher(int httpPort) {
    this.port = httpPort;
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true));
  }

  /** Posts a body, returns status and body. */
  public Response post(String body) {
    return request(HttpMethod.POST, "/api/publish", body);
  }

  public Response get(String path) {
    return request(HttpMethod.GET, path, null);
  }

  public Response request(HttpMethod method, String path, String body) {
    return request(method, path, body, "application/json");
  }

  /** With this content type (null: none). */
  public Response request(HttpMethod method, String path, String body, String contentType) {
    // the whole chain on the client's event loop: composed from this (non-Vert.x) thread, a step could run here
    // after the response had already ended on the event loop, and resp.body() would then wait forever
    Promise<Response> answer = Promise.promise();
    vertx.runOnContext(v -> http.request(new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(port).setURI(path))
      .compose(req -> {
        if (body == null) {
          return req.send();
        }
        if (contentType != null) {
          req.putHeader("content-type", contentType);
        }
        return req.send(Buffer.buffer(body));
      })
      .compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), b.toString())))
      .onComplete(answer));
    return WsClients.await(answer.future());
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  /** An HTTP answer. */
  public static final class Response {
    public final int status;
    public final String body;

    Response(int status, String body) {
      this.status = status;
      this.body = body;
    }

    public JsonObject json() {
      return new JsonObject(body);
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }
}
