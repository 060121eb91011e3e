/**
 * Connection limits of a listener: a global cap (so descriptors stay for the repository, the
 * index and temp files: an index write must never fail with EMFILE because idle sockets took
 * every descriptor) and a per-address cap (so one client cannot take the global cap alone).
 *
 * Sockets are counted from the moment they are accepted, before a byte is read. Over a cap a new
 * connection gets a ready-made 503 with Retry-After and Connection: close, or, when many
 * refusals are still being answered (a flood) or the listener speaks TLS, a plain close. Near
 * the global cap the connection idle the longest (a keep-alive between requests, or one that
 * never sent a complete request) is closed to make room, once it has been idle for a moment.
 *
 * Connections from a trusted reverse proxy carry many clients: they are not capped per address
 * at accept time; each of their requests counts for the forwarded client address instead (see
 * forwarded.ts), and a request whose client is over its cap gets the 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.ts';
import { AddressSet, addressKey, clientAddress } from './forwarded.ts';
import { writeText } from './reply.ts';
import { tcpSocketOf } from './node-internals.ts';

/** Descriptors kept out of the derived global cap: the process itself, the repository and index
 * (journals, locks, purge), the XMPP connection, the admin API and refusals being answered. */
export const RESERVED_DESCRIPTORS = 256;
/** Descriptors one connection may hold: its socket, plus a temp file and a splice pipe or a
 * duplicate of the socket while it uploads (a download: the socket and a file). */
export const DESCRIPTORS_PER_CONNECTION = 4;
/** The derived global cap stays below this: each idle connection also costs memory. */
export const MAX_DERIVED_CONNECTIONS = 16_384;
/** The derived cap when the open-file limit cannot be read (not Linux). */
const FALLBACK_CONNECTIONS = 1024;
/** The derived per-address cap never exceeds this (a NAT of many users still fits). */
export const MAX_DERIVED_PER_ADDRESS = 256;

/** Retry-After of a refusal (s): idle connections make room within seconds. */
export const RETRY_AFTER_SECONDS = 2;
/** A connection idle for less than this is never closed to make room (its request may be on
 * its way). */
const EVICT_AFTER_MS = 2_000;
/** Refused connections answered at once (each holds its socket until LINGER_MS); more are closed
 * without an answer. */
const MAX_LINGERING = 64;
/** How long a refused connection may stay to read its 503 (and how much it may send meanwhile). */
const LINGER_MS = 1_000;
const LINGER_BYTES = 64 * 1024;
/** Refusals are logged once at the start of a burst, then summed up at most this often. */
const REFUSAL_LOG_MS = 10_000;

