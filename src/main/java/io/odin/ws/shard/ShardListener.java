package io.odin.ws.shard;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.NetUtil;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.odin.ws.auth.TlsSettings;
import io.odin.ws.config.GatewayConfig;
import io.odin.ws.logging.AcceptErrorLog;
import io.vertx.core.Future;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.Promise;
import io.vertx.core.internal.VertxInternal;

import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * The WebSocket port of a node: one Netty server channel, on Vert.x's acceptor event loop and transport (epoll
 * when it is loaded, else NIO), that hands each accepted TCP connection to the next shard in turn. The connection
 * is registered on that shard's own event loop with that shard's pipeline, so the shard reads and writes it on
 * its own thread and needs no queue between threads.
 * <p>One acceptor rather than one SO_REUSEPORT socket per shard: it works on every transport, spreads
 * connections evenly whatever the clients' addresses and ports, and a shard that stops loses no connection that
 * the kernel had already queued for it.
 */
public final class ShardListener {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ShardListener.class);

  /** A shard as the listener sees it: where its connections run and how their pipeline starts. */
  interface Shard {
    EventLoop eventLoop();

    ChannelInitializer<Channel> initializer();

    /** Bytes queued on one connection before it is unwritable (ws.writeQueueMaxBytes); one instance per shard. */
    WriteBufferWaterMark writeQueueBound();
  }

  private final VertxInternal vertx;
  private final GatewayConfig config;
  private final String host;
  private final int port;
  /** TLS for new connections (tls.enabled), swapped when the certificate files change; null without TLS. */
  private volatile SslContext ssl;
  private Runnable tlsWatch = () -> { };
  private Shard[] shards = new Shard[0];
  private int next;
  private ChannelFuture bound;
  private Future<Integer> listening;

  public ShardListener(io.vertx.core.Vertx vertx, GatewayConfig config) {
    this.vertx = (VertxInternal) vertx;
    this.config = config;
    this.host = config.getString(ShardSettings.HOST);
    this.port = config.getInt(ShardSettings.PORT);
    if (config.getBoolean(TlsSettings.ENABLED)) {
      ssl = sslContext(vertx, TlsSettings.keyCert(config));
    }
  }

  /** A server TLS context from PEM files (PKCS#8 or PKCS#1 keys, read by Vert.x), HTTP/1.1 only. */
  private static SslContext sslContext(io.vertx.core.Vertx vertx, KeyCertOptions keyCert) {
    try {
      return SslContextBuilder.forServer(keyCert.getKeyManagerFactory(vertx)).build();
    } catch (Exception e) {
      throw new IllegalStateException("TLS: " + e.getMessage(), e);
    }
  }

  /** The TLS handler for a new connection, or null without TLS. */
  SslHandler newSslHandler(Channel channel) {
    SslContext current = ssl;
    return current == null ? null : current.newHandler(channel.alloc());
  }

  /** Adds a shard to the rotation; the first one binds the port. Completes with the bound port. */
  synchronized Future<Integer> join(Shard shard) {
    Shard[] more = Arrays.copyOf(shards, shards.length + 1);
    more[shards.length] = shard;
    shards = more;
    if (listening == null) {
      Promise<Integer> promise = Promise.promise();
      listening = promise.future();
      bound = new ServerBootstrap()
        .group(vertx.acceptorEventLoopGroup(), vertx.acceptorEventLoopGroup())
        .channelFactory(vertx.transport().serverChannelFactory(false))
        .option(ChannelOption.SO_BACKLOG, NetUtil.SOMAXCONN)
        .option(ChannelOption.SO_REUSEADDR, true)
        .handler(new Acceptor())
        // never reached: the acceptor above hands every child to a shard itself
        .childHandler(new ChannelInboundHandlerAdapter())
        .bind(host, port);
      tlsWatch = TlsSettings.watch(vertx, config, keyCert -> {
        ssl = sslContext(vertx, keyCert);
        return Future.succeededFuture();
      });
      bound.addListener(f -> {
        if (f.isSuccess()) {
          promise.complete(((InetSocketAddress) bound.channel().localAddress()).getPort());
        } else {
          promise.fail(f.cause());
        }
      });
    }
    return listening;
  }

  /** Takes a shard out of the rotation; the last one closes the port. */
  synchronized Future<Void> leave(Shard shard) {
    Shard[] fewer = Arrays.stream(shards).filter(s -> s != shard).toArray(Shard[]::new);
    shards = fewer;
    if (fewer.length > 0 || bound == null) {
      return Future.succeededFuture();
    }
    Promise<Void> closed = Promise.promise();
    ChannelFuture b = bound;
    bound = null;
    tlsWatch.run();
    tlsWatch = () -> { };
    listening = null;
    b.addListener(f -> {
      if (!f.isSuccess()) {
        closed.complete();
      } else {
        b.channel().close().addListener(c -> closed.complete());
      }
    });
    return closed.future();
  }

  private synchronized Shard nextShard() {
    Shard[] s = shards;
    if (s.length == 0) {
      return null;
    }
    if (next >= s.length) {
      next = 0;
    }
    return s[next++];
  }

  /** On the server channel: each accepted channel goes to the next shard's event loop. */
  @ChannelHandler.Sharable
  private final class Acceptor extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel child = (Channel) msg;
      Shard shard = nextShard();
      if (shard == null) {
        child.unsafe().closeForcibly();
        return;
      }
      try {
        child.config().setOption(ChannelOption.TCP_NODELAY, true);
        child.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, shard.writeQueueBound());
        child.pipeline().addLast(shard.initializer());
        shard.eventLoop().register(child).addListener(f -> {
          if (!f.isSuccess()) {
            child.unsafe().closeForcibly();
          }
        });
      } catch (Throwable t) {
        child.unsafe().closeForcibly();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // e.g. too many open files: counted and logged at most every 10 s; the server channel stays open and
      // accepts again a second later (as Netty's own acceptor does)
      if (AcceptErrorLog.isAcceptFailure(cause)) {
        AcceptErrorLog.record(cause, System.currentTimeMillis());
      } else {
        log.warn("WebSocket port: {}", cause.toString());
      }
      ctx.channel().config().setAutoRead(false);
      ctx.channel().eventLoop().schedule(() -> ctx.channel().config().setAutoRead(true), 1, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
