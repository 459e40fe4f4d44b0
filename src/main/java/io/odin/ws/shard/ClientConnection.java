package io.odin.ws.shard;

import io.vertx.core.http.ServerWebSocket;

/** One client socket and the little state its shard keeps for it. Touched only on the shard's event loop. */
final class ClientConnection implements ShardConnections.Slot {

  final ServerWebSocket socket;
  final String token;
  /** The client's IP address: its slot in the node's per-address count is given back on close. */
  final String address;
  /** Its frame rate and any fragmented message it is sending. */
  final ClientFrames frames;
  /** Last time the client sent anything (a frame or a pong), for the idle sweep. */
  long lastHeardMillis;
  /** Set once the shard decided to close it, so the close reason is counted once and writes stop. */
  boolean closing;
  /** When the server sent its close frame: the TCP connection is torn down {@code ws.closeTimeoutMs} later. */
  long closingSinceMillis;
  long closeTimer = -1;
  /** The timer that closes it when its JWT expires (auth.mode=jwt), or -1. */
  long expiryTimer = -1;
  private int slot = -1;

  ClientConnection(ServerWebSocket socket, String token, String address, ClientFrames frames, long nowMillis) {
    this.socket = socket;
    this.token = token;
    this.address = address;
    this.frames = frames;
    this.lastHeardMillis = nowMillis;
  }

  @Override
  public int slot() {
    return slot;
  }

  @Override
  public void slot(int index) {
    slot = index;
  }
}
