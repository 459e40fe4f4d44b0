// Types of odin-ws-client (src/index.js). The wire contract is odin-ws's docs/protocol.md.

/** A message frame: the producer's type, channel and data, and its id (the cursor a reconnect resumes from). */
export interface OdinMessage<T = unknown> {
  /** Opaque cursor; absent only from a server without history. */
  id?: string;
  type: string;
  channel?: string;
  data: T;
}

export interface ConnectedEvent {
  /** The cursor this connection asked to resume from (the since= parameter), or null. */
  since: string | null;
}

export interface DisconnectedEvent {
  /**
   * The WebSocket close code (1001 draining, 1013 too slow, 4401 token expired, 4408 idle, 1006 abnormal, ...), or
   * the HTTP status of a refused handshake where the WebSocket reports it (Node's ws: 401, 403, 503, ...). A
   * browser reports a refused handshake as 1006. The client's own liveness and connect timeouts are 1006 too.
   */
  code: number;
  reason: string;
  /** False when the client stopped: close(), or a code that a retry would not fix (1002, 1007, 1008, 1009, 400, 403, 404). */
  willRetry: boolean;
  /** The wait before the next attempt, when willRetry. */
  delayMs?: number;
}

export interface ResumedEvent {
  /**
   * true: the messages missed since the cursor follow, then live ones, nothing twice, nothing skipped.
   * false: the server could not replay (cursor too old, history lost): live messages follow; reload your state.
   */
  recovered: boolean;
  replayed: number;
}

export interface RefreshedEvent {
  /** When the connection now expires (epoch ms), or null when the new JWT has no exp. */
  expiresAt: number | null;
}

export interface OdinClientError extends Error {
  /** server: an error frame; getToken: getToken() failed; frame: an unreadable frame; closed: a close not retried. */
  kind: 'server' | 'getToken' | 'frame' | 'closed';
  code?: number;
  reason?: string;
}

/** Where the last message id is kept between page loads or process runs. */
export interface CursorStore {
  load(): string | null | undefined;
  save(id: string): void;
}

export interface OdinClientEvents {
  message: OdinMessage;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  resumed: ResumedEvent;
  refreshed: RefreshedEvent;
  error: OdinClientError;
  /** A control frame this version does not know (e.g. channel frames of a newer server). */
  control: Record<string, unknown>;
}

export interface BackoffOptions {
  /** Shortest wait before a reconnect; also the spread of a reconnect after 1001 or 4401. Default 1000. */
  minDelayMs?: number;
  /** Longest wait before a reconnect. Default 30000. */
  maxDelayMs?: number;
  /** Growth of the wait per failed attempt in a row. Default 2. */
  factor?: number;
}

export interface OdinClientOptions extends BackoffOptions {
  /** auth.mode=none: the client's token (?token=). Give this or getToken. */
  token?: string;
  /** auth.mode=jwt: fetches a JWT from your backend; called to connect, before exp (refresh), and after 4401/401. */
  getToken?: () => string | Promise<string>;
  /** The WebSocket implementation; the platform's by default. Node.js: `import { WebSocket } from 'ws'`. */
  WebSocket?: unknown;
  /**
   * Where the JWT goes: 'header' (Authorization: Bearer, for WebSocket implementations that take
   * `{ headers }`, such as ws) or 'query' (?access_token=, what browsers can do). Default: 'header' when a
   * WebSocket other than the global one is passed, else 'query'.
   */
  jwtIn?: 'header' | 'query';
  /** Keeps the cursor across page loads or restarts, e.g. localStorageCursor('odin-cursor'). */
  cursor?: CursorStore;
  /** Silence after which {"op":"ping"} is sent. Default 10000. */
  pingAfterMs?: number;
  /** No frame this long after a ping: the connection is dead; reconnect. Default 5000. */
  pongTimeoutMs?: number;
  /** A connect not open within this counts as a failed attempt. Default 10000. */
  connectTimeoutMs?: number;
  /** Refresh the JWT this long before its exp (at most a quarter of its remaining life). Default 60000. */
  refreshBeforeMs?: number;
  /** Send {"op":"refresh"} before exp. Default true; false lets the connection close with 4401 and reconnect. */
  refreshToken?: boolean;
  /** Where 'online' events come from. Default: window in a browser, none elsewhere. */
  network?: { addEventListener(type: 'online', fn: () => void): void; removeEventListener(type: 'online', fn: () => void): void } | null;
  /** The random source of the jitter, in [0, 1). Default Math.random. */
  random?: () => number;
}

export declare const DEFAULTS: Readonly<Required<BackoffOptions> & {
  pingAfterMs: number; pongTimeoutMs: number; connectTimeoutMs: number; refreshBeforeMs: number;
}>;

/** The wait before reconnect attempt `attempt` (0-based): min + random * min(max, min * factor^attempt), capped at max. */
export declare function backoffDelay(attempt: number, options?: BackoffOptions, random?: () => number): number;

/** What the client does after a close code or refused handshake status. */
export declare function closeDecision(code: number, opened?: boolean): { retry: boolean; soon: boolean; freshToken: boolean };

/** A Retry-After header (seconds or an HTTP date) in milliseconds, or null. */
export declare function retryAfterMs(header: string | null | undefined, now?: number): number | null;

/** A JWT's exp in epoch milliseconds, or null. */
export declare function jwtExpiry(jwt: string): number | null;

/** A cursor store in localStorage (or another Storage). */
export declare function localStorageCursor(key: string, storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>): CursorStore & { clear(): void };

export declare class OdinClient {
  /** `url`: ws(s)://host:port/ws, or a function returning it (called for every attempt). */
  constructor(url: string | (() => string | Promise<string>), options: OdinClientOptions);
  on<E extends keyof OdinClientEvents>(event: E, listener: (value: OdinClientEvents[E]) => void): () => void;
  off<E extends keyof OdinClientEvents>(event: E, listener: (value: OdinClientEvents[E]) => void): void;
  /** Starts connecting; reconnects until close() or a close code that must not be retried. */
  connect(): this;
  /** Closes for good (1000). connect() starts again. */
  close(): void;
  /** Sends a client op on the open connection; false when not open. */
  send(op: object | string): boolean;
  readonly state: 'connecting' | 'open' | 'reconnecting' | 'closed';
  /** The id of the last message received (sent as since= on the next connect). */
  readonly lastId: string | null;
}
