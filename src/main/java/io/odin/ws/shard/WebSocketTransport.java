package io.odin.ws.shard;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.TooLongFrameException;
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
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.DeflateFrameServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.metrics.GatewayMetrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The HTTP side of a shard's connections, until each is upgraded: the pipeline of an accepted TCP connection (TLS,
 * HTTP codec, permessage-deflate when asked), plain requests answered (426 on the path, 404 elsewhere), handshakes
 * decided by {@link HandshakeGate}, and connections without a completed upgrade within {@code ws.handshakeTimeoutMs}
 * closed. An accepted handshake is handed to the shard as an {@link Upgrade}, which the shard completes once the
 * connection is registered. Runs on the shard's event loop.
 */
final class WebSocketTransport {

  private static final Logger log = LoggerFactory.getLogger(WebSocketTransport.class);

  /** HTTP limits before the upgrade: request line, headers (Vert.x's defaults, which the shards had before). */
  static final int MAX_INITIAL_LINE_BYTES = 4096;
  static final int MAX_HEADER_BYTES = 8192;

  /** Compression level of permessage-deflate and deflate-frame (Netty's default). */
  private static final int DEFLATE_LEVEL = 6;

  private final ShardSettings settings;
  private final GatewayMetrics metrics;
  private final HandshakeGate gate;
  private final ShardListener listener;
  private final String address;
  private final Supplier<ContextInternal> ctx;
  private final Consumer<Upgrade> accepted;
  private final WebSocketServerHandshakerFactory handshakers;
  /** The request line may carry ?channels= and a since= cursor of up to ws.maxSubscriptionsPerConnection channels. */
  private final int maxInitialLineBytes;
  private final ChannelInitializer<Channel> initializer = new ChannelInitializer<>() {
    @Override
    protected void initChannel(Channel ch) {
      onAccepted(ch);
    }
  };

  /**
   * @param accepted called with each accepted handshake, on the shard's context
   */
  WebSocketTransport(ShardSettings settings, GatewayMetrics metrics, HandshakeGate gate, ShardListener listener,
                     String address, Supplier<ContextInternal> ctx, Consumer<Upgrade> accepted) {
    this.settings = settings;
    this.metrics = metrics;
    this.gate = gate;
    this.listener = listener;
    this.address = address;
    this.ctx = ctx;
    this.accepted = accepted;
    this.maxInitialLineBytes = MAX_INITIAL_LINE_BYTES + settings.maxSubscriptions
      * (io.odin.ws.protocol.ChannelName.MAX_LENGTH + 1 + io.odin.ws.protocol.Cursor.CHANNEL_LENGTH);
    // no extensions unless ws.compression; frames over ws.maxFrameBytes fail the decoder (1009, closed by the shard);
    // text is checked as UTF-8 by ClientFrames (1007), not by a validator per connection
    this.handshakers = new WebSocketServerHandshakerFactory(settings.path, null, WebSocketDecoderConfig.newBuilder()
      .maxFramePayloadLength(settings.maxFrameBytes)
      .allowExtensions(settings.compression)
      .expectMaskedFrames(true)
      .allowMaskMismatch(false)
      .closeOnProtocolViolation(false)
      .withUTF8Validator(false)
      .build());
  }

  ChannelInitializer<Channel> initializer() {
    return initializer;
  }

