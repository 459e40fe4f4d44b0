package io.odin.ws.shard;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.odin.ws.auth.ChannelAccess;
import io.odin.ws.auth.ClientAuthenticator;
import io.odin.ws.config.ListenFailure;
import io.odin.ws.history.HistorySettings;
import io.odin.ws.history.HistoryStore;
import io.odin.ws.history.Registered;
import io.odin.ws.history.StreamPage;
import io.odin.ws.history.StreamPosition;
import io.odin.ws.history.StreamRead;
import io.odin.ws.history.Streams;
import io.odin.ws.metrics.ChannelMetrics;
import io.odin.ws.metrics.GatewayMetrics;
import io.odin.ws.metrics.GatewayMetrics.DisconnectReason;
import io.odin.ws.metrics.HistoryMetrics;
import io.odin.ws.metrics.HistoryMetrics.RecoveryResult;
import io.odin.ws.node.NodeContext;
import io.odin.ws.protocol.Cursor;
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

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One shard: the WebSocket connections the node's {@link ShardListener} hands to it, on its own event loop,
 * plus the event-bus consumer at the shard's address. Each connection is a Netty channel registered on the
 * shard's event loop, so the shard reads and writes it on its own thread: a connection needs no queue between
 * threads, and once upgraded its pipeline holds only the WebSocket frame decoder and encoder and its
 * {@link ClientConnection} (docs/benchmarks.md, "Where the memory goes"). The HTTP side before the upgrade is
 * {@link WebSocketTransport}'s, the sockets' bookkeeping (counts, closing, pings, expiry) {@link ShardSockets}'s, the
 * channels' state {@link ShardChannels}'.
 * <p>Each message frame carries the connection's cursor ({@code id}): where it stands in its token's stream, in the
 * broadcast stream and in each channel it is subscribed to. Each stream's messages are handed on strictly in order
 * ({@link StreamOrder}); a connection that reconnects with {@code since=} first gets {@code resumed}, then what it
 * missed on every stream ({@link Replay}, read through {@link HistoryReads}), then what arrived meanwhile, and only
 * then goes live (docs/protocol.md, "Reconnecting without loss"). A channel is to a shard what a token is: its
 * interest is registered when its first subscriber here joins (and answers where its stream stood), unregistered
 * when its last one leaves, and its messages reach this shard only while it is registered.
 */
public final class ShardVerticle extends VerticleBase implements NodeContext.ShardStatus, ShardListener.Shard {

  private static final Logger log = LoggerFactory.getLogger(ShardVerticle.class);

  /** Close codes (see {@link ShardSockets}). */
  static final short CLOSE_GOING_AWAY = ShardSockets.CLOSE_GOING_AWAY;
  static final short CLOSE_TRY_AGAIN_LATER = ShardSockets.CLOSE_TRY_AGAIN_LATER;
  static final short CLOSE_PING_TIMEOUT = ShardSockets.CLOSE_PING_TIMEOUT;

  private final NodeContext node;
  private final int index;
  private final String address;
  private final ShardSettings settings;
  private final GatewayMetrics metrics;
  private final ChannelMetrics channelMetrics;
  private final ConnectionRegistry registry;
  private final ShardListener listener;
  private final BiConsumer<ClientConnection, StreamMessage> deliver = this::deliver;
  private final HistorySettings historySettings;
  /** Messages no history holds that passed here, by stream: a reconnect covering it shortly after may have missed one. */
  private final UnstoredWhileAway unstoredWhileAway;
  private final HistoryStore history;
  private final HistoryMetrics historyMetrics;
  /** Each held token's stream order, and the broadcast stream's: see {@link StreamOrder}. */
  private final Map<String, StreamOrder> tokenOrders = new HashMap<>();
  private final StreamOrder broadcastOrder = new StreamOrder(Streams.BROADCAST, null, null);
  private final BroadcastCache broadcastCache;
  private final ShardChannels channels = new ShardChannels();
  private HistoryReads reads;
  /** The stream and shared frame tail of the message being delivered (the deliver callback's context). */
  private String deliveringStream;
  private ByteBuf deliveringTail;
  /** Where a connection's cursor is encoded before it is copied into its frame (one event loop: one buffer). */
  private final byte[] cursorBytes;
  /** Tokens with a handshake in progress here, registered before it completes: handshakes per token. */
  private final Map<String, Integer> opening = new HashMap<>();
  private final HandshakeGate gate;
  /** Who a connection is for (?token= or a JWT), and its JWT refreshes: shared by the node's shards. */
  private final ClientAuthenticator clientAuth;
  private final ChannelAccess channelAccess;
  /** Hands join and leave events to a dispatcher (they are channel messages like any other). */
  private final Function<List<Envelope>, Future<?>> publisher;
  private final WriteBufferWaterMark writeQueueBound;
  private final WebSocketTransport transport;
  /** Connections written to in the batch being delivered: flushed once each at its end. */
  private final ArrayList<ClientConnection> toFlush = new ArrayList<>();

