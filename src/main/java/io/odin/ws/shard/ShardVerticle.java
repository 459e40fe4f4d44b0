package io.odin.ws.shard;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.odin.ws.NodeContext;
import io.odin.ws.auth.ClientAuthenticator.Decision;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.registry.ConnectionRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * One shard: a WebSocket server instance on its own event loop (all shards of a node listen on one port and
 * Vert.x spreads accepted connections over them) plus the event-bus consumer at the shard's address. It owns
 * its sockets and writes to them only from its event loop.
 */
public final class ShardVerticle extends VerticleBase implements NodeContext.ShardStatus {

  private static final Logger log = LoggerFactory.getLogger(ShardVerticle.class);

  /** Close codes: standard ones, and 4408 (private range, after HTTP 408) for clients that stopped answering. */
  static final short CLOSE_GOING_AWAY = 1001;
  static final short CLOSE_TRY_AGAIN_LATER = 1013;
  static final short CLOSE_PING_TIMEOUT = 4408;
  /** 4401 (private range, after HTTP 401): the connection's JWT expired and no refresh came in time. */
  static final short CLOSE_TOKEN_EXPIRED = 4401;

  private final NodeContext node;
  private final int index;
  private final String address;
  private final ShardSettings settings;
  private final GatewayMetrics metrics;
  private final ConnectionRegistry registry;
  private final ShardConnections<ClientConnection> connections = new ShardConnections<>();
  private final BiConsumer<ClientConnection, byte[]> deliver = this::deliver;
  private final BiConsumer<ClientConnection, Buffer> ping = this::ping;
  /** Tokens with a handshake in progress here, registered before it completes: handshakes per token. */
  private final Map<String, Integer> opening = new HashMap<>();

  private HttpServer server;
  private Runnable tlsWatch = () -> { };
  private MessageConsumer<ShardBatch> consumer;
  private long sweepTimer = -1;
  private int sweepCursor;
  private final Buffer pingPayload = Buffer.buffer();
  /** Ticks per ping interval; each pings one slice of the connections. */
  static final int SWEEP_SLICES = 10;
  private long writes;
  private boolean stopping;

  public ShardVerticle(NodeContext node, int index) {
    this.node = node;
    this.index = index;
    this.address = node.shardAddress(index);
    this.settings = new ShardSettings(node.config());
    this.metrics = node.metrics();
    this.registry = node.registry();
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
      .setHost(settings.host)
      .setPort(settings.port)
      .setMaxWebSocketFrameSize(settings.maxFrameBytes)
      .setMaxWebSocketMessageSize(settings.maxFrameBytes)
      .setPerMessageWebSocketCompressionSupported(settings.compression)
      .setPerFrameWebSocketCompressionSupported(settings.compression)
      // no event-bus registration per socket: it would put per-connection state into the cluster registry
      .setRegisterWebSocketWriteHandlers(false)
      // a shard writes to its sockets only from its own event loop, so each connection can use single-thread
      // queues instead of two multi-producer queues (about 8 KiB of heap per connection, docs/benchmarks.md)
      .setStrictThreadMode(true);
    TlsSettings.apply(node.config(), options);
    server = vertx.createHttpServer(options)
      .webSocketHandshakeHandler(this::onHandshake)
      .requestHandler(this::onPlainRequest);
    consumer = vertx.eventBus().consumer(address, this::onBatch);
    if (settings.pingIntervalMs > 0) {
      // the sweep is spread over the interval in slices, so 15,000 pings never stall the loop at once
      sweepTimer = vertx.setPeriodic(Math.max(1, settings.pingIntervalMs / SWEEP_SLICES), id -> sweep());
    }
    metrics.shardConnections(address, connections::size);
    registry.attachShard(address, context, this::registeredTokens);
    tlsWatch = TlsSettings.watch(vertx, server, node.config());
    return consumer.completion()
      .compose(v -> server.listen())
      .onSuccess(s -> {
        node.directory().add(address);
        node.shardStatus(index, this);
        log.info("shard {} listening on {}:{}", address, settings.host, s.actualPort());
      });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    // routing first, so dispatchers stop sending here; then the sockets, which clients will reopen elsewhere
    node.directory().remove(address);
    node.shardStatus(index, null);
    vertx.cancelTimer(sweepTimer);
    tlsWatch.run();
    registry.removeShard(address);
    connections.forEach(null, (c, unused) -> close(c, CLOSE_GOING_AWAY, "server shutting down", DisconnectReason.SHUTDOWN));
    metrics.removeShard(address);
    Future<Void> unregistered = consumer != null ? consumer.unregister() : Future.succeededFuture();
    Future<Void> closed = server != null ? server.close() : Future.succeededFuture();
    return Future.join(unregistered, closed);
  }