const REFUSAL_TEXT = 'too many connections, try again later';
const REFUSAL_BODY = `${REFUSAL_TEXT}\n`;
const REFUSAL = Buffer.from(
  'HTTP/1.1 503 Service Unavailable\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n` +
    `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n\r\n' +
    REFUSAL_BODY,
  'latin1',
);

/** The caps in force; Infinity = none. */
export interface ConnectionLimits {
  max: number;
  perAddress: number;
}

/** Why a connection or request was refused. */
export type RefusalReason = 'global' | 'address' | 'forwarded';

/** What the status view shows of a listener's connections. */
export interface ConnectionFigures {
  /** Connections open now (refusals being answered not included). */
  open: number;
  /** The global cap; null = none. */
  max: number | null;
  /** The per-address cap; null = none. */
  perAddressMax: number | null;
  /** Refused since start: over the global cap, over an address's cap, over a forwarded client's cap. */
  refused: Record<RefusalReason, number>;
  /** Idle connections closed to make room near the global cap. */
  evicted: number;
}

/**
 * The soft open-file limit from the text of /proc/self/limits; undefined when unlimited or absent.
 *
 * @example
 * parseOpenFileLimit('Max open files  20000  20000  files'); // 20000
 */
export function parseOpenFileLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m?.[1] || !/^\d+$/.test(m[1])) return undefined;
  return Number(m[1]);
}

/**
 * This process's soft open-file limit (RLIMIT_NOFILE), which Node raised to the hard limit at
 * start; undefined when it cannot be read.
 *
 * @example
 * openFileLimit(); // 20000
 */
export function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The caps from maxConnections and maxConnectionsPerAddress (undefined = derived, ≤ 0 = none).
 * The derived global cap is what the open-file limit leaves after RESERVED_DESCRIPTORS, at
 * DESCRIPTORS_PER_CONNECTION each (at least 16, at most MAX_DERIVED_CONNECTIONS); the derived
 * per-address cap is a quarter of the global cap (of the derived one when the global cap is
 * off), at least 1 and at most MAX_DERIVED_PER_ADDRESS.
 *
 * @example
 * connectionLimits({ maxConnections: undefined, maxConnectionsPerAddress: undefined }, 20_000); // { max: 4936, perAddress: 256 }
 * connectionLimits({ maxConnections: 100, maxConnectionsPerAddress: -1 }, 20_000);              // { max: 100, perAddress: Infinity }
 */
export function connectionLimits(
  settings: { maxConnections: number | undefined; maxConnectionsPerAddress: number | undefined },
  openFiles: number | undefined,
): ConnectionLimits {
  const derived =
    openFiles === undefined
      ? FALLBACK_CONNECTIONS
      : Math.min(
          MAX_DERIVED_CONNECTIONS,
          Math.max(16, Math.floor((openFiles - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION)),
        );
  const set = settings.maxConnections;
  const max = set === undefined ? derived : set > 0 ? set : Infinity;
  const perSet = settings.maxConnectionsPerAddress;
  const base = Number.isFinite(max) ? max : derived;
  const perAddress =
    perSet === undefined
      ? Math.min(MAX_DERIVED_PER_ADDRESS, Math.max(1, Math.floor(base / 4)))
      : perSet > 0
        ? perSet
        : Infinity;
  return { max, perAddress };
}

/** One accepted connection. */
interface Conn {
  readonly socket: Socket;
  /** The socket HTTP runs on (the TLS socket over `socket` for HTTPS), once known. */
  httpSocket: Socket | undefined;
  /** Counted under this address (undefined: a trusted proxy's, or a unix socket's). */
  readonly address: string | undefined;
  readonly proxy: boolean;
  /** Requests being answered on it. */
  active: number;
  idleSince: number;
  evicted: boolean;
  /** Its responses' 'close' listener (one per connection, not one per request). */
  responseClosed: () => void;
}

const kConn = Symbol('connection');
type Tracked = Socket & { [kConn]?: Conn };

/** Forwarded client addresses of requests from trusted proxies (for the request log). */
const forwardedRemotes = new WeakMap<IncomingMessage, string>();

/**
 * The client address of a request as the log shows it: the forwarded address for a request
 * that came through a trusted proxy, else the peer's address.
 *
 * @example
 * deps.record({ method: 'GET', status: 200, bytes, started, remote: requestRemote(req) });
 */
export function requestRemote(req: IncomingMessage): string | undefined {
  return forwardedRemotes.get(req) ?? req.socket.remoteAddress;
}

export interface ConnectionGuardOptions {
  /** The caps, asked at each new connection (so a reload applies at once). */
  limits: () => ConnectionLimits;
  /** Reverse proxies whose forwarded-address headers are believed (`addr/bits` blocks), asked likewise. */
  trustedProxies?: () => readonly string[];
  /** TLS listener: a refusal cannot be answered before the handshake, so it is a plain close. */
  tls?: boolean;
  /** Refusals answered at once; more are plain closes (default 64). */
  maxLingering?: number;
  logger?: Logger;
  /** Names the listener in the log (`http`, `admin`). */
  listener: string;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/**
 * Counts a listener's connections and applies the caps. `attach` puts it in front of a
 * node:http/https server's own connection handling; `request` is called first thing for every
 * request (it tracks which connections are idle and applies the forwarded client's cap).
 *
 * @example
 * const guard = new ConnectionGuard({ listener: 'http', limits: () => ({ max: 1000, perAddress: 250 }), logger });
 * const server = createServer((req, res) => { if (guard.request(req, res)) return; handle(req, res); });
 * guard.attach(server);
 */
export class ConnectionGuard {
  readonly #options: ConnectionGuardOptions;
  readonly #now: () => number;
  readonly #maxLingering: number;
  readonly #conns = new Set<Conn>();
  /** Connections without a request being answered, longest idle first. */
  readonly #idle = new Set<Conn>();
  /** Connections (or, for forwarded clients, requests) per client address (see addressKey). */
  readonly #byAddress = new Map<string, number>();
  /** Evicted connections not closed yet. */
  #closing = 0;
  #lingering = 0;
  #evicted = 0;
  readonly #refused: Record<RefusalReason, number> = { global: 0, address: 0, forwarded: 0 };
  #trustedList: readonly string[] | undefined;
  #trusted = new AddressSet([]);
  readonly #burst = {
    timer: undefined as NodeJS.Timeout | undefined,
    count: 0,
    reasons: new Map<RefusalReason, number>(),
    addresses: new Map<string, number>(),
  };

  constructor(options: ConnectionGuardOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#maxLingering = options.maxLingering ?? MAX_LINGERING;
  }

  /**
   * Puts the guard in front of `server`'s connection handling: accepted sockets reach the server
   * only when admitted. Call once, before the server listens.
   */
  attach(server: Server): void {
    const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const handler of handlers) handler.call(server, socket);
    });
    if (this.#options.tls) {
      server.on('secureConnection', (tlsSocket: Tracked) => {
        const conn = (tcpSocketOf(tlsSocket) as Tracked | undefined)?.[kConn];
        if (conn) conn.httpSocket = tlsSocket;
      });
    }
  }

  /**
   * Decides on a new socket: true when admitted (counted until it closes); false when it was
   * refused (answered and closed here).
   */
  admit(socket: Socket): boolean {
    const { max, perAddress } = this.#options.limits();
    const peer = socket.remoteAddress;
    const proxy = this.#trustedSet().has(peer);
    const address = proxy || peer === undefined ? undefined : addressKey(peer);
    if (address !== undefined && (this.#byAddress.get(address) ?? 0) >= perAddress)
      return this.#refuse(socket, 'address', address);
    let open = this.#conns.size - this.#closing;
    // Near the cap (the last eighth), the longest-idle connection makes room for the new one.
    if (Number.isFinite(max) && open >= max - Math.floor(max / 8) && this.#evictOne()) open--;
    if (open >= max) return this.#refuse(socket, 'global', peer);

    const conn: Conn = {
      socket,
      httpSocket: this.#options.tls ? undefined : socket,
      address,
      proxy,
      active: 0,
      idleSince: this.#now(),
      evicted: false,
      responseClosed: () => {
        if (--conn.active === 0 && !conn.evicted && !socket.destroyed) {
          conn.idleSince = this.#now();
          this.#idle.add(conn);
        }
      },
    };
    (socket as Tracked)[kConn] = conn;
    this.#conns.add(conn);
    this.#idle.add(conn);
    if (address !== undefined) this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      this.#conns.delete(conn);
      this.#idle.delete(conn);
      if (conn.evicted) this.#closing--;
      if (address !== undefined) this.#release(address);
    });
    return true;
  }

  /**
   * Call first for every request. Marks its connection busy until the response closes; for a
   * trusted proxy's connection, counts the request for the forwarded client and answers 503
   * itself when that client is over its cap. True when it answered (the caller does nothing more).
   */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket as Tracked;
    const conn = socket[kConn] ?? (tcpSocketOf(socket) as Tracked | undefined)?.[kConn];
    if (!conn) return false;
    let forwarded: string | undefined;
    if (conn.proxy) {
      const client = clientAddress(socket.remoteAddress, req.headers, this.#trustedSet());
      if (client !== undefined && client !== socket.remoteAddress) {
        forwardedRemotes.set(req, client);
        const key = addressKey(client);
        if ((this.#byAddress.get(key) ?? 0) >= this.#options.limits().perAddress) {
          this.#note('forwarded', key);
          writeText(res, 503, REFUSAL_TEXT, { 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' });
          return true;
        }
        forwarded = key;
        this.#byAddress.set(key, (this.#byAddress.get(key) ?? 0) + 1);
      }
    }
    if (conn.active++ === 0) this.#idle.delete(conn);
    // A response closes once: a plain listener does (once() would wrap it anew per request).
    res.on('close', conn.responseClosed);
    if (forwarded !== undefined) {
      const key = forwarded;
      res.on('close', () => this.#release(key));
    }
    return false;
  }

  /** Calls `fn` with the HTTP socket of every open connection (a new idle timeout, say). */
  forEachSocket(fn: (socket: Socket) => void): void {
    for (const conn of this.#conns) if (conn.httpSocket && !conn.httpSocket.destroyed) fn(conn.httpSocket);
  }

  /** Counters and caps, for /status and /metrics. */
  figures(): ConnectionFigures {
    const { max, perAddress } = this.#options.limits();
    return {
      open: this.#conns.size,
      max: Number.isFinite(max) ? max : null,
      perAddressMax: Number.isFinite(perAddress) ? perAddress : null,
      refused: { ...this.#refused },
      evicted: this.#evicted,
    };
  }

  /** Stops the refusal log's timer (the listener closed). */
  stop(): void {
    if (this.#burst.timer) clearInterval(this.#burst.timer);
    this.#burst.timer = undefined;
  }

  #trustedSet(): AddressSet {
    const list = this.#options.trustedProxies?.() ?? [];
    if (list !== this.#trustedList) {
      this.#trustedList = list;
      this.#trusted = new AddressSet(list);
    }
    return this.#trusted;
  }

  #release(address: string): void {
    const n = (this.#byAddress.get(address) ?? 1) - 1;
    if (n > 0) this.#byAddress.set(address, n);
    else this.#byAddress.delete(address);
  }

  /** Closes the connection idle the longest, if it has been idle long enough. */
  #evictOne(): boolean {
    const oldest = this.#idle.values().next().value;
    if (oldest === undefined || this.#now() - oldest.idleSince < EVICT_AFTER_MS) return false;
    this.#idle.delete(oldest);
    oldest.evicted = true;
    this.#closing++;
    this.#evicted++;
    oldest.socket.destroy();
    return true;
  }

  /** Answers a refused socket with the 503 (or closes it) without handing it to HTTP. */
  #refuse(socket: Socket, reason: RefusalReason, address: string | undefined): false {
    this.#note(reason, address);
    socket.on('error', () => {});
    if (this.#options.tls || this.#lingering >= this.#maxLingering) {
      socket.destroy();
      return false;
    }
    // The answer goes out at once, before the request is read; the request is then read and
    // thrown away for a moment, because closing with unread bytes resets the connection, and
    // a reset can make the client drop the answer before reading it. The socket closes by
    // itself once the client has read it and closed its side, or when the moment is over.
    this.#lingering++;
    let discarded = 0;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) socket.destroy();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      this.#lingering--;
    });
    socket.end(REFUSAL);
    return false;
  }

  /** Counts a refusal and logs it: one line when a burst starts, then a sum every REFUSAL_LOG_MS. */
  #note(reason: RefusalReason, address: string | undefined): void {
    this.#refused[reason]++;
    const logger = this.#options.logger;
    if (!logger) return;
    const burst = this.#burst;
    if (burst.timer === undefined) {
      const { max, perAddress } = this.#options.limits();
      logger.warn('connections refused', {
        listener: this.#options.listener,
        reason,
        address,
        open: this.#conns.size,
        maxConnections: Number.isFinite(max) ? max : null,
        maxConnectionsPerAddress: Number.isFinite(perAddress) ? perAddress : null,
      });
      burst.timer = setInterval(() => this.#summarise(), REFUSAL_LOG_MS);
      burst.timer.unref();
      return;
    }
    burst.count++;
    burst.reasons.set(reason, (burst.reasons.get(reason) ?? 0) + 1);
    if (address !== undefined && (burst.addresses.has(address) || burst.addresses.size < 1000)) {
      burst.addresses.set(address, (burst.addresses.get(address) ?? 0) + 1);
    }
  }

  #summarise(): void {
    const burst = this.#burst;
    if (burst.count === 0) {
      this.stop();
      return;
    }
    const top = [...burst.addresses].sort((a, b) => b[1] - a[1]).slice(0, 3);
    this.#options.logger?.warn('connections refused', {
      listener: this.#options.listener,
      refused: burst.count,
      seconds: REFUSAL_LOG_MS / 1000,
      reasons: Object.fromEntries(burst.reasons),
      addresses: Object.fromEntries(top),
      open: this.#conns.size,
    });
    burst.count = 0;
    burst.reasons.clear();
    burst.addresses.clear();
  }
}