  private ContextInternal ctx;
  private EventLoop eventLoop;
  private ShardSockets sockets;
  private ChannelOps channelOps;
  private ShardConnections<ClientConnection> connections;
  private MessageConsumer<ShardBatch> consumer;
  private long sweepTimer = -1;
  private long writes;
  /** When the batch being delivered arrived (delivery latency). */
  private long deliveryNow;
  /** The dispatch path of the message being delivered (per-path metrics); null for broadcasts and channels. */
  private DispatchPath currentPath;
  private boolean stopping;

  /**
   * @param publisher hands envelopes to a dispatcher (join and leave events of channels in channels.joinLeaveNamespaces)
   */
  public ShardVerticle(NodeContext node, int index, ClientAuthenticator clientAuth, ChannelAccess channelAccess,
                       ShardListener listener, Function<List<Envelope>, Future<?>> publisher) {
    this.node = node;
    this.index = index;
    this.address = node.shardAddress(index);
    this.settings = new ShardSettings(node.config());
    this.metrics = node.metrics();
    this.channelMetrics = metrics.channels();
    this.registry = node.registry();
    this.history = registry.history();
    this.historySettings = new HistorySettings(node.config());
    this.historyMetrics = metrics.history();
    this.unstoredWhileAway = new UnstoredWhileAway(historySettings.unstoredWindowMillis, historySettings.maxUnstoredStreams);
    this.broadcastCache = new BroadcastCache(historySettings.size);
    this.clientAuth = clientAuth;
    this.channelAccess = channelAccess;
    this.publisher = publisher;
    this.listener = listener;
    this.cursorBytes = new byte[Cursor.maxLength(settings.maxSubscriptions)];
    this.gate = new HandshakeGate(settings.path, node.connectionLimits(), clientAuth, channelAccess, settings.maxSubscriptions,
      node::started);
    this.transport = new WebSocketTransport(settings, metrics, gate, listener, address, () -> ctx, this::onHandshake);
    this.writeQueueBound = new WriteBufferWaterMark(Math.max(1, settings.writeQueueMaxBytes / 2), settings.writeQueueMaxBytes);
  }

