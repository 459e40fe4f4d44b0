package io.odin.ws.loadtest;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.net.URI;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Publishes through the gateway's {@code POST /api/publish}: one request per batch (a single envelope, or a JSON
 * array of them), over a pool of keep-alive connections. 202 marks the batch accepted; anything else failed.
 */
final class HttpSink implements Publisher.Sink {

  private final Vertx vertx;
  private final HttpClient client;
  private final Context context;
  private final URI uri;
  private volatile boolean closing;

  HttpSink(URI uri, int connections) {
    this.uri = uri;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1)
      .setInternalBlockingPoolSize(1).setBlockedThreadCheckInterval(10_000));
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
      .setDefaultHost(uri.getHost()).setDefaultPort(uri.getPort() > 0 ? uri.getPort() : 80),
      new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
    this.context = vertx.getOrCreateContext();
  }

  @Override
  public void send(List<Publisher.Out> batch, Publisher publisher, Runnable done) {
    Buffer body;
    if (batch.size() == 1) {
      body = Buffer.buffer(batch.get(0).envelope());
    } else {
      int size = 2;
      for (Publisher.Out m : batch) {
        size += m.envelope().length + 1;
      }
      body = Buffer.buffer(size).appendByte((byte) '[');
      for (int i = 0; i < batch.size(); i++) {
        if (i > 0) {
          body.appendByte((byte) ',');
        }
        body.appendBytes(batch.get(i).envelope());
      }
      body.appendByte((byte) ']');
    }
    int first = batch.get(0).seq();
    int count = batch.size();
    MessageLog log = publisher.log();
    RequestOptions req = new RequestOptions().setMethod(HttpMethod.POST).setURI(uri.getRawPath())
      .putHeader("content-type", "application/json").setTimeout(30_000);
    context.runOnContext(v -> client.request(req)
      .compose(r -> r.send(body))
      .compose(resp -> resp.body().map(b -> resp.statusCode()))
      .onComplete(ar -> {
        if (ar.succeeded() && ar.result() == 202) {
          log.accepted(first, count, MicroClock.nowMicros());
        } else if (closing && ar.failed()) {
          // still unanswered when the run ended (the drain time ran out): left pending, not counted as refused
          return;
        } else {
          log.status(first, count, MessageLog.Status.FAILED);
          publisher.error(ar.succeeded() ? "HTTP " + ar.result() : ar.cause().getClass().getSimpleName()
            + ": " + ar.cause().getMessage());
        }
        done.run();
      }));
  }

  @Override
  public void close() {
    closing = true;
    try {
      client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // nothing left to do
    }
  }
}
