package io.odin.ws.shard;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.compression.ZlibCodecFactory;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.DeflateFrameServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.logging.RateLimitedLog;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.HistoryMetrics;
import io.odin.ws.metrics.HistoryMetrics.RecoveryResult;
import io.odin.ws.protocol.Cursor;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.node.NodeContext;
import io.odin.ws.protocol.DispatchPath;
import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.FrameEncoder;
import io.odin.ws.registry.ConnectionRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * One shard: the WebSocket connections the node's {@link ShardListener} hands to it, on its own event loop,
 * plus the event-bus consumer at the shard's address. Each connection is a Netty channel registered on the
 * shard's event loop, so the shard reads and writes it on its own thread: a connection needs no queue between
 * threads, and once upgraded its pipeline holds only the WebSocket frame decoder and encoder and its
 * {@link ClientConnection} (docs/benchmarks.md, "Where the memory goes").
 * <p>Each message frame carries the connection's cursor ({@code id}): where it stands in its token's stream and in
 * the broadcast stream. Each stream's messages are handed on strictly in order ({@link StreamOrder}); a connection
 * that reconnects with {@code since=} first gets {@code resumed}, then what it missed ({@link Replay}, read through
 * {@link HistoryReads}), then what arrived meanwhile, and only then goes live (docs/protocol.md, "Reconnecting
 * without loss").
 */
public final class ShardVerticle extends VerticleBase implements NodeContext.ShardStatus, ShardListener.Shard {

  private static final Logger log = LoggerFactory.getLogger(ShardVerticle.class);
  private final RateLimitedLog missedLog = new RateLimitedLog(log, 10_000);

  /** Close codes: standard ones, and 4408 (private range, after HTTP 408) for clients that stopped answering. */
  static final short CLOSE_GOING_AWAY = 1001;
  static final short CLOSE_TRY_AGAIN_LATER = 1013;
  static final short CLOSE_PING_TIMEOUT = 4408;
  /** 4401 (private range, after HTTP 401): the connection's JWT expired and no refresh came in time. */
  static final short CLOSE_TOKEN_EXPIRED = 4401;

  /** Compression level of permessage-deflate and deflate-frame (Netty's default). */
  private static final int DEFLATE_LEVEL = 6;

  /** HTTP limits before the upgrade: request line, headers (Vert.x's defaults, which the shards had before). */
  static final int MAX_INITIAL_LINE_BYTES = 4096;
  static final int MAX_HEADER_BYTES = 8192;

  private final NodeContext node;
  private final int index;
  private final String address;
  private final ShardSettings settings;
  private final GatewayMetrics metrics;
  private final ConnectionRegistry registry;
  private final ShardListener listener;
  private final ShardConnections<ClientConnection> connections = new ShardConnections<>();
  private final BiConsumer<ClientConnection, StreamMessage> deliver = this::deliver;
  private final HistorySettings historySettings;
  private final HistoryStore history;
  private final HistoryMetrics historyMetrics;
  /** Each held token's stream order, and the broadcast stream's: see {@link StreamOrder}. */
  private final Map<String, StreamOrder> tokenOrders = new HashMap<>();
  private final StreamOrder broadcastOrder = new StreamOrder();
  private final BroadcastCache broadcastCache;
  private HistoryReads reads;
  /** The stream and shared frame tail of the message being delivered (the deliver callback's context). */
  private String deliveringStream;
  private ByteBuf deliveringTail;
  /** Where a connection's cursor is encoded before it is copied into its frame (one event loop: one buffer). */
  private final byte[] cursorBytes = new byte[Cursor.MAX_LENGTH];
  /** Connections whose upgrade is not done: in {@code connections} (they collect their messages), not in /health. */
  private int pendingCount;
  private final BiConsumer<ClientConnection, Object> ping = this::ping;
  /** Tokens with a handshake in progress here, registered before it completes: handshakes per token. */
  private final Map<String, Integer> opening = new HashMap<>();
  private final HandshakeGate gate;
  /** Who a connection is for (?token= or a JWT), and its JWT refreshes: shared by the node's shards. */
  private final ClientAuthenticator clientAuth;
  private final WebSocketServerHandshakerFactory handshakers;
  private final WriteBufferWaterMark writeQueueBound;
  private final ChannelInitializer<Channel> initializer = new ChannelInitializer<>() {
    @Override
    protected void initChannel(Channel ch) {
      onAccepted(ch);
    }
  };
  /** Connections being closed by the server: still in {@code connections} until torn down, not counted in /health. */
  private int closingCount;
  /** Connections written to in the batch being delivered: flushed once each at its end. */
  private final ArrayList<ClientConnection> toFlush = new ArrayList<>();

  private ContextInternal ctx;
  private EventLoop eventLoop;
  private MessageConsumer<ShardBatch> consumer;
  private long sweepTimer = -1;
  private int sweepCursor;
  private PingSchedule pingSchedule;
  private long writes;
  /** When the batch being delivered arrived (delivery latency). */
  private long deliveryNow;
  /** The dispatch path of the message being delivered (per-path metrics); null for broadcasts. */
  private DispatchPath currentPath;
  private boolean stopping;

  public ShardVerticle(NodeContext node, int index, ClientAuthenticator clientAuth, ShardListener listener) {
    this.node = node;
    this.index = index;
    this.address = node.shardAddress(index);
    this.settings = new ShardSettings(node.config());
    this.metrics = node.metrics();
    this.registry = node.registry();
    this.history = registry.history();
    this.historySettings = new HistorySettings(node.config());
    this.historyMetrics = metrics.history();
    this.broadcastCache = new BroadcastCache(historySettings.size);
    this.clientAuth = clientAuth;
    this.listener = listener;
    this.gate = new HandshakeGate(settings.path, node.connectionLimits(), clientAuth, node::started);
    // no extensions unless ws.compression; frames over ws.maxFrameBytes fail the decoder (1009, closed below);
    // text is checked as UTF-8 by ClientFrames (1007), not by a validator per connection
    this.handshakers = new WebSocketServerHandshakerFactory(settings.path, null, WebSocketDecoderConfig.newBuilder()
      .maxFramePayloadLength(settings.maxFrameBytes)
      .allowExtensions(settings.compression)
      .expectMaskedFrames(true)
      .allowMaskMismatch(false)
      .closeOnProtocolViolation(false)
      .withUTF8Validator(false)
      .build());
    this.writeQueueBound = new WriteBufferWaterMark(Math.max(1, settings.writeQueueMaxBytes / 2), settings.writeQueueMaxBytes);
  }

  /**
   * Loads every class a connection's life needs, by running one handshake and a few frames through an embedded
   * channel: at the open-file limit a class loaded on the first accept could not be read from the jar.
   */
  private void preloadConnectionClasses() {
    io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(
      new HttpServerCodec(MAX_INITIAL_LINE_BYTES, MAX_HEADER_BYTES, 8192));
    try {
      DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, settings.path,
        Unpooled.EMPTY_BUFFER);
      request.headers().set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
        .set(HttpHeaderNames.SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
      handshakers.newHandshaker(request).handshake(ch, request);
      ch.writeOutbound(new TextWebSocketFrame("{}"), new PingWebSocketFrame(), new PongWebSocketFrame(),
        new CloseWebSocketFrame(CLOSE_GOING_AWAY, "x"), WireFrames.PING.duplicate());
      respond(ch, HttpResponseStatus.NOT_FOUND, "", false);
      new ClientFrames(settings.maxFrameBytes, settings.maxClientFramesPerSecond)
        .onFrame(WebSocketFrameType.TEXT, true, Buffer.buffer("{}"), 0);
      ClientOps.answer("{\"op\":\"ping\"}", jwt -> null);
      Class.forName(Handshake.class.getName());
      Class.forName(ClientConnection.class.getName());
    } catch (Exception e) {
      log.debug("preloading the connection classes: {}", e.toString());
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  @Override
  public Future<?> start() {
    preloadConnectionClasses();
    ctx = (ContextInternal) context;
    eventLoop = ctx.nettyEventLoop();
    reads = new HistoryReads(history, task -> ctx.runOnContext(v -> task.run()));
    consumer = vertx.eventBus().consumer(address, this::onBatch);
    if (settings.pingIntervalMs > 0) {
      // the sweep is spread over the interval in small slices, so pings never stall the shard's deliveries
      pingSchedule = new PingSchedule(settings.pingIntervalMs);
      sweepTimer = vertx.setPeriodic(pingSchedule.tickMs(), id -> sweep());
    }
    metrics.shardConnections(address, this::connections);
    registry.attachShard(address, context, this::registeredTokens);
    return consumer.completion()
      .compose(v -> listener.join(this))
      .recover(t -> Future.failedFuture(ListenFailure.of(settings.host, settings.port, ShardSettings.PORT, t)))
      .onSuccess(port -> {
        node.directory().add(address);
        node.shardStatus(index, this);
        // the node says it listens once every listener is up (BootstrapVerticle)
        log.debug("shard {} bound {}:{}", address, settings.host, port);
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
    registry.removeShard(address);
    Future<Void> left = listener.leave(this);
    List<Future<Void>> closed = new ArrayList<>();
    connections.forEach(null, (c, unused) -> {
      close(c, CLOSE_GOING_AWAY, "server shutting down", DisconnectReason.SHUTDOWN);
      // at shutdown the TCP connection goes as soon as the close frame is out (or at the close timeout)
      Promise<Void> gone = Promise.promise();
      c.channel.closeFuture().addListener(f -> gone.complete());
      closed.add(gone.future());
    });
    metrics.removeShard(address);
    Future<Void> unregistered = consumer != null ? consumer.unregister() : Future.succeededFuture();
    return Future.join(unregistered, left, Future.join(closed));
  }

  @Override
  public EventLoop eventLoop() {
    return eventLoop;
  }

  @Override
  public ChannelInitializer<Channel> initializer() {
    return initializer;
  }

  @Override
  public WriteBufferWaterMark writeQueueBound() {
    return writeQueueBound;
  }

  /** A TCP connection was accepted onto this shard's loop: HTTP until its upgrade, within ws.handshakeTimeoutMs. */
  private void onAccepted(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    SslHandler ssl = listener.newSslHandler(ch);
    if (ssl != null) {
      p.addLast("ssl", ssl);
    }
    p.addLast("http", new HttpServerCodec(MAX_INITIAL_LINE_BYTES, MAX_HEADER_BYTES, 8192));
    if (settings.compression) {
      // inflation stops at ws.maxFrameBytes (Netty's maxAllocation): a frame under the limit on the wire can
      // inflate a thousandfold, and it used to be inflated whole before the limit was checked (issue 33)
      p.addLast("wsext", new WebSocketServerExtensionHandler(
        new PerMessageDeflateServerExtensionHandshaker(DEFLATE_LEVEL, ZlibCodecFactory.isSupportingWindowSizeAndMemLevel(),
          PerMessageDeflateServerExtensionHandshaker.MAX_WINDOW_SIZE, false, false, settings.maxFrameBytes),
        new DeflateFrameServerExtensionHandshaker(DEFLATE_LEVEL, settings.maxFrameBytes)));
    }
    p.addLast("handshake", new Handshake(ch));
  }

  /**
   * The HTTP side of one connection until it is upgraded: answers plain requests (426 on the path, 404
   * elsewhere), decides upgrades with {@link HandshakeGate}, and closes the connection if no upgrade completed
   * within ws.handshakeTimeoutMs. Removed from the pipeline at the upgrade, with everything it held.
   */
  private final class Handshake extends ChannelInboundHandlerAdapter {
    private final Channel ch;
    private final ScheduledFuture<?> timer;
    private boolean upgrading;

    Handshake(Channel ch) {
      this.ch = ch;
      this.timer = ch.eventLoop().schedule(this::timedOut, settings.handshakeTimeoutMs, TimeUnit.MILLISECONDS);
    }

    private void timedOut() {
      if (ch.isActive() && ch.pipeline().get(Handshake.class) == this) {
        metrics.handshakeTimedOut();
        ch.close();
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext hctx, Object msg) {
      try {
        if (!(msg instanceof HttpRequest) || upgrading) {
          // a request's body, or anything after an upgrade request: not read
          return;
        }
        HttpRequest request = (HttpRequest) msg;
        ContextInternal prev = ctx.beginDispatch();
        try {
          onRequest(this, request);
        } finally {
          ctx.endDispatch(prev);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext hctx) {
      timer.cancel(false);
      hctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext hctx, Throwable cause) {
      log.debug("before the upgrade on {}: {}", address, cause.toString());
      hctx.close();
    }
  }

  private void onRequest(Handshake h, HttpRequest request) {
    Channel ch = h.ch;
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      HttpResponseStatus status = cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
        : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
        : HttpResponseStatus.BAD_REQUEST;
      respond(ch, status, status.reasonPhrase() + "\n", false);
      return;
    }
    String uri = request.uri();
    String path = pathOf(uri);
    int q = uri.indexOf('?');
    String query = q < 0 ? null : uri.substring(q + 1);
    if (!request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      onPlainRequest(ch, request, path);
      return;
    }
    if (request.method() != HttpMethod.GET || !request.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)
      || !request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      respond(ch, HttpResponseStatus.BAD_REQUEST, "not a WebSocket handshake\n", false);
      return;
    }
    WebSocketServerHandshaker handshaker = handshakers.newHandshaker(request);
    if (handshaker == null) {
      // 426 with Sec-WebSocket-Version: 13
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ch).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    String clientAddress = addressOf(ch.remoteAddress());
    HandshakeGate.Decision decision = gate.decide(path, query, clientAddress,
      request.headers().get(HttpHeaderNames.ORIGIN), request.headers().get(HttpHeaderNames.AUTHORIZATION));
    if (!decision.accepted()) {
      metrics.handshakeRefused(decision.label);
      respond(ch, HttpResponseStatus.valueOf(decision.status), decision.reason + "\n", false, decision.retryAfterSeconds);
      return;
    }
    String token = decision.token;
    String since = ClientAuthenticator.queryParam(query, "since");
    // nothing more is read until the upgrade: the client waits for its 101
    h.upgrading = true;
    ch.config().setAutoRead(false);
    DefaultFullHttpRequest upgrade = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), uri,
      Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE);
    // a token's first connection here is registered before the handshake completes: once the client is
    // connected, every lookup on every node finds this shard (docs/registry.md); the registration answers where the
    // token's and the broadcast stream stood then, the connection's first cursor
    Future<Registered> registered = connections.holds(token) ? Future.succeededFuture(null) : registry.register(token, address);
    opening.merge(token, 1, Integer::sum);
    // the token's stream order from now on: what is routed here before the connection joins moves it on (nobody to
    // hand it to), so the connection starts after it and its replay, if any, covers it
    tokenOrders.computeIfAbsent(token, t -> new StreamOrder());
    registered.onComplete(ar -> {
      if (ar.succeeded() && ch.isActive() && !stopping) {
        ClientConnection c = join(ch, token, clientAddress, ar.result(), since);
        try {
          handshaker.handshake(ch, upgrade).addListener(f -> onUpgraded(h, c, f.isSuccess(), token, clientAddress, decision.expiresAtMillis));
          return;
        } catch (RuntimeException e) {
          log.debug("handshake failed on {}: {}", address, e.toString());
          respond(ch, HttpResponseStatus.BAD_REQUEST, "not a WebSocket handshake\n", false);
          onUpgraded(h, c, false, token, clientAddress, decision.expiresAtMillis);
          return;
        }
      }
      if (ar.succeeded() && ch.isActive()) {
        // shutting down meanwhile
        respond(ch, HttpResponseStatus.SERVICE_UNAVAILABLE, "server shutting down\n", false);
      } else if (ar.failed()) {
        log.debug("registration of a handshake failed on {}: {}", address, ar.cause().toString());
        ch.close();
      }
      onUpgraded(h, null, false, token, clientAddress, decision.expiresAtMillis);
    });
  }

  /**
   * A handshake whose registration is done: its connection joins the token's connections at once, before the
   * upgrade completes, so that no message routed here after the registration passes it by (it collects them until it
   * is open). Its cursor starts where the shard's streams stand (or, for the token's first connection, where the
   * registration found them); with {@code since=} it recovers from there.
   */
  private ClientConnection join(Channel ch, String token, String clientAddress, Registered registered, String since) {
    ClientConnection c = new ClientConnection(this, ch, token, clientAddress, System.currentTimeMillis());
    c.backlog = new java.util.ArrayDeque<>(4);
    StreamOrder tokenOrder = tokenOrders.computeIfAbsent(token, t -> new StreamOrder());
    if (registered != null) {
      if (!connections.holds(token)) {
        // nobody here has the token's messages yet: what the store held at the registration is before this
        // connection (or in its replay), and every later message is routed here
        tokenOrder.advanceTo(registered.token());
      }
      broadcastOrder.start(registered.broadcast());
    }
    StreamPosition t = tokenOrder.last();
    StreamPosition b = broadcastOrder.last();
    c.tokenEpoch = t.epoch();
    c.tokenSeq = t.seq();
    c.broadcastEpoch = b.epoch();
    c.broadcastSeq = b.seq();
    connections.add(token, c);
    pendingCount++;
    if (since != null) {
      recover(c, since, registered != null ? registered.broadcast() : StreamPosition.UNKNOWN);
    }
    return c;
  }

  /** The end of an accepted handshake: an open socket, or its capacity slot and registration given back. */
  private void onUpgraded(Handshake h, ClientConnection c, boolean upgraded, String token, String clientAddress,
                          long expiresAtMillis) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      opening.computeIfPresent(token, (t, n) -> n > 1 ? n - 1 : null);
      Channel ch = h.ch;
      if (upgraded && c != null && ch.isActive() && !stopping) {
        h.timer.cancel(false);
        onOpen(h, c, expiresAtMillis);
        return;
      }
      if (upgraded) {
        // upgraded, then closed by the client or the shutdown before it was added
        ch.writeAndFlush(new CloseWebSocketFrame(CLOSE_GOING_AWAY, "server shutting down")).addListener(ChannelFutureListener.CLOSE);
      }
      gate.release(clientAddress, token);
      if (c != null) {
        pendingCount--;
        c.closing = true;
        connections.remove(token, c);
      }
      if (!connections.holds(token) && !opening.containsKey(token)) {
        forgetToken(token);
        if (!stopping) {
          registry.unregister(token, address);
        }
      }
    } finally {
      ctx.endDispatch(prev);
    }
  }

  private void onOpen(Handshake h, ClientConnection c, long expiresAtMillis) {
    Channel ch = h.ch;
    // the HTTP handler goes, with the request it saw: the socket's pipeline is the frame codec and c
    ch.pipeline().replace(h, "ws", c);
    c.opened = true;
    pendingCount--;
    metrics.connected();
    expireAt(c, expiresAtMillis);
    ch.config().setAutoRead(true);
    advance(c);
  }

  /** A token's last connection here is gone: its stream order with it. */
  private void forgetToken(String token) {
    StreamOrder order = tokenOrders.remove(token);
    if (order != null && order.timer >= 0) {
      vertx.cancelTimer(order.timer);
    }
  }

  private void onPlainRequest(Channel ch, HttpRequest request, String path) {
    if (settings.path.equals(path)) {
      respond(ch, HttpResponseStatus.UPGRADE_REQUIRED,
        "WebSocket endpoint: connect with ws://HOST:PORT" + settings.path + "?token=TOKEN\n", HttpUtil.isKeepAlive(request));
    } else {
      respond(ch, HttpResponseStatus.NOT_FOUND, "", HttpUtil.isKeepAlive(request));
    }
  }

  /**
   * Answers a request that is not upgraded with {@code status} and a text body; a refused handshake (keepAlive
   * false) gets {@code Connection: close} and the connection is closed once the answer is out.
   */
  private static void respond(Channel ch, HttpResponseStatus status, String body, boolean keepAlive) {
    respond(ch, status, body, keepAlive, 0);
  }

  /** The same, with {@code Retry-After} when {@code retryAfterSeconds} is above 0 (ws.maxHandshakesPerSecond). */
  private static void respond(Channel ch, HttpResponseStatus status, String body, boolean keepAlive, long retryAfterSeconds) {
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
      Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    if (retryAfterSeconds > 0) {
      response.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
    }
    if (!body.isEmpty()) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    if (!keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ch.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    } else {
      ch.writeAndFlush(response);
    }
  }

  /** The path of a request URI (origin form, or absolute form {@code http://host/path?query}). */
  static String pathOf(String uri) {
    int start = 0;
    int scheme = uri.indexOf("://");
    if (scheme > 0 && uri.indexOf('/') > scheme) {
      int slash = uri.indexOf('/', scheme + 3);
      if (slash < 0) {
        return "/";
      }
      start = slash;
    }
    int end = uri.length();
    for (int i = start; i < uri.length(); i++) {
      char ch = uri.charAt(i);
      if (ch == '?' || ch == '#') {
        end = i;
        break;
      }
    }
    return uri.substring(start, end);
  }

  private static String addressOf(SocketAddress remote) {
    if (remote instanceof InetSocketAddress) {
      InetSocketAddress inet = (InetSocketAddress) remote;
      return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
    }
    return "";
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

  /** Closes {@code c} with 4401 when its JWT expires; a later valid refresh moves the deadline. */
  private void expireAt(ClientConnection c, long expiresAtMillis) {
    if (c.expiryTimer >= 0) {
      ctx.owner().cancelTimer(c.expiryTimer);
    }
    c.expiryTimer = expiresAtMillis == Long.MAX_VALUE ? -1 : ctx.setTimer(Math.max(1, expiresAtMillis - System.currentTimeMillis()),
      id -> close(c, CLOSE_TOKEN_EXPIRED, "token expired", DisconnectReason.TOKEN_EXPIRED));
  }

  /** A client's refresh op: a valid JWT for the same token extends the connection; anything else is an error frame. */
  private byte[] refresh(ClientConnection c, String jwt) {
    ClientAuthenticator.Decision d = clientAuth.refresh(c.token, jwt);
    if (!d.accepted()) {
      return FrameEncoder.error(d.reason());
    }
    metrics.tokenRefreshed();
    expireAt(c, d.expiresAtMillis());
    return ClientOps.refreshed(d.expiresAtMillis());
  }

  void onSocketError(ClientConnection c, Throwable t) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      if (t instanceof CorruptedWebSocketFrameException) {
        // a frame over ws.maxFrameBytes (1009) or a protocol violation (1002): say so before closing
        WebSocketCloseStatus status = ((CorruptedWebSocketFrameException) t).closeStatus();
        metrics.clientError();
        close(c, (short) status.code(), truncate(t.getMessage()), DisconnectReason.ERROR);
      } else if (t instanceof DecoderException && !(t.getCause() instanceof javax.net.ssl.SSLException)) {
        // the deflate extension's decoder (TLS errors close the connection by themselves): a frame that inflates
        // past ws.maxFrameBytes (1009), or bad deflate data
        Throwable inflate = t instanceof DecompressionException ? t : t.getCause();
        boolean tooBig = inflate instanceof DecompressionException && String.valueOf(inflate.getMessage()).contains("maximum size");
        metrics.clientError();
        close(c, tooBig ? ClientFrames.CLOSE_TOO_BIG : ClientFrames.CLOSE_PROTOCOL_ERROR,
          tooBig ? "message larger than " + settings.maxFrameBytes + " bytes when inflated" : "invalid compressed data",
          DisconnectReason.ERROR);
      } else {
        log.debug("socket error on {}: {}", address, t.toString());
      }
    } finally {
      ctx.endDispatch(prev);
    }
  }

  private static String truncate(String reason) {
    // a close reason must fit in a control frame (123 bytes)
    return reason == null ? "" : reason.length() > 100 ? reason.substring(0, 100) : reason;
  }

  void onClosed(ClientConnection c) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      if (c.expiryTimer >= 0) {
        ctx.owner().cancelTimer(c.expiryTimer);
      }
      if (!c.closing) {
        metrics.disconnected(DisconnectReason.CLIENT);
      } else {
        closingCount--;
        if (c.closeTimer >= 0) {
          ctx.owner().cancelTimer(c.closeTimer);
        }
      }
      gate.release(c.address, c.token);
      if (connections.remove(c.token, c) && !opening.containsKey(c.token)) {
        forgetToken(c.token);
        if (!stopping) {
          registry.unregister(c.token, address);
        }
      }
    } finally {
      ctx.endDispatch(prev);
    }
  }

  void onFrame(ClientConnection c, WebSocketFrame frame) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      onFrameInContext(c, frame);
    } finally {
      ctx.endDispatch(prev);
    }
  }

  private void onFrameInContext(ClientConnection c, WebSocketFrame frame) {
    if (frame instanceof CloseWebSocketFrame) {
      if (c.closing) {
        // the client's answer to the server's close frame: the closing handshake is complete
        c.channel.close();
        return;
      }
    }
    if (c.closing) {
      return;
    }
    long now = System.currentTimeMillis();
    c.lastHeardMillis = now;
    if (frame instanceof PongWebSocketFrame && c.pingOutstanding) {
      // the answer to the server's ping: it only keeps the connection alive. Unsolicited pongs count as frames
      c.pingOutstanding = false;
      return;
    }
    if (c.frames == null) {
      c.frames = new ClientFrames(settings.maxFrameBytes, settings.maxClientFramesPerSecond);
    }
    ByteBuf content = frame.content();
    Buffer data = Buffer.buffer(ByteBufUtil.getBytes(content));
    switch (c.frames.onFrame(typeOf(frame), frame.isFinalFragment(), data, now)) {
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
        if (frame instanceof PingWebSocketFrame) {
          c.channel.writeAndFlush(new PongWebSocketFrame(content.retain()), c.channel.voidPromise());
        } else if (frame instanceof CloseWebSocketFrame) {
          // the client closes: its close frame is echoed and the TCP connection closed once that is out
          int status = ((CloseWebSocketFrame) frame).statusCode();
          CloseWebSocketFrame echo = status < 0 ? new CloseWebSocketFrame(true, 0) : new CloseWebSocketFrame(status, null);
          c.channel.writeAndFlush(echo).addListener(ChannelFutureListener.CLOSE);
        }
        break;
    }
  }

  private static WebSocketFrameType typeOf(WebSocketFrame frame) {
    if (frame instanceof TextWebSocketFrame) {
      return WebSocketFrameType.TEXT;
    }
    if (frame instanceof BinaryWebSocketFrame) {
      return WebSocketFrameType.BINARY;
    }
    if (frame instanceof ContinuationWebSocketFrame) {
      return WebSocketFrameType.CONTINUATION;
    }
    if (frame instanceof PingWebSocketFrame) {
      return WebSocketFrameType.PING;
    }
    if (frame instanceof PongWebSocketFrame) {
      return WebSocketFrameType.PONG;
    }
    return WebSocketFrameType.CLOSE;
  }

  private static final byte[] BINARY_NOT_SUPPORTED = FrameEncoder.error("binary frames are not supported; send JSON text frames");

  /**
   * Answers a client frame through the same bounded write queue as deliveries: a client that sends and never
   * reads fills it and is closed like any slow client, instead of growing the queue without bound.
   */
  private void reply(ClientConnection c, byte[] frame) {
    if (!c.channel.isWritable()) {
      close(c, CLOSE_TRY_AGAIN_LATER, "slow client: replies were not read", DisconnectReason.SLOW_CLIENT);
      return;
    }
    c.channel.writeAndFlush(new TextWebSocketFrame(Unpooled.wrappedBuffer(frame)), c.channel.voidPromise());
  }

  private void onBatch(Message<ShardBatch> message) {
    long startNanos = System.nanoTime();
    long sentAtNanos = message.body().sentAtNanos();
    if (sentAtNanos != 0) {
      metrics.ingestStage(GatewayMetrics.IngestStage.SHARD, startNanos - sentAtNanos);
    }
    List<Envelope> envelopes = message.body().envelopes();
    deliveryNow = System.currentTimeMillis();
    try {
      for (int i = 0, n = envelopes.size(); i < n; i++) {
        Envelope e = envelopes.get(i);
        if (e.isBroadcast()) {
          offer(Streams.BROADCAST, null, broadcastOrder, StreamMessage.of(e, 0));
        } else {
          String[] tokens = e.tokens();
          for (int t = 0; t < tokens.length; t++) {
            StreamOrder order = tokenOrders.get(tokens[t]);
            if (order != null) {
              offer(Streams.token(tokens[t]), tokens[t], order, StreamMessage.of(e, t));
            }
          }
        }
      }
    } finally {
      flushWritten();
    }
    metrics.ingestStage(GatewayMetrics.IngestStage.WRITE, System.nanoTime() - startNanos);
  }

  /** One flush per socket per batch, however many of its messages the batch had. */
  private void flushWritten() {
    for (int i = 0, n = toFlush.size(); i < n; i++) {
      ClientConnection c = toFlush.get(i);
      c.flushPending = false;
      c.channel.flush();
    }
    toFlush.clear();
  }

  /** A message of {@code stream} (a token's, whose token is {@code token}, or the broadcasts' with null) arrived. */
  private void offer(String stream, String token, StreamOrder order, StreamMessage m) {
    List<StreamMessage> ready = order.offer(m);
    if (ready == StreamOrder.DUPLICATE) {
      historyMetrics.duplicate();
      return;
    }
    for (int i = 0, n = ready.size(); i < n; i++) {
      handOn(stream, token, ready.get(i));
    }
    if (order.waiting()) {
      if (token == null && connections.size() == 0) {
        // a gap in the broadcasts of a shard nobody is connected to: nothing to wait for, nobody to read it for
        for (StreamMessage later : order.skip()) {
          handOn(stream, null, later);
        }
      } else {
        awaitGap(stream, token, order);
      }
    }
  }

  /** Writes a stream's next message to every connection of the stream (or its backlog), in the stream's order. */
  private void handOn(String stream, String token, StreamMessage m) {
    Envelope e = m.envelope;
    currentPath = e != null ? e.path() : null;
    long writesBefore = writes;
    // the message's frame after its id, encoded once for every socket it goes to
    deliveringTail = settings.compression ? Unpooled.wrappedBuffer(m.frame, 1, m.frame.length - 1)
      : WireFrames.messageTail(alloc(), m.frame);
    deliveringStream = stream;
    int reached;
    try {
      reached = token == null ? connections.forEach(m, deliver) : connections.forEachOf(token, m, deliver);
    } finally {
      deliveringTail.release();
      deliveringTail = null;
    }
    if (token == null) {
      broadcastCache.add(m);
    }
    long written = writes - writesBefore;
    metrics.delivered(written);
    if (e == null) {
      historyMetrics.replayed(written);
    } else if (reached > 0) {
      metrics.deliveryLatencyMillis(deliveryNow - e.publishedAtMillis());
      if (currentPath != null) {
        metrics.pathLatencyMillis(currentPath, deliveryNow - e.publishedAtMillis());
        metrics.pathDelivered(currentPath, written);
      }
    }
    currentPath = null;
  }

  private io.netty.buffer.ByteBufAllocator alloc() {
    return io.netty.buffer.PooledByteBufAllocator.DEFAULT;
  }

  /**
   * Delivers one message of {@link #deliveringStream} to one socket: written when the socket is live, else kept in
   * its backlog (behind its handshake or its replay). A live socket that is slow loses it and is closed.
   */
  private void deliver(ClientConnection c, StreamMessage m) {
    if (c.closing) {
      // the server is closing this socket (slow, silent or misbehaving client, or shutdown): the message is
      // lost to a client the shard gave up on, not to a missing connection
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      return;
    }
    if (!c.live) {
      if (c.backlog.size() >= historySettings.maxReplay) {
        // it cannot keep up while it catches up: a slow client (it will recover from its cursor)
        metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
        close(c, CLOSE_TRY_AGAIN_LATER, "slow client: too many messages while catching up", DisconnectReason.SLOW_CLIENT);
        if (c.recovering || c.replay != null) {
          historyMetrics.recovery(RecoveryResult.ABORTED);
        }
        return;
      }
      c.backlog.addLast(new Replay.Item(deliveringStream, m));
      return;
    }
    if (!c.channel.isWritable() && c.flushPending) {
      // the bound is on what the socket has not taken yet: hand it what this batch queued so far, then look again
      c.channel.flush();
    }
    if (!c.channel.isWritable()) {
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      if (currentPath != null) {
        metrics.pathDropped(currentPath, GatewayMetrics.DropReason.SLOW_CLIENT, 1);
      }
      close(c, CLOSE_TRY_AGAIN_LATER, "slow client: messages were dropped", DisconnectReason.SLOW_CLIENT);
      return;
    }
    if (write(c, deliveringStream, m, deliveringTail) && !c.flushPending) {
      c.flushPending = true;
      toFlush.add(c);
    }
  }

  /**
   * Writes {@code m} of {@code stream} to {@code c} with the cursor it has after it, unless {@code c} already had it
   * (a replay and the messages that arrived meanwhile overlap). {@code tail}: the message's shared tail
   * ({@link WireFrames#messageTail}), not released here. Not flushed: a batch flushes each socket it wrote to once at its
   * end ({@link #deliver}), a connection catching up flushes itself ({@link #advance}), so that no closed connection
   * waits in {@link #toFlush} for a batch that may not come (it held closed sockets until the next message; issue 29).
   *
   * @return false when it was not written (a duplicate)
   */
  private boolean write(ClientConnection c, String stream, StreamMessage m, ByteBuf tail) {
    boolean broadcast = Streams.BROADCAST.equals(stream);
    if (!m.stored()) {
      // a message the store does not have: the cursor can no longer be recovered from (epoch 0)
      if (broadcast) {
        c.broadcastEpoch = 0;
        c.broadcastSeq = 0;
      } else {
        c.tokenEpoch = 0;
        c.tokenSeq = 0;
      }
    } else if (!m.late) {
      long epoch = broadcast ? c.broadcastEpoch : c.tokenEpoch;
      long seq = broadcast ? c.broadcastSeq : c.tokenSeq;
      if (epoch == m.epoch && m.seq <= seq) {
        historyMetrics.duplicate();
        return false;
      }
      // the cursor says the connection has every message of the stream up to it: it moves on only to the message
      // that follows it (the next of its epoch, or the first of a new one)
      if (epoch == m.epoch ? m.seq == seq + 1 : m.seq == 1) {
        if (broadcast) {
          c.broadcastEpoch = m.epoch;
          c.broadcastSeq = m.seq;
        } else {
          c.tokenEpoch = m.epoch;
          c.tokenSeq = m.seq;
        }
      } else if (epoch != 0) {
        // messages between the cursor and this one never reached the connection: written after them, it would
        // claim them. Closed instead; it reconnects with its cursor, and the replay brings them (or says it cannot)
        missed(c, broadcast);
        return false;
      }
      // else the position is unknown (the connection joined, or went on after an unstored message, where the stream's
      // position was not known): it stays unknown, since what came before this message may never have reached it
    }
    int n = Cursor.write(cursorBytes, 0, c.tokenEpoch, c.tokenSeq, c.broadcastEpoch, c.broadcastSeq);
    ByteBuf head = WireFrames.messageHead(alloc(), cursorBytes, n, m.frame.length, !settings.compression);
    if (settings.compression) {
      c.channel.write(new TextWebSocketFrame(Unpooled.wrappedBuffer(head, tail.retainedDuplicate())), c.channel.voidPromise());
    } else {
      c.channel.write(head, c.channel.voidPromise());
      c.channel.write(tail.retainedDuplicate(), c.channel.voidPromise());
    }
    writes++;
    return true;
  }

  /**
   * A message that does not follow the connection's cursor: the ones between never reached it (routed elsewhere, or
   * lost on the way). Closed with 1013 like a stream's lost gap ({@link #lostGap}).
   */
  private void missed(ClientConnection c, boolean broadcast) {
    historyMetrics.gap(HistoryMetrics.GapResult.LOST);
    missedLog.warn("missed", "shard {}: a connection missed messages of its {} stream (they never reached this shard):"
      + " closed with 1013 so that it recovers them", address, broadcast ? "broadcast" : "token's");
    close(c, CLOSE_TRY_AGAIN_LATER, "missed messages: reconnect with since= to recover", DisconnectReason.SLOW_CLIENT);
  }

  // ------------------------------------------------------------------ gaps

  /** A stream has a message waiting for earlier ones: wait {@code history.gapWaitMs} for them, then read them. */
  private void awaitGap(String stream, String token, StreamOrder order) {
    if (order.timer >= 0 || order.reading) {
      return;
    }
    order.timer = vertx.setTimer(historySettings.gapWaitMillis, id -> {
      order.timer = -1;
      if (!isCurrent(token, order)) {
        return;
      }
      if (!order.waiting()) {
        historyMetrics.gap(HistoryMetrics.GapResult.ARRIVED);
        return;
      }
      readGap(stream, token, order);
    });
  }

  private boolean isCurrent(String token, StreamOrder order) {
    return token == null ? !stopping : tokenOrders.get(token) == order;
  }

  private void readGap(String stream, String token, StreamOrder order) {
    order.reading = true;
    reads.read(order.gapRead(stream)).onComplete(ar -> {
      order.reading = false;
      if (!isCurrent(token, order)) {
        return;
      }
      deliveryNow = System.currentTimeMillis();
      try {
        if (ar.failed()) {
          historyMetrics.readFailed();
          if (++order.readFailures < 3) {
            awaitGap(stream, token, order);
          } else {
            lostGap(stream, token, order);
          }
          return;
        }
        order.readFailures = 0;
        List<StreamMessage> ready = order.filled(ar.result());
        if (ready == null) {
          lostGap(stream, token, order);
          return;
        }
        historyMetrics.gap(HistoryMetrics.GapResult.FILLED);
        for (StreamMessage m : ready) {
          handOn(stream, token, m);
        }
        if (order.waiting()) {
          readGap(stream, token, order);
        }
      } finally {
        flushWritten();
      }
    });
  }

  /**
   * The history does not have what a stream's connections are missing: they are closed with 1013 (a reconnect with
   * their cursor answers recovered:false, so the application knows), and the stream goes on after the hole.
   */
  private void lostGap(String stream, String token, StreamOrder order) {
    historyMetrics.gap(HistoryMetrics.GapResult.LOST);
    log.warn("shard {}: messages of the {} stream never arrived and the history does not have them: its connections"
      + " are closed with 1013", address, token == null ? "broadcast" : "a token's");
    BiConsumer<ClientConnection, Object> closeIt = (c, x) ->
      close(c, CLOSE_TRY_AGAIN_LATER, "missed messages: reconnect with since= to recover", DisconnectReason.SLOW_CLIENT);
    if (token == null) {
      connections.forEach(null, closeIt);
    } else {
      connections.forEachOf(token, null, closeIt);
    }
    for (StreamMessage m : order.skip()) {
      handOn(stream, token, m);
    }
    if (order.waiting()) {
      awaitGap(stream, token, order);
    }
  }

  // ------------------------------------------------------------------ recovery

  /**
   * A connection with {@code since=}: reads what it missed on each of its streams (coalesced with the other
   * reconnects of this turn; broadcasts from {@link BroadcastCache} when it has them), then decides whether it
   * recovers ({@link #recovered}). Its messages collect in its backlog meanwhile.
   */
  private void recover(ClientConnection c, String since, StreamPosition registeredBroadcast) {
    c.recovering = true;
    Cursor cursor = Cursor.parse(since);
    if (cursor == null || !history.enabled()) {
      decided(c, cursor == null ? RecoveryResult.MALFORMED : RecoveryResult.UNAVAILABLE, 0);
      return;
    }
    // what it gets from the shard from now on (its backlog) starts after these: the replay ends at them. The
    // broadcasts stored before the registration may still be on their way here: the replay takes them too (their
    // copies in the backlog are skipped), so that it holds everything dispatched before the token messages it holds
    StreamPosition joinedToken = new StreamPosition(c.tokenEpoch, c.tokenSeq);
    StreamPosition joinedBroadcast = new StreamPosition(c.broadcastEpoch, c.broadcastSeq);
    if (registeredBroadcast.epoch() == joinedBroadcast.epoch() && registeredBroadcast.seq() > joinedBroadcast.seq()) {
      joinedBroadcast = registeredBroadcast;
    }
    StreamPosition replayBroadcastTo = joinedBroadcast;
    String tokenStream = Streams.token(c.token);
    Future<StreamPage> token = readFor(tokenStream, tokenOrders.get(c.token),
      new StreamRead(tokenStream, cursor.tokenEpoch, cursor.tokenSeq, HistorySettings.PAGE), joinedToken);
    Future<StreamPage> bcast = readFor(Streams.BROADCAST, broadcastOrder,
      new StreamRead(Streams.BROADCAST, cursor.broadcastEpoch, cursor.broadcastSeq, HistorySettings.PAGE), replayBroadcastTo);
    Future.all(token, bcast).onComplete(ar -> {
      if (c.closing || c.slot() < 0) {
        return;
      }
      if (ar.failed()) {
        historyMetrics.readFailed();
        decided(c, RecoveryResult.UNAVAILABLE, 0);
        return;
      }
      recovered(c, cursor, upTo(token.result(), cursor.tokenSeq, joinedToken),
        upTo(bcast.result(), cursor.broadcastSeq, replayBroadcastTo));
    });
  }

  /**
   * A recovery's first page cut at where the connection joined the shard's stream: what came after reaches it in its
   * backlog, in the order the shard hands messages on, so the replay and the backlog meet without reordering (the
   * store may already hold later messages, still on their way to the shard).
   */
  private static StreamPage upTo(StreamPage page, long after, StreamPosition joined) {
    if (!page.contiguous() || joined.epoch() != page.epoch() || joined.seq() >= page.top()) {
      return page;
    }
    long top = Math.max(after, joined.seq());
    return new StreamPage(page.epoch(), top, true,
      page.messages().stream().filter(m -> m.seq() <= top).toList());
  }

  /**
   * A page of {@code stream}: nothing to read when the cursor is where the shard's stream stands, else the shard's
   * recent broadcasts, else the store. The shard's own answers are used only when they reach {@code atLeast} (where the
   * replay must end: a registration may have seen broadcasts still on their way here, which the store has).
   */
  private Future<StreamPage> readFor(String stream, StreamOrder order, StreamRead read, StreamPosition atLeast) {
    StreamPosition last = order != null ? order.last() : StreamPosition.UNKNOWN;
    boolean reaches = !atLeast.known() || (last.epoch() == atLeast.epoch() && last.seq() >= atLeast.seq());
    if (reaches && last.known() && read.epoch() == last.epoch() && read.afterSeq() == last.seq() && !order.waiting()) {
      return Future.succeededFuture(new StreamPage(last.epoch(), last.seq(), true, List.of()));
    }
    if (reaches && Streams.BROADCAST.equals(stream)) {
      StreamPage cached = broadcastCache.read(read, broadcastOrder.last());
      if (cached != null) {
        return Future.succeededFuture(cached);
      }
    }
    return reads.read(read);
  }

  /** The recovery's first pages are in: it recovers when both streams still hold all it missed, and not too much. */
  private void recovered(ClientConnection c, Cursor cursor, StreamPage token, StreamPage bcast) {
    RecoveryResult result;
    long missed = 0;
    if (!token.contiguous() || !bcast.contiguous()) {
      result = token.epoch() != cursor.tokenEpoch || bcast.epoch() != cursor.broadcastEpoch
        ? RecoveryResult.EPOCH_CHANGED : RecoveryResult.TOO_OLD;
    } else {
      missed = (token.top() - cursor.tokenSeq) + (bcast.top() - cursor.broadcastSeq);
      result = missed > historySettings.maxReplay ? RecoveryResult.TOO_MANY : RecoveryResult.RECOVERED;
    }
    if (result == RecoveryResult.RECOVERED) {
      Replay replay = new Replay();
      replay.add(Streams.token(c.token), cursor.tokenSeq, token);
      replay.add(Streams.BROADCAST, cursor.broadcastSeq, bcast);
      c.replay = replay.done() ? null : replay;
      // the replay starts from the cursor; what the backlog holds up to the streams' tops it repeats, and is skipped
      c.tokenEpoch = cursor.tokenEpoch;
      c.tokenSeq = cursor.tokenSeq;
      c.broadcastEpoch = cursor.broadcastEpoch;
      c.broadcastSeq = cursor.broadcastSeq;
    }
    decided(c, result, missed);
  }

  /**
   * The recovery is decided: {@code resumed} is owed first. Not recovered, the connection keeps the cursor it joined
   * with (where the shard's streams stood), so it misses nothing from its connect on.
   */
  private void decided(ClientConnection c, RecoveryResult result, long missed) {
    historyMetrics.recovery(result);
    boolean recovered = result == RecoveryResult.RECOVERED;
    c.resumed = ClientOps.resumed(recovered, recovered ? missed : 0);
    c.recovering = false;
    advance(c);
  }

  /**
   * Moves a connection that is not live yet as far as it can: once open and decided, {@code resumed}, then the
   * replay (reading its next pages as they run out), then its backlog, as fast as the socket takes them; then live.
   */
  private void advance(ClientConnection c) {
    if (!c.opened || c.recovering || c.closing || c.live) {
      return;
    }
    if (c.resumed != null) {
      c.channel.write(new TextWebSocketFrame(Unpooled.wrappedBuffer(c.resumed)), c.channel.voidPromise());
      c.resumed = null;
    }
    while (c.channel.isWritable()) {
      if (c.closing) {
        break;
      }
      if (c.replay != null) {
        Replay.Item item = c.replay.next();
        if (item != null) {
          writeStored(c, item);
          continue;
        }
        if (c.replay.broken()) {
          abortReplay(c);
          return;
        }
        if (!c.replay.done()) {
          readReplay(c);
          break;
        }
        c.replay = null;
      }
      Replay.Item item = c.backlog.pollFirst();
      if (item == null) {
        c.live = true;
        c.backlog = null;
        break;
      }
      writeStored(c, item);
    }
    c.channel.flush();
  }

  /** Writes a replayed or held-back message to a connection that is catching up. */
  private void writeStored(ClientConnection c, Replay.Item item) {
    StreamMessage m = item.message();
    ByteBuf tail = settings.compression ? Unpooled.wrappedBuffer(m.frame, 1, m.frame.length - 1)
      : WireFrames.messageTail(alloc(), m.frame);
    try {
      if (write(c, item.stream(), m, tail) && m.envelope == null) {
        historyMetrics.replayed(1);
      }
    } finally {
      tail.release();
    }
  }

  /** The replay ran out of a stream's page: its next pages, then on. */
  private void readReplay(ClientConnection c) {
    Replay replay = c.replay;
    for (StreamRead read : replay.reads()) {
      StreamOrder order = Streams.BROADCAST.equals(read.stream()) ? broadcastOrder : tokenOrders.get(c.token);
      readFor(read.stream(), order, read, StreamPosition.UNKNOWN).onComplete(ar -> {
        if (c.closing || c.slot() < 0 || c.replay != replay) {
          return;
        }
        if (ar.failed() || !replay.page(read.stream(), ar.result())) {
          if (ar.failed()) {
            historyMetrics.readFailed();
          }
          abortReplay(c);
          return;
        }
        advance(c);
      });
    }
  }

  /**
   * The store lost what the replay promised after {@code resumed} said it would come (or cannot be read now): the
   * client is closed with 1013 and reconnects from the cursor it reached, learning then whether it can recover.
   */
  private void abortReplay(ClientConnection c) {
    historyMetrics.recovery(RecoveryResult.ABORTED);
    close(c, CLOSE_TRY_AGAIN_LATER, "replay interrupted: reconnect with since= to recover", DisconnectReason.ERROR);
    c.channel.flush();
  }

  /** The socket takes writes again: a connection catching up goes on. */
  void onWritable(ClientConnection c) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      advance(c);
    } finally {
      ctx.endDispatch(prev);
    }
  }

  /** Pings one slice of the connections and closes those silent for longer than the idle timeout. */
  private void sweep() {
    int n = connections.size();
    // each tick pings the next slice of the connections: every one once per ping interval
    sweepCursor = connections.forEachIn(sweepCursor, pingSchedule.next(n), null, ping);
  }

  private void ping(ClientConnection c, Object unused) {
    if (!c.opened) {
      // still upgrading: ws.handshakeTimeoutMs guards it
      return;
    }
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
      c.pingOutstanding = true;
      c.channel.writeAndFlush(WireFrames.PING.duplicate(), c.channel.voidPromise());
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
      io.netty.channel.ChannelFuture sent = c.channel.writeAndFlush(new CloseWebSocketFrame(code, truncate(reason)));
      if (stopping) {
        sent.addListener(ChannelFutureListener.CLOSE);
      }
      c.closeTimer = ctx.setTimer(settings.closeTimeoutMs, id -> {
        c.closeTimer = -1;
        tearDown(c);
      });
    }
  }

  /** Closes the TCP connection of a closing socket that is still here; its close handler then removes it. */
  private void tearDown(ClientConnection c) {
    if (c.slot() >= 0 && c.channel.isOpen()) {
      metrics.closeTimedOut();
      // straight to the socket: whatever is still queued for it is dropped
      c.channel.close();
    }
  }

  @Override
  public String address() {
    return address;
  }

  @Override
  public int connections() {
    return connections.size() - closingCount - pendingCount;
  }
}