  @Override
  public Future<?> start() {
    transport.preloadConnectionClasses();
    ctx = (ContextInternal) context;
    eventLoop = ctx.nettyEventLoop();
    sockets = new ShardSockets(settings, metrics, ctx);
    connections = sockets.connections;
    channelOps = new ChannelOps(settings, channels, registry, address, channelMetrics, channelAccess, publisher, ctx,
      this::sendChannelAnswer);
    reads = new HistoryReads(history, task -> ctx.runOnContext(v -> task.run()));
    consumer = vertx.eventBus().consumer(address, this::onBatch);
    if (sockets.sweepTickMs() > 0) {
      // the sweep is spread over the interval in small slices, so pings never stall the shard's deliveries
      sweepTimer = vertx.setPeriodic(sockets.sweepTickMs(), id -> sockets.sweep());
    }
    metrics.shardConnections(address, this::connections);
    historyMetrics.unstoredStreams(address, unstoredWhileAway::streams);
    registry.attachShard(address, context, this::registeredTokens, channels::counts);
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
    sockets.stopping();
    channelOps.stopping();
    gate.stop();
    // routing first, so dispatchers stop sending here; then the sockets, which clients will reopen elsewhere
    node.directory().remove(address);
    node.shardStatus(index, null);
    vertx.cancelTimer(sweepTimer);
    registry.removeShard(address);
    Future<Void> left = listener.leave(this);
    List<Future<Void>> closed = new ArrayList<>();
    connections.forEach(null, (c, unused) -> {
      sockets.close(c, CLOSE_GOING_AWAY, "server shutting down", DisconnectReason.SHUTDOWN);
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
    return transport.initializer();
  }

  @Override
  public WriteBufferWaterMark writeQueueBound() {
    return writeQueueBound;
  }

  // ------------------------------------------------------------------ handshakes

  /**
   * An accepted handshake: its token (unless a connection here holds it already) and each channel it starts with
   * (unless this shard has it registered already) are registered before the upgrade completes, so that once the
   * client is connected every lookup on every node finds this shard (docs/registry.md). The registrations answer where
   * the streams stood then: the connection's first cursor.
   */
  private void onHandshake(WebSocketTransport.Upgrade u) {
    String token = u.decision.token;
    Future<Registered> registered = connections.holds(token) ? Future.succeededFuture(null) : registry.register(token, address);
    opening.merge(token, 1, Integer::sum);
    // the token's stream order from now on: what is routed here before the connection joins moves it on (nobody to
    // hand it to), so the connection starts after it and its replay, if any, covers it
    tokenOrders.computeIfAbsent(token, t -> new StreamOrder(Streams.token(t), t, null));
    List<ShardChannels.State> starting = new ArrayList<>(u.decision.channels.size());
    List<Future<Registered>> all = new ArrayList<>(1 + u.decision.channels.size());
    all.add(registered);
    for (String name : u.decision.channels) {
      ShardChannels.State st = channels.open(name);
      st.pending++;
      starting.add(st);
      all.add(channelOps.interest(st));
    }
    Future.all(all).onComplete(ar -> {
      for (ShardChannels.State st : starting) {
        st.pending--;
      }
      Channel ch = u.channel();
      if (ar.succeeded() && ch.isActive() && !stopping) {
        List<Registered> channelRegistrations = new ArrayList<>(starting.size());
        for (int i = 1; i < all.size(); i++) {
          channelRegistrations.add(all.get(i).result());
        }
        ClientConnection c = join(u, registered.result(), starting, channelRegistrations);
        u.upgrade(upgraded -> onUpgraded(u, c, upgraded));
        return;
      }
      if (ar.succeeded() && ch.isActive()) {
        // shutting down meanwhile
        u.shuttingDown();
      } else if (ar.failed()) {
        log.debug("registration of a handshake failed on {}: {}", address, ar.cause().toString());
        ch.close();
      }
      for (ShardChannels.State st : starting) {
        channelOps.releaseIfIdle(st);
      }
      onUpgraded(u, null, false);
    });
  }

  /**
   * A handshake whose registrations are done: its connection joins the token's connections and its channels'
   * subscribers at once, before the upgrade completes, so that no message routed here after the registrations passes
   * it by (it collects them until it is open). Its cursor starts where the shard's streams stand (or, for the token's
   * or a channel's first connection here, where the registration found them); with {@code since=} it recovers from
   * there.
   */
  private ClientConnection join(WebSocketTransport.Upgrade u, Registered registered, List<ShardChannels.State> starting,
                                List<Registered> channelRegistrations) {
    String token = u.decision.token;
    ClientConnection c = new ClientConnection(this, u.channel(), token, u.clientAddress, System.currentTimeMillis());
    c.backlog = new java.util.ArrayDeque<>(4);
    c.grants = u.decision.channelGrants;
    StreamOrder tokenOrder = tokenOrders.computeIfAbsent(token, t -> new StreamOrder(Streams.token(t), t, null));
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
    for (int i = 0; i < starting.size(); i++) {
      ShardChannels.State st = starting.get(i);
      channels.join(st, c, channelRegistrations.get(i));
      channelOps.subscribed(c, st);
    }
    sockets.joining(token, c);
    if (u.since != null) {
      recover(c, u.since, registered != null ? registered.broadcast() : StreamPosition.UNKNOWN);
    }
    return c;
  }

  /** The end of an accepted handshake: an open socket, or its capacity slot and registrations given back. */
  private void onUpgraded(WebSocketTransport.Upgrade u, ClientConnection c, boolean upgraded) {
    String token = u.decision.token;
    opening.computeIfPresent(token, (t, n) -> n > 1 ? n - 1 : null);
    Channel ch = u.channel();
    if (upgraded && c != null && ch.isActive() && !stopping) {
      u.open(c);
      sockets.opened(c);
      sockets.expireAt(c, u.decision.expiresAtMillis);
      advance(c);
      return;
    }
    if (upgraded) {
      // upgraded, then closed by the client or the shutdown before it was added
      ch.writeAndFlush(new CloseWebSocketFrame(CLOSE_GOING_AWAY, "server shutting down")).addListener(ChannelFutureListener.CLOSE);
    }
    gate.release(u.clientAddress, token);
    if (c != null) {
      sockets.notOpened(c);
      // its channels' join events went out at the join: their leave events follow
      channelOps.leaveAll(c);
    }
    if (!connections.holds(token) && !opening.containsKey(token)) {
      forgetToken(token);
      if (!stopping) {
        registry.unregister(token, address);
      }
    }
  }

  /** A token's last connection here is gone: its stream order with it. */
  private void forgetToken(String token) {
    StreamOrder order = tokenOrders.remove(token);
    if (order != null && order.timer >= 0) {
      vertx.cancelTimer(order.timer);
    }
  }

  /** What this shard has registered: the tokens it holds, those with a handshake in progress, its channels' interest. */
  private List<String> registeredTokens() {
    List<String> tokens = connections.tokens();
    for (String token : opening.keySet()) {
      if (!connections.holds(token)) {
        tokens.add(token);
      }
    }
    tokens.addAll(channels.interestKeys());
    return tokens;
  }

  // ------------------------------------------------------------------ channels

  /**
   * {@code subscribed} or {@code unsubscribed}, with the connection's cursor after it (which now covers the channel, or
   * no longer does): written now when the connection is live, else after what it is catching up on.
   */
  private void sendChannelAnswer(ClientConnection c, String type, String name) {
    StreamMessage answer = new StreamMessage(ClientOps.channelAnswer(type, name), 0, 0, null, null);
    if (!c.live) {
      c.backlog.addLast(new Replay.Item(null, answer));
      return;
    }
    if (!c.channel.isWritable()) {
      sockets.close(c, CLOSE_TRY_AGAIN_LATER, "slow client: replies were not read", DisconnectReason.SLOW_CLIENT);
      return;
    }
    writeStored(c, new Replay.Item(null, answer));
    c.channel.flush();
  }


  // ------------------------------------------------------------------ client frames

  /** A client's refresh op: a valid JWT for the same token extends the connection; anything else is an error frame. */
  private byte[] refresh(ClientConnection c, String jwt) {
    ClientAuthenticator.Decision d = clientAuth.refresh(c.token, jwt);
    if (!d.accepted()) {
      return FrameEncoder.error(d.reason());
    }
    metrics.tokenRefreshed();
    sockets.expireAt(c, d.expiresAtMillis());
    // later subscribe ops are judged by the new JWT's grants (subscriptions already made stay)
    c.grants = d.channelGrants();
    return ClientOps.refreshed(d.expiresAtMillis());
  }

  void onSocketError(ClientConnection c, Throwable t) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      if (t instanceof CorruptedWebSocketFrameException) {
        // a frame over ws.maxFrameBytes (1009) or a protocol violation (1002): say so before closing
        WebSocketCloseStatus status = ((CorruptedWebSocketFrameException) t).closeStatus();
        metrics.clientError();
        sockets.close(c, (short) status.code(), ShardSockets.truncate(t.getMessage()), DisconnectReason.ERROR);
      } else if (t instanceof DecoderException && !(t.getCause() instanceof javax.net.ssl.SSLException)) {
        // the deflate extension's decoder (TLS errors close the connection by themselves): a frame that inflates
        // past ws.maxFrameBytes (1009), or bad deflate data
        Throwable inflate = t instanceof DecompressionException ? t : t.getCause();
        boolean tooBig = inflate instanceof DecompressionException && String.valueOf(inflate.getMessage()).contains("maximum size");
        metrics.clientError();
        sockets.close(c, tooBig ? ClientFrames.CLOSE_TOO_BIG : ClientFrames.CLOSE_PROTOCOL_ERROR,
          tooBig ? "message larger than " + settings.maxFrameBytes + " bytes when inflated" : "invalid compressed data",
          DisconnectReason.ERROR);
      } else {
        log.debug("socket error on {}: {}", address, t.toString());
      }
    } finally {
      ctx.endDispatch(prev);
    }
  }