  /**
   * Loads every class a connection's life needs, by running one handshake and a few frames through an embedded
   * channel: at the open-file limit a class loaded on the first accept could not be read from the jar.
   */
  void preloadConnectionClasses() {
    io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(
      new HttpServerCodec(maxInitialLineBytes, MAX_HEADER_BYTES, 8192));
    try {
      DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, settings.path,
        Unpooled.EMPTY_BUFFER);
      request.headers().set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
        .set(HttpHeaderNames.SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
      handshakers.newHandshaker(request).handshake(ch, request);
      ch.writeOutbound(new TextWebSocketFrame("{}"), new PingWebSocketFrame(), new PongWebSocketFrame(),
        new CloseWebSocketFrame(ShardSockets.CLOSE_GOING_AWAY, "x"), WireFrames.PING.duplicate());
      respond(ch, HttpResponseStatus.NOT_FOUND, "", false);
      new ClientFrames(settings.maxFrameBytes, settings.maxClientFramesPerSecond)
        .onFrame(WebSocketFrameType.TEXT, true, Buffer.buffer("{}"), 0);
      ClientOps.answer("{\"op\":\"ping\"}");
      Class.forName(Handshake.class.getName());
      Class.forName(Upgrade.class.getName());
      Class.forName(ClientConnection.class.getName());
      Class.forName(Subscriptions.class.getName());
    } catch (Exception e) {
      log.debug("preloading the connection classes: {}", e.toString());
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  /** A TCP connection was accepted onto the shard's loop: HTTP until its upgrade, within ws.handshakeTimeoutMs. */
  private void onAccepted(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    SslHandler ssl = listener.newSslHandler(ch);
    if (ssl != null) {
      p.addLast("ssl", ssl);
    }
    p.addLast("http", new HttpServerCodec(maxInitialLineBytes, MAX_HEADER_BYTES, 8192));
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
   * The HTTP side of one connection until it is upgraded. Removed from the pipeline at the upgrade, with everything
   * it held.
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
        ContextInternal prev = ctx.get().beginDispatch();
        try {
          onRequest(this, request);
        } finally {
          ctx.get().endDispatch(prev);
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

  /**
   * An accepted handshake, not upgraded yet: nothing more is read from the client until the shard completes it
   * ({@link #upgrade}) or gives it up.
   */
  final class Upgrade {
    private final Handshake h;
    private final WebSocketServerHandshaker handshaker;
    private final DefaultFullHttpRequest request;
    final HandshakeGate.Decision decision;
    final String clientAddress;
    /** The {@code since=} cursor, or null. */
    final String since;

    private Upgrade(Handshake h, WebSocketServerHandshaker handshaker, DefaultFullHttpRequest request,
                    HandshakeGate.Decision decision, String clientAddress, String since) {
      this.h = h;
      this.handshaker = handshaker;
      this.request = request;
      this.decision = decision;
      this.clientAddress = clientAddress;
      this.since = since;
    }

    Channel channel() {
      return h.ch;
    }

    /** Sends the 101; {@code done} then runs on the shard's context, told whether the socket is upgraded. */
    void upgrade(Consumer<Boolean> done) {
      try {
        handshaker.handshake(h.ch, request).addListener(f -> inContext(() -> done.accept(f.isSuccess())));
      } catch (RuntimeException e) {
        log.debug("handshake failed on {}: {}", address, e.toString());
        respond(h.ch, HttpResponseStatus.BAD_REQUEST, "not a WebSocket handshake\n", false);
        done.accept(false);
      }
    }

    /** The upgraded socket's pipeline becomes the frame codec and {@code c}; reading starts. */
    void open(ClientConnection c) {
      h.timer.cancel(false);
      // the HTTP handler goes, with the request it saw
      h.ch.pipeline().replace(h, "ws", c);
      h.ch.config().setAutoRead(true);
    }

    /** Refuses the handshake with 503 (the node started shutting down meanwhile). */
    void shuttingDown() {
      respond(h.ch, HttpResponseStatus.SERVICE_UNAVAILABLE, "server shutting down\n", false);
    }
  }

  private void inContext(Runnable task) {
    ContextInternal prev = ctx.get().beginDispatch();
    try {
      task.run();
    } finally {
      ctx.get().endDispatch(prev);
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
    // nothing more is read until the upgrade: the client waits for its 101
    h.upgrading = true;
    ch.config().setAutoRead(false);
    DefaultFullHttpRequest upgrade = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), uri,
      Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE);
    accepted.accept(new Upgrade(h, handshaker, upgrade, decision, clientAddress,
      ClientAuthenticator.queryParam(query, "since")));
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
  static void respond(Channel ch, HttpResponseStatus status, String body, boolean keepAlive) {
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
}