  private void onPlainRequest(HttpServerRequest request) {
    if (settings.path.equals(request.path())) {
      request.response().setStatusCode(HttpResponseStatus.UPGRADE_REQUIRED.code())
        .putHeader("content-type", "text/plain")
        .end("WebSocket endpoint: connect with ws://HOST:PORT" + settings.path + "?token=TOKEN\n");
    } else {
      request.response().setStatusCode(404).end();
    }
  }

  private void onHandshake(ServerWebSocketHandshake handshake) {
    if (stopping) {
      handshake.reject(503);
      return;
    }
    if (!settings.path.equals(handshake.path())) {
      handshake.reject(404);
      return;
    }
    // who this is for: ?token= (auth.mode=none) or a verified JWT's claim, the origin allow-list (io.odin.ws.auth)
    Decision auth = node.clientAuth().handshake(handshake.headers().get("origin"),
      handshake.headers().get("authorization"), handshake.query());
    if (!auth.accepted()) {
      metrics.handshakeRefused(auth.status());
      handshake.reject(auth.status());
      return;
    }
    String token = auth.token();
    // a token's first connection here is registered before the handshake completes: once the client is
    // connected, every lookup on every node finds this shard (docs/registry.md)
    Future<Void> registered = connections.holds(token) ? Future.succeededFuture() : registry.register(token, address);
    opening.merge(token, 1, Integer::sum);
    registered.compose(v -> handshake.accept()).onComplete(ar -> {
      opening.computeIfPresent(token, (t, n) -> n > 1 ? n - 1 : null);
      if (ar.succeeded()) {
        onOpen(ar.result(), token, auth);
      } else if (!connections.holds(token) && !opening.containsKey(token) && !stopping) {
        registry.unregister(token, address);
      }
    });
  }

  /** What this shard has registered: the tokens it holds and those with a handshake in progress. */
  private List<String> registeredTokens() {
    List<String> tokens = connections.tokens();
    for (String token : opening.keySet()) {
      if (!connections.holds(token)) {
        tokens.add(token);
      }
    }
    return tokens;
  }

  private void onOpen(ServerWebSocket socket, String token, Decision auth) {
    if (stopping) {
      socket.close(CLOSE_GOING_AWAY, "server shutting down");
      return;
    }
    ClientConnection c = new ClientConnection(socket, token, System.currentTimeMillis());
    socket.setWriteQueueMaxSize(settings.writeQueueMaxBytes);
    socket.textMessageHandler(text -> onText(c, text));
    socket.binaryMessageHandler(bytes -> onBinary(c));
    socket.pongHandler(b -> c.lastHeardMillis = System.currentTimeMillis());
    socket.exceptionHandler(t -> onSocketError(c, t));
    socket.closeHandler(v -> onClosed(c));
    connections.add(token, c);
    metrics.connected();
    expireAt(c, auth);
  }

  /** Closes {@code c} with 4401 when its JWT expires; a later valid refresh moves the deadline. */
  private void expireAt(ClientConnection c, Decision auth) {
    vertx.cancelTimer(c.expiryTimer);
    c.expiryTimer = !auth.expires() ? -1 : vertx.setTimer(Math.max(1, auth.expiresAtMillis() - System.currentTimeMillis()),
      id -> close(c, CLOSE_TOKEN_EXPIRED, "token expired", DisconnectReason.TOKEN_EXPIRED));
  }

  /** A client's refresh op: a valid JWT for the same token extends the connection; anything else is an error frame. */
  private byte[] refresh(ClientConnection c, String jwt) {
    Decision d = node.clientAuth().refresh(c.token, jwt);
    if (!d.accepted()) {
      return io.odin.ws.protocol.FrameEncoder.error(d.reason());
    }
    metrics.tokenRefreshed();
    expireAt(c, d);
    return ClientOps.refreshed(d.expiresAtMillis());
  }