  void onClosed(ClientConnection c) {
    ContextInternal prev = ctx.beginDispatch();
    try {
      gate.release(c.address, c.token);
      channelOps.leaveAll(c);
      if (sockets.closed(c) && !opening.containsKey(c.token)) {
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
        byte[] answer = ClientOps.answer(c.frames.text(), new ClientOps.Handler() {
          @Override
          public byte[] refresh(String jwt) {
            return ShardVerticle.this.refresh(c, jwt);
          }

          @Override
          public byte[] subscribe(String channel) {
            return channelOps.subscribe(c, channel);
          }

          @Override
          public byte[] unsubscribe(String channel) {
            return channelOps.unsubscribe(c, channel);
          }
        });
        if (answer != null) {
          if (ClientOps.isError(answer)) {
            metrics.clientError();
          }
          sockets.reply(c, answer);
        }
        break;
      case ClientFrames.BINARY:
        metrics.clientError();
        sockets.reply(c, BINARY_NOT_SUPPORTED);
        break;
      case ClientFrames.CLOSE:
        short code = c.frames.closeCode();
        metrics.clientError();
        sockets.close(c, code, c.frames.closeReason(),
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

  // ------------------------------------------------------------------ delivery

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
          if (!storedAt(e, 0)) {
            unstored(Streams.BROADCAST);
          }
          offer(broadcastOrder, StreamMessage.of(e, 0));
        } else if (e.isChannelMessage()) {
          if (!storedAt(e, 0)) {
            unstored(Streams.channel(e.channel()));
          }
          // a channel nobody here subscribes to (any more, or a fallback to every shard): nothing to do
          ShardChannels.State st = channels.get(e.channel());
          if (st != null) {
            offer(st.order, StreamMessage.of(e, 0));
          }
        } else {
          String[] tokens = e.tokens();
          for (int t = 0; t < tokens.length; t++) {
            if (!storedAt(e, t)) {
              // also when a connection of the token is here: it may be closing, or another one away
              unstored(Streams.token(tokens[t]));
            }
            StreamOrder order = tokenOrders.get(tokens[t]);
            if (order != null) {
              offer(order, StreamMessage.of(e, t));
            }
          }
        }
      }
    } finally {
      flushWritten();
    }
    metrics.ingestStage(GatewayMetrics.IngestStage.WRITE, System.nanoTime() - startNanos);
  }

