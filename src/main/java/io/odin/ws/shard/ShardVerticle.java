package io.odin.ws.shard;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.odin.ws.node.NodeContext;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.registry.ConnectionRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import io.vertx.core.internal.http.WebSocketInternal;
import io.vertx.core.net.SocketAddress;
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
  /** TCP connections not yet upgraded, with their handshake timer (ws.handshakeTimeoutMs). */
  private final Map<HttpConnection, Long> notUpgraded = new HashMap<>();
  private final HandshakeGate gate;
  /** Who a connection is for (?token= or a JWT), and its JWT refreshes: shared by the node's shards. */
  private final ClientAuthenticator clientAuth;
  /** Connections being closed by the server: still in {@code connections} until torn down, not counted in /health. */
  private int closingCount;

  private HttpServer server;
  private Runnable tlsWatch = () -> { };
  private MessageConsumer<ShardBatch> consumer;
  private long sweepTimer = -1;
  private int sweepCursor;
  private final Buffer pingPayload = Buffer.buffer();
  /** Ticks per ping interval; each pings one slice of the connections. */
  static final int SWEEP_SLICES = 10;
  private long writes;
  /** The dispatch path of the message being delivered (per-path metrics); null for broadcasts. */
  private DispatchPath currentPath;
  private boolean stopping;

  public ShardVerticle(NodeContext node, int index, ClientAuthenticator clientAuth) {
    this.node = node;
    this.index = index;
    this.address = node.shardAddress(index);
    this.settings = new ShardSettings(node.config());
    this.metrics = node.metrics();
    this.registry = node.registry();
    this.clientAuth = clientAuth;
    this.gate = new HandshakeGate(settings.path, node.connectionLimits(), clientAuth);
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
      .setStrictThreadMode(true)
      // HTTP/1.1 only: the connection handler then runs at TCP accept (with h2c on it would wait for the first
      // bytes), so the handshake timeout also covers a peer that sends nothing
      .setHttp2ClearTextEnabled(false);
    // the handshake is decided in the request handler, not a webSocketHandshakeHandler: only a request can
    // answer a refusal with a body saying why (ServerWebSocketHandshake.reject has a status and no body)
    TlsSettings.apply(node.config(), options);
    server = vertx.createHttpServer(options)
      .connectionHandler(this::onConnection)
      .requestHandler(this::onRequest);
    consumer = vertx.eventBus().consumer(address, this::onBatch);
    if (settings.pingIntervalMs > 0) {
      // the sweep is spread over the interval in slices, so 15,000 pings never stall the loop at once
      sweepTimer = vertx.setPeriodic(Math.max(1, settings.pingIntervalMs / SWEEP_SLICES), id -> sweep());
    }
    metrics.shardConnections(address, this::connections);
    registry.attachShard(address, context, this::registeredTokens);
    tlsWatch = TlsSettings.watch(vertx, server, node.config());
    return consumer.completion()
      .compose(v -> server.listen())
      .recover(t -> Future.failedFuture(ListenFailure.of(settings.host, settings.port, ShardSettings.PORT, t)))
      .onSuccess(s -> {
        node.directory().add(address);
        node.shardStatus(index, this);
        // the node says it listens once every listener is up (BootstrapVerticle)
        log.debug("shard {} bound {}:{}", address, settings.host, s.actualPort());
      });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    gate.stop();
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

  /** A TCP connection was accepted: it has {@code ws.handshakeTimeoutMs} to complete a WebSocket upgrade. */
  private void onConnection(HttpConnection connection) {
    long timer = vertx.setTimer(settings.handshakeTimeoutMs, id -> {
      if (notUpgraded.remove(connection) != null) {
        metrics.handshakeTimedOut();
        connection.close();
      }
    });
    notUpgraded.put(connection, timer);
    connection.closeHandler(v -> upgradedOrGone(connection));
  }

  private void upgradedOrGone(HttpConnection connection) {
    Long timer = notUpgraded.remove(connection);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }

  private void onRequest(HttpServerRequest request) {
    if (!request.headers().contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      onPlainRequest(request);
      return;
    }
    String clientAddress = addressOf(request.remoteAddress());
    HandshakeGate.Decision decision = gate.decide(request.path(), request.query(), clientAddress,
      request.getHeader(HttpHeaderNames.ORIGIN), request.getHeader(HttpHeaderNames.AUTHORIZATION));
    if (!decision.accepted()) {
      metrics.handshakeRefused(decision.label);
      refuse(request, decision.status, decision.reason);
      return;
    }
    String token = decision.token;
    // the request waits (paused) for the registration below; toWebSocket() resumes it
    request.pause();
    // a token's first connection here is registered before the handshake completes: once the client is
    // connected, every lookup on every node finds this shard (docs/registry.md)
    Future<Void> registered = connections.holds(token) ? Future.succeededFuture() : registry.register(token, address);
    opening.merge(token, 1, Integer::sum);
    registered.compose(v -> request.toWebSocket()).onComplete(ar -> {
      opening.computeIfPresent(token, (t, n) -> n > 1 ? n - 1 : null);
      if (ar.succeeded()) {
        upgradedOrGone(request.connection());
        onOpen(ar.result(), token, clientAddress, decision.expiresAtMillis);
      } else {
        gate.release(clientAddress);
        if (!connections.holds(token) && !opening.containsKey(token) && !stopping) {
          registry.unregister(token, address);
        }
      }
    });
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

  /** Answers a refused handshake with its status and reason, no upgrade, and closes the connection. */
  private static void refuse(HttpServerRequest request, int status, String reason) {
    request.response().setStatusCode(status)
      .putHeader(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
      .putHeader(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
      .end(reason + "\n")
      .onComplete(ar -> request.connection().close());
  }

  private static String addressOf(SocketAddress remote) {
    String host = remote == null ? null : remote.hostAddress();
    return host == null ? "" : host;
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

  private void onOpen(ServerWebSocket socket, String token, String clientAddress, long expiresAtMillis) {
    if (stopping) {
      gate.release(clientAddress);
      socket.close(CLOSE_GOING_AWAY, "server shutting down");
      return;
    }
    ClientConnection c = new ClientConnection(socket, token, clientAddress,
      new ClientFrames(settings.maxFrameBytes, settings.maxClientFramesPerSecond), System.currentTimeMillis());
    socket.setWriteQueueMaxSize(settings.writeQueueMaxBytes);
    // every frame, data or control, goes through ClientFrames: rate limit, reassembly, UTF-8 (1008, 1009, 1007)
    socket.frameHandler(frame -> onFrame(c, frame));
    socket.exceptionHandler(t -> onSocketError(c, t));
    socket.closeHandler(v -> onClosed(c));
    connections.add(token, c);
    metrics.connected();
    expireAt(c, expiresAtMillis);
  }

  /** Closes {@code c} with 4401 when its JWT expires; a later valid refresh moves the deadline. */
  private void expireAt(ClientConnection c, long expiresAtMillis) {
    vertx.cancelTimer(c.expiryTimer);
    c.expiryTimer = expiresAtMillis == Long.MAX_VALUE ? -1 : vertx.setTimer(Math.max(1, expiresAtMillis - System.currentTimeMillis()),
      id -> close(c, CLOSE_TOKEN_EXPIRED, "token expired", DisconnectReason.TOKEN_EXPIRED));
  }

  /** A client's refresh op: a valid JWT for the same token extends the connection; anything else is an error frame. */
  private byte[] refresh(ClientConnection c, String jwt) {
    ClientAuthenticator.Decision d = clientAuth.refresh(c.token, jwt);
    if (!d.accepted()) {
      return io.odin.ws.protocol.FrameEncoder.error(d.reason());
    }
    metrics.tokenRefreshed();
    expireAt(c, d.expiresAtMillis());
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
    } else {
      closingCount--;
      vertx.cancelTimer(c.closeTimer);
    }
    gate.release(c.address);
    if (connections.remove(c.token, c) && !stopping && !opening.containsKey(c.token)) {
      registry.unregister(c.token, address);
    }
  }

  private void onFrame(ClientConnection c, WebSocketFrame frame) {
    if (c.closing) {
      return;
    }
    long now = System.currentTimeMillis();
    c.lastHeardMillis = now;
    switch (c.frames.onFrame(frame.type(), frame.isFinal(), frame.binaryData(), now)) {
      case ClientFrames.TEXT:
        byte[] answer = ClientOps.answer(c.frames.text(), jwt -> refresh(c, jwt));
        if (ClientOps.isError(answer)) {
          metrics.clientError();
        }
        reply(c, answer);
        break;
      case ClientFrames.BINARY:
        metrics.clientError();
        reply(c, BINARY_NOT_SUPPORTED);
        break;
      case ClientFrames.CLOSE:
        short code = c.frames.closeCode();
        metrics.clientError();
        close(c, code, c.frames.closeReason(),
          code == ClientFrames.CLOSE_POLICY_VIOLATION ? DisconnectReason.FLOOD : DisconnectReason.ERROR);
        break;
      default:
        break;
    }
  }

  private static final byte[] BINARY_NOT_SUPPORTED = FrameEncoder.error("binary frames are not supported; send JSON text frames");

  /**
   * Answers a client frame through the same bounded write queue as deliveries: a client that sends and never
   * reads fills it and is closed like any slow client, instead of growing the queue without bound.
   */
  private void reply(ClientConnection c, byte[] frame) {
    if (c.socket.writeQueueFull()) {
      close(c, CLOSE_TRY_AGAIN_LATER, "slow client: replies were not read", DisconnectReason.SLOW_CLIENT);
      return;
    }
    write(c, frame);
  }

  private void onBatch(Message<ShardBatch> message) {
    long startNanos = System.nanoTime();
    long sentAtNanos = message.body().sentAtNanos();
    if (sentAtNanos != 0) {
      metrics.ingestStage(GatewayMetrics.IngestStage.SHARD, startNanos - sentAtNanos);
    }
    List<Envelope> envelopes = message.body().envelopes();
    long now = System.currentTimeMillis();
    writes = 0;
    long targetedPathWrites = 0;
    long broadcastPathWrites = 0;
    for (int i = 0, n = envelopes.size(); i < n; i++) {
      Envelope e = envelopes.get(i);
      currentPath = e.path();
      long writesBefore = writes;
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
        if (currentPath != null) {
          metrics.pathLatencyMillis(currentPath, now - e.publishedAtMillis());
          if (currentPath == DispatchPath.TARGETED) {
            targetedPathWrites += writes - writesBefore;
          } else {
            broadcastPathWrites += writes - writesBefore;
          }
        }
      }
    }
    currentPath = null;
    metrics.ingestStage(GatewayMetrics.IngestStage.WRITE, System.nanoTime() - startNanos);
    metrics.delivered(writes);
    metrics.pathDelivered(DispatchPath.TARGETED, targetedPathWrites);
    metrics.pathDelivered(DispatchPath.BROADCAST, broadcastPathWrites);
  }

  /** Writes one message to one socket, unless the socket is slow: then it is dropped and the socket closed. */
  private void deliver(ClientConnection c, byte[] frame) {
    if (c.closing) {
      // the server is closing this socket (slow, silent or misbehaving client, or shutdown): the message is
      // lost to a client the shard gave up on, not to a missing connection
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      return;
    }
    if (c.socket.writeQueueFull()) {
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      if (currentPath != null) {
        metrics.pathDropped(currentPath, GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      }
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
    long now = System.currentTimeMillis();
    if (c.closing) {
      // a backstop for the close timer: a closing socket never stays past its close timeout
      if (now - c.closingSinceMillis > settings.closeTimeoutMs) {
        tearDown(c);
      }
      return;
    }
    if (now - c.lastHeardMillis > settings.idleTimeoutMs) {
      close(c, CLOSE_PING_TIMEOUT, "ping timeout", DisconnectReason.PING_TIMEOUT);
    } else {
      c.socket.writePing(payload);
    }
  }

  /**
   * Closes a socket with {@code code}: the close frame is queued behind what the socket already has, and the
   * TCP connection is torn down {@code ws.closeTimeoutMs} later whatever the peer does (a slow client's close
   * frame may never leave its full queue). From now on the socket is not counted in /health.
   */
  private void close(ClientConnection c, short code, String reason, DisconnectReason counted) {
    if (!c.closing) {
      c.closing = true;
      c.closingSinceMillis = System.currentTimeMillis();
      closingCount++;
      metrics.disconnected(counted);
      c.socket.close(code, truncate(reason));
      c.closeTimer = vertx.setTimer(settings.closeTimeoutMs, id -> {
        c.closeTimer = -1;
        tearDown(c);
      });
    }
  }

  /** Closes the TCP connection of a closing socket that is still here; its close handler then removes it. */
  private void tearDown(ClientConnection c) {
    if (c.slot() >= 0) {
      metrics.closeTimedOut();
      // closing from Vert.x's handler context goes straight to the socket: channel().close() would pass through
      // Vert.x's handler, which queues the close behind the very writes that never drain
      ((WebSocketInternal) c.socket).channelHandlerContext().close();
    }
  }

  @Override
  public String address() {
    return address;
  }

  @Override
  public int connections() {
    return connections.size() - closingCount;
  }
}
