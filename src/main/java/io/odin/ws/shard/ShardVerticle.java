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
 */
public final class ShardVerticle extends VerticleBase implements NodeContext.ShardStatus, ShardListener.Shard {

  private static final Logger log = LoggerFactory.getLogger(ShardVerticle.class);

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
  private final BiConsumer<ClientConnection, ByteBuf> deliver = this::deliver;
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
    this.clientAuth = clientAuth;
    this.listener = listener;
    this.gate = new HandshakeGate(settings.path, node.connectionLimits(), clientAuth);
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
      respond(ch, HttpResponseStatus.valueOf(decision.status), decision.reason + "\n", false);
      return;
    }
    String token = decision.token;
    // nothing more is read until the upgrade: the client waits for its 101
    h.upgrading = true;
    ch.config().setAutoRead(false);
    DefaultFullHttpRequest upgrade = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), uri,
      Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE);
    // a token's first connection here is registered before the handshake completes: once the client is
    // connected, every lookup on every node finds this shard (docs/registry.md)
    Future<Void> registered = connections.holds(token) ? Future.succeededFuture() : registry.register(token, address);
    opening.merge(token, 1, Integer::sum);
    registered.onComplete(ar -> {
      if (ar.succeeded() && ch.isActive() && !stopping) {
        try {
          handshaker.handshake(ch, upgrade).addListener(f -> onUpgraded(h, f.isSuccess(), token, clientAddress, decision.expiresAtMillis));
          return;
        } catch (RuntimeException e) {
          log.debug("handshake failed on {}: {}", address, e.toString());
        }
      }
      if (ar.succeeded() && ch.isActive()) {
        // shutting down meanwhile, or an upgrade Netty refused
        respond(ch, stopping ? HttpResponseStatus.SERVICE_UNAVAILABLE : HttpResponseStatus.BAD_REQUEST,
          stopping ? "server shutting down\n" : "not a WebSocket handshake\n", false);
      } else if (ar.failed()) {
        log.debug("registration of a handshake failed on {}: {}", address, ar.cause().toString());
        ch.close();
      }
      onUpgraded(h, false, token, clientAddress, decision.expiresAtMillis);
    });
  }

  /** The end of an accepted handshake: an open socket, or its capacity slot and registration given back. */
  private void onUpgraded(Handshake h, boolean upgraded, String token, String clientAddress, long expiresAtMillis) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      opening.computeIfPresent(token, (t, n) -> n > 1 ? n - 1 : null);
      Channel ch = h.ch;
      if (upgraded && ch.isActive() && !stopping) {
        h.timer.cancel(false);
        onOpen(h, token, clientAddress, expiresAtMillis);
        return;
      }
      if (upgraded) {
        // upgraded, then closed by the client or the shutdown before it was added
        ch.writeAndFlush(new CloseWebSocketFrame(CLOSE_GOING_AWAY, "server shutting down")).addListener(ChannelFutureListener.CLOSE);
      }
      gate.release(clientAddress, token);
      if (!connections.holds(token) && !opening.containsKey(token) && !stopping) {
        registry.unregister(token, address);
      }
    } finally {
      ctx.endDispatch(prev);
    }
  }

  private void onOpen(Handshake h, String token, String clientAddress, long expiresAtMillis) {
    Channel ch = h.ch;
    ClientConnection c = new ClientConnection(this, ch, token, clientAddress, System.currentTimeMillis());
    // the HTTP handler goes, with the request it saw: the socket's pipeline is the frame codec and c
    ch.pipeline().replace(h, "ws", c);
    connections.add(token, c);
    metrics.connected();
    expireAt(c, expiresAtMillis);
    ch.config().setAutoRead(true);
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
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
      Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
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
      if (connections.remove(c.token, c) && !stopping && !opening.containsKey(c.token)) {
        registry.unregister(c.token, address);
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
    long now = System.currentTimeMillis();
    writes = 0;
    long targetedPathWrites = 0;
    long broadcastPathWrites = 0;
    try {
      for (int i = 0, n = envelopes.size(); i < n; i++) {
        Envelope e = envelopes.get(i);
        currentPath = e.path();
        long writesBefore = writes;
        int reached;
        // the message's frame, encoded once for every socket it goes to (per-socket deflate when compressing)
        ByteBuf wire = settings.compression ? Unpooled.wrappedBuffer(e.frame()) : WireFrames.text(alloc(), e.frame());
        try {
          if (e.isBroadcast()) {
            reached = connections.forEach(wire, deliver);
          } else {
            reached = 0;
            String[] tokens = e.tokens();
            for (String token : tokens) {
              reached += connections.forEachOf(token, wire, deliver);
            }
          }
        } finally {
          wire.release();
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
    } finally {
      // one flush per socket per batch, however many of its messages the batch had
      for (int i = 0, n = toFlush.size(); i < n; i++) {
        ClientConnection c = toFlush.get(i);
        c.flushPending = false;
        c.channel.flush();
      }
      toFlush.clear();
    }
    currentPath = null;
    metrics.ingestStage(GatewayMetrics.IngestStage.WRITE, System.nanoTime() - startNanos);
    metrics.delivered(writes);
    metrics.pathDelivered(DispatchPath.TARGETED, targetedPathWrites);
    metrics.pathDelivered(DispatchPath.BROADCAST, broadcastPathWrites);
  }

  private io.netty.buffer.ByteBufAllocator alloc() {
    return io.netty.buffer.PooledByteBufAllocator.DEFAULT;
  }

  /** Writes one message to one socket, unless the socket is slow: then it is dropped and the socket closed. */
  private void deliver(ClientConnection c, ByteBuf wire) {
    if (c.closing) {
      // the server is closing this socket (slow, silent or misbehaving client, or shutdown): the message is
      // lost to a client the shard gave up on, not to a missing connection
      metrics.dropped(GatewayMetrics.DropReason.SLOW_CLIENT, 1);
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
    // a retained duplicate of the shared frame: no copy, no encoding per socket
    Object msg = settings.compression ? new TextWebSocketFrame(wire.retainedDuplicate()) : wire.retainedDuplicate();
    c.channel.write(msg, c.channel.voidPromise());
    if (!c.flushPending) {
      c.flushPending = true;
      toFlush.add(c);
    }
    writes++;
  }

  /** Pings one slice of the connections and closes those silent for longer than the idle timeout. */
  private void sweep() {
    int n = connections.size();
    // each tick pings the next slice of the connections: every one once per ping interval
    sweepCursor = connections.forEachIn(sweepCursor, pingSchedule.next(n), null, ping);
  }

  private void ping(ClientConnection c, Object unused) {
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
    return connections.size() - closingCount;
  }
}