  /** An unstored message of {@code stream} passed this shard (see {@link UnstoredWhileAway}). */
  private void unstored(String stream) {
    historyMetrics.unstoredStreamsPushedOut(unstoredWhileAway.unstored(stream, deliveryNow));
  }

  /**
   * Whether the history holds {@code e} in the stream of its {@code index}th token (broadcast, channel: 0). A node
   * that stores nothing (history off, or a cluster without Redis) recovers no one, so it has nothing to remember.
   */
  private boolean storedAt(Envelope e, int index) {
    long[] stored = e.stored();
    return !history.enabled() || (stored != null && stored[index * 2] != 0);
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

  /** A message of {@code order}'s stream arrived. */
  private void offer(StreamOrder order, StreamMessage m) {
    if (m.seq == Envelope.STORED_BEFORE) {
      // a Kafka record read again that this stream had already (another of its streams had not)
      historyMetrics.duplicate();
      return;
    }
    List<StreamMessage> ready = order.offer(m);
    if (ready == StreamOrder.DUPLICATE) {
      historyMetrics.duplicate();
      return;
    }
    for (int i = 0, n = ready.size(); i < n; i++) {
      handOn(order, ready.get(i));
    }
    if (order.waiting()) {
      if (order == broadcastOrder && connections.size() == 0) {
        // a gap in the broadcasts of a shard nobody is connected to: nothing to wait for, nobody to read it for
        for (StreamMessage later : order.skip()) {
          handOn(order, later);
        }
      } else {
        awaitGap(order);
      }
    }
  }

  /** Writes a stream's next message to every connection of the stream (or its backlog), in the stream's order. */
  private void handOn(StreamOrder order, StreamMessage m) {
    Envelope e = m.envelope;
    currentPath = e != null ? e.path() : null;
    long writesBefore = writes;
    // the message's frame after its id, encoded once for every socket it goes to
    deliveringTail = settings.compression ? Unpooled.wrappedBuffer(m.frame, 1, m.frame.length - 1)
      : WireFrames.messageTail(alloc(), m.frame);
    deliveringStream = order.stream;
    int reached;
    try {
      if (order.channel != null) {
        ShardChannels.State st = channels.get(order.channel);
        reached = st == null || st.order != order ? 0 : channels.forEach(st, m, deliver);
      } else if (order.token != null) {
        reached = connections.forEachOf(order.token, m, deliver);
      } else {
        reached = connections.forEach(m, deliver);
      }
    } finally {
      deliveringTail.release();
      deliveringTail = null;
    }
    if (order == broadcastOrder) {
      broadcastCache.add(m);
    }
    long written = writes - writesBefore;
    metrics.delivered(written);
    if (order.channel != null && e != null) {
      channelMetrics.delivered(written);
    }
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
        sockets.close(c, CLOSE_TRY_AGAIN_LATER, "slow client: too many messages while catching up", DisconnectReason.SLOW_CLIENT);
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
      sockets.close(c, CLOSE_TRY_AGAIN_LATER, "slow client: messages were dropped", DisconnectReason.SLOW_CLIENT);
      return;
    }
    if (write(c, deliveringStream, m, deliveringTail) && !c.flushPending) {
      c.flushPending = true;
      toFlush.add(c);
    }
  }