  private void onSocketError(ClientConnection c, Throwable t) {
    if (t instanceof CorruptedWebSocketFrameException) {
      // a frame over ws.maxFrameBytes (1009) or a protocol violation (1002): say so before closing
      WebSocketCloseStatus status = ((CorruptedWebSocketFrameException) t).closeStatus();
      metrics.clientError();
      close(c, (short) status.code(), truncate(t.getMessage()), DisconnectReason.ERROR);
    } else {
      log.debug("socket error on {}: {}", address, t.toString());
    }
  }

  private static String truncate(String reason) {
    // a close reason must fit in a control frame (123 bytes)
    return reason == null ? "" : reason.length() > 100 ? reason.substring(0, 100) : reason;
  }

  private void onClosed(ClientConnection c) {
    vertx.cancelTimer(c.expiryTimer);
    if (!c.closing) {
      metrics.disconnected(DisconnectReason.CLIENT);
    }
    if (connections.remove(c.token, c) && !stopping && !opening.containsKey(c.token)) {
      registry.unregister(c.token, address);
    }
  }

  private void onText(ClientConnection c, String text) {
    c.lastHeardMillis = System.currentTimeMillis();
    byte[] answer = ClientOps.answer(text, jwt -> refresh(c, jwt));
    if (ClientOps.isError(answer)) {
      metrics.clientError();
    }
    write(c, answer);
  }

  private void onBinary(ClientConnection c) {
    c.lastHeardMillis = System.currentTimeMillis();
    metrics.clientError();
    write(c, io.odin.ws.protocol.FrameEncoder.error("binary frames are not supported; send JSON text frames"));
  }

  private void onBatch(Message<ShardBatch> message) {
    List<Envelope> envelopes = message.body().envelopes();
    long now = System.currentTimeMillis();
    writes = 0;
    for (int i = 0, n = envelopes.size(); i < n; i++) {
      Envelope e = envelopes.get(i);
      int reached;
      if (e.isBroadcast()) {
        reached = connections.forEach(e.frame(), deliver);
      } else {
        reached = 0;
        String[] tokens = e.tokens();
        for (String token : tokens) {
          reached += connections.forEachOf(token, e.frame(), deliver);
        }
      }
      if (reached > 0) {
        metrics.deliveryLatencyMillis(now - e.publishedAtMillis());
      }
    }
    metrics.delivered(writes);
  }

  /** Writes one message to one socket, unless the socket is slow: then it is dropped and the socket closed. */
  private void deliver(ClientConnection c, byte[] frame) {
    if (c.closing) {
      // the socket is being closed: its client reconnects and is no longer reachable here
      metrics.dropped(GatewayMetrics.DropReason.NO_CONNECTION, 1);
      return;
    }
    if (c.socket.writeQueueFull()) {
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      close(c, CLOSE_TRY_AGAIN_LATER, "slow client: messages were dropped", DisconnectReason.SLOW_CLIENT);
      return;
    }
    write(c, frame);
    writes++;
  }

  private static void write(ClientConnection c, byte[] frame) {
    // the frame bytes are shared by every socket: wrapping them costs no copy and no encoding per socket
    c.socket.writeFrame(new WebSocketFrameImpl(WebSocketFrameType.TEXT, frame, true));
  }

  /** Pings one slice of the connections and closes those silent for longer than the idle timeout. */
  private void sweep() {
    int n = connections.size();
    if (n == 0) {
      return;
    }
    // each tick pings the next 1/SWEEP_SLICES of the connections: every one once per ping interval
    int count = (n + SWEEP_SLICES - 1) / SWEEP_SLICES;
    sweepCursor = connections.forEachIn(sweepCursor, count, pingPayload, ping);
  }


  private void ping(ClientConnection c, Buffer payload) {
    if (c.closing) {
      return;
    }
    if (System.currentTimeMillis() - c.lastHeardMillis > settings.idleTimeoutMs) {
      close(c, CLOSE_PING_TIMEOUT, "ping timeout", DisconnectReason.PING_TIMEOUT);
    } else {
      c.socket.writePing(payload);
    }
  }

  private void close(ClientConnection c, short code, String reason, DisconnectReason counted) {
    if (!c.closing) {
      c.closing = true;
      metrics.disconnected(counted);
      c.socket.close(code, reason);
    }
  }

  @Override
  public String address() {
    return address;
  }

  @Override
  public int connections() {
    return connections.size();
  }
}