  /**
   * Writes {@code m} of {@code stream} to {@code c} with the cursor it has after it, unless {@code c} already had it
   * (a replay and the messages that arrived meanwhile overlap) or no longer receives the stream (a channel it left).
   * {@code stream} null: an answer ({@code subscribed}, {@code unsubscribed}) that moves no position. {@code tail}:
   * the message's shared tail ({@link WireFrames#messageTail}), not released here. Not flushed: a batch flushes each
   * socket it wrote to once at its end ({@link #deliver}), a connection catching up flushes itself ({@link #advance}),
   * so that no closed connection waits in {@link #toFlush} for a batch that may not come (it held closed sockets until
   * the next message; issue 29).
   *
   * @return false when it was not written
   */
  private boolean write(ClientConnection c, String stream, StreamMessage m, ByteBuf tail) {
    if (stream != null && !advancePosition(c, stream, m)) {
      return false;
    }
    int n = Cursor.write(cursorBytes, 0, c.tokenEpoch, c.tokenSeq, c.broadcastEpoch, c.broadcastSeq);
    if (c.subs != null) {
      n = c.subs.writeCursor(cursorBytes, n);
    }
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
   * Moves {@code c}'s position in {@code stream} to {@code m}; false when {@code c} had {@code m} already, or does not
   * receive the stream (a channel it left: its replay or backlog may still hold the channel's messages).
   */
  private boolean advancePosition(ClientConnection c, String stream, StreamMessage m) {
    int channel = -1;
    long epoch;
    long seq;
    if (Streams.BROADCAST.equals(stream)) {
      epoch = c.broadcastEpoch;
      seq = c.broadcastSeq;
    } else if (Streams.isChannel(stream)) {
      channel = c.subs == null ? -1 : c.subs.indexOfStream(stream);
      if (channel < 0) {
        return false;
      }
      epoch = c.subs.epoch(channel);
      seq = c.subs.seq(channel);
    } else {
      epoch = c.tokenEpoch;
      seq = c.tokenSeq;
    }
    if (m.stored()) {
      if (m.late) {
        return true;
      }
      if (epoch == m.epoch && m.seq <= seq) {
        historyMetrics.duplicate();
        return false;
      }
      epoch = m.epoch;
      seq = m.seq;
    } else {
      // a message the store does not have: the cursor can no longer be recovered from (epoch 0)
      epoch = 0;
      seq = 0;
    }
    if (channel >= 0) {
      c.subs.position(channel, epoch, seq);
    } else if (Streams.BROADCAST.equals(stream)) {
      c.broadcastEpoch = epoch;
      c.broadcastSeq = seq;
    } else {
      c.tokenEpoch = epoch;
      c.tokenSeq = seq;
    }
    return true;
  }

  // ------------------------------------------------------------------ gaps

  /** A stream has a message waiting for earlier ones: wait {@code history.gapWaitMs} for them, then read them. */
  private void awaitGap(StreamOrder order) {
    if (order.timer >= 0 || order.reading) {
      return;
    }
    order.timer = vertx.setTimer(historySettings.gapWaitMillis, id -> {
      order.timer = -1;
      if (!isCurrent(order)) {
        return;
      }
      if (!order.waiting()) {
        historyMetrics.gap(HistoryMetrics.GapResult.ARRIVED);
        return;
      }
      readGap(order);
    });
  }

  /** The order is still this shard's for its stream (a token or channel that left and came back has a new one). */
  private boolean isCurrent(StreamOrder order) {
    if (order.channel != null) {
      ShardChannels.State st = channels.get(order.channel);
      return st != null && st.order == order;
    }
    return order.token == null ? !stopping : tokenOrders.get(order.token) == order;
  }

  private void readGap(StreamOrder order) {
    order.reading = true;
    reads.read(order.gapRead(order.stream)).onComplete(ar -> {
      order.reading = false;
      if (!isCurrent(order)) {
        return;
      }
      deliveryNow = System.currentTimeMillis();
      try {
        if (ar.failed()) {
          historyMetrics.readFailed();
          if (++order.readFailures < 3) {
            awaitGap(order);
          } else {
            lostGap(order);
          }
          return;
        }
        order.readFailures = 0;
        List<StreamMessage> ready = order.filled(ar.result());
        if (ready == null) {
          lostGap(order);
          return;
        }
        historyMetrics.gap(HistoryMetrics.GapResult.FILLED);
        for (StreamMessage m : ready) {
          handOn(order, m);
        }
        if (order.waiting()) {
          readGap(order);
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
  private void lostGap(StreamOrder order) {
    historyMetrics.gap(HistoryMetrics.GapResult.LOST);
    log.warn("shard {}: messages of the {} stream never arrived and the history does not have them: its connections"
      + " are closed with 1013", address, order.channel != null ? "a channel's" : order.token == null ? "broadcast" : "a token's");
    BiConsumer<ClientConnection, Object> closeIt = (c, x) -> sockets.close(c, CLOSE_TRY_AGAIN_LATER,
      "missed messages: reconnect with since= to recover", DisconnectReason.SLOW_CLIENT);
    if (order.channel != null) {
      channels.forEach(channels.get(order.channel), null, closeIt);
    } else if (order.token == null) {
      connections.forEach(null, closeIt);
    } else {
      connections.forEachOf(order.token, null, closeIt);
    }
    for (StreamMessage m : order.skip()) {
      handOn(order, m);
    }
    if (order.waiting()) {
      awaitGap(order);
    }
  }

  // ------------------------------------------------------------------ recovery

  /** A channel of a recovering connection whose cursor had a position in it: read from there. */
  private record ChannelLane(String stream, long epoch, long afterSeq, StreamPosition joined, Future<StreamPage> page) {
  }

  /**
   * A connection with {@code since=}: reads what it missed on each of its streams (coalesced with the other
   * reconnects of this turn; broadcasts from {@link BroadcastCache} when it has them), then decides whether it
   * recovers ({@link #recovered}). Its messages collect in its backlog meanwhile. A channel it subscribes to now that
   * its cursor has no position in is new to it: it starts where it joined.
   */
  private void recover(ClientConnection c, String since, StreamPosition registeredBroadcast) {
    c.recovering = true;
    Cursor cursor = Cursor.parse(since, settings.maxSubscriptions);
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
    List<ChannelLane> lanes = new ArrayList<>();
    List<Future<?>> all = new ArrayList<>();
    for (int i = 0; c.subs != null && i < c.subs.size(); i++) {
      long[] at = cursor.channel(c.subs.hash(i));
      if (at == Cursor.AMBIGUOUS) {
        // two of its channels share a hash: the cursor cannot say which position is whose
        decided(c, RecoveryResult.MALFORMED, 0);
        return;
      }
      if (at != null) {
        String stream = Streams.channel(c.subs.channel(i));
        ShardChannels.State st = channels.get(c.subs.channel(i));
        StreamPosition joined = new StreamPosition(c.subs.epoch(i), c.subs.seq(i));
        Future<StreamPage> page = readFor(stream, st == null ? null : st.order,
          new StreamRead(stream, at[0], at[1], HistorySettings.PAGE), joined);
        lanes.add(new ChannelLane(stream, at[0], at[1], joined, page));
        all.add(page);
      }
    }
    String tokenStream = Streams.token(c.token);
    Future<StreamPage> token = readFor(tokenStream, tokenOrders.get(c.token),
      new StreamRead(tokenStream, cursor.tokenEpoch, cursor.tokenSeq, HistorySettings.PAGE), joinedToken);
    Future<StreamPage> bcast = readFor(Streams.BROADCAST, broadcastOrder,
      new StreamRead(Streams.BROADCAST, cursor.broadcastEpoch, cursor.broadcastSeq, HistorySettings.PAGE), replayBroadcastTo);
    all.add(token);
    all.add(bcast);
    Future.all(all).onComplete(ar -> {
      if (c.closing || c.slot() < 0) {
        return;
      }
      if (ar.failed()) {
        historyMetrics.readFailed();
        decided(c, RecoveryResult.UNAVAILABLE, 0);
        return;
      }
      recovered(c, cursor, upTo(token.result(), cursor.tokenSeq, joinedToken),
        upTo(bcast.result(), cursor.broadcastSeq, replayBroadcastTo), lanes);
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

  /** The recovery's first pages are in: it recovers when every stream still holds all it missed, and not too much. */
  private void recovered(ClientConnection c, Cursor cursor, StreamPage token, StreamPage bcast, List<ChannelLane> lanes) {
    boolean contiguous = token.contiguous() && bcast.contiguous();
    boolean epochChanged = token.epoch() != cursor.tokenEpoch || bcast.epoch() != cursor.broadcastEpoch;
    long missed = (token.top() - cursor.tokenSeq) + (bcast.top() - cursor.broadcastSeq);
    List<StreamPage> pages = new ArrayList<>(lanes.size());
    for (ChannelLane lane : lanes) {
      StreamPage page = upTo(lane.page().result(), lane.afterSeq(), lane.joined());
      pages.add(page);
      contiguous &= page.contiguous();
      epochChanged |= page.epoch() != lane.epoch();
      missed += page.top() - lane.afterSeq();
    }
    // a message no history holds passed here while the client was away, and its sender may not have raised the
    // stream's epoch yet (UnstoredWhileAway): the pages cannot vouch for it
    long now = System.currentTimeMillis();
    boolean missedUnstored = unstoredWhileAway.missed(Streams.token(c.token), now)
      || unstoredWhileAway.missed(Streams.BROADCAST, now);
    for (ChannelLane lane : lanes) {
      missedUnstored |= unstoredWhileAway.missed(lane.stream(), now);
    }
    RecoveryResult result;
    if (!contiguous || missedUnstored) {
      result = epochChanged || missedUnstored ? RecoveryResult.EPOCH_CHANGED : RecoveryResult.TOO_OLD;
      missed = 0;
    } else {
      result = missed > historySettings.maxReplay ? RecoveryResult.TOO_MANY : RecoveryResult.RECOVERED;
    }
    if (result == RecoveryResult.RECOVERED) {
      Replay replay = new Replay();
      replay.add(Streams.token(c.token), cursor.tokenSeq, token);
      replay.add(Streams.BROADCAST, cursor.broadcastSeq, bcast);
      for (int i = 0; i < lanes.size(); i++) {
        ChannelLane lane = lanes.get(i);
        int entry = c.subs == null ? -1 : c.subs.indexOfStream(lane.stream());
        if (entry >= 0) {
          replay.add(lane.stream(), lane.afterSeq(), pages.get(i));
          c.subs.position(entry, lane.epoch(), lane.afterSeq());
        }
      }
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

  /** Writes a replayed or held-back message (or a held-back answer) to a connection that is catching up. */
  private void writeStored(ClientConnection c, Replay.Item item) {
    StreamMessage m = item.message();
    ByteBuf tail = settings.compression ? Unpooled.wrappedBuffer(m.frame, 1, m.frame.length - 1)
      : WireFrames.messageTail(alloc(), m.frame);
    try {
      if (write(c, item.stream(), m, tail) && m.envelope == null && item.stream() != null) {
        historyMetrics.replayed(1);
      }
    } finally {
      tail.release();
    }
  }

  /** The shard's order of {@code stream} as {@code c} receives it, or null. */
  private StreamOrder orderOf(ClientConnection c, String stream) {
    if (Streams.BROADCAST.equals(stream)) {
      return broadcastOrder;
    }
    if (Streams.isChannel(stream)) {
      ShardChannels.State st = channels.get(stream.substring(2));
      return st == null ? null : st.order;
    }
    return tokenOrders.get(c.token);
  }

  /** The replay ran out of a stream's page: its next pages, then on. */
  private void readReplay(ClientConnection c) {
    Replay replay = c.replay;
    for (StreamRead read : replay.reads()) {
      readFor(read.stream(), orderOf(c, read.stream()), read, StreamPosition.UNKNOWN).onComplete(ar -> {
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
    sockets.close(c, CLOSE_TRY_AGAIN_LATER, "replay interrupted: reconnect with since= to recover", DisconnectReason.ERROR);
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

  @Override
  public String address() {
    return address;
  }

  @Override
  public int connections() {
    return sockets == null ? 0 : sockets.open();
  }
}
