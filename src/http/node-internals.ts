/**
 * Every field of Node's own objects that serve reads or writes without a public API, in one
 * place: the descriptor and read controls of a socket's TCP handle (sendfile, splice), the head a
 * response holds until it is sent (send-now.ts, head-memo.ts), whether a response ends its
 * connection's last allowed request, and the TCP socket under a TLS one (connection-limit.ts).
 * Each is checked for its type where it is read, so a change in Node turns the fast path off
 * instead of breaking a request; node-internals.test.ts fails on such a change.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The parts of Node's TCP handle (`socket._handle`) that splice and sendfile use. */
export interface TcpHandle {
  fd: number;
  /** Whether Node has asked the handle for data; Node checks it before readStart(). */
  reading: boolean;
  readStop: () => number;
  readStart: () => number;
}

interface SocketInternals {
  _handle?: { fd?: unknown; reading?: unknown; readStop?: unknown; readStart?: unknown } | null;
  _parent?: unknown;
}

interface ResponseInternals {
  /** The head writeHead() built, until it is sent; null before. */
  _header?: unknown;
  /** Whether the head went out. */
  _headerSent?: unknown;
  /** Set by Node's server on the response to a connection's last allowed request. */
  maxRequestsOnConnectionReached?: unknown;
}

/**
 * The descriptor under a net.Socket (Node's TCP handle has it on Unix).
 *
 * @example
 * const fd = socketFd(res.socket); // undefined: a pipe, or closed
 */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as SocketInternals)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Node's TCP handle under `socket` when it has a usable descriptor and read controls.
 *
 * @example
 * const handle = tcpHandle(req.socket);
 * if (handle) handle.readStop();
 */
export function tcpHandle(socket: Socket): TcpHandle | undefined {
  const handle = (socket as unknown as SocketInternals)._handle;
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0) return undefined;
  if (typeof handle.readStop !== 'function' || typeof handle.readStart !== 'function') return undefined;
  return handle as TcpHandle;
}

/**
 * The TCP socket a server-side TLS socket was made on (what the server's 'connection' saw).
 *
 * @example
 * server.on('secureConnection', (tlsSocket) => track(tcpSocketOf(tlsSocket)));
 */
export function tcpSocketOf(tlsSocket: Socket): Socket | undefined {
  const parent = (tlsSocket as unknown as SocketInternals)._parent;
  return typeof parent === 'object' && parent !== null ? (parent as Socket) : undefined;
}

/**
 * The head writeHead() left on `res` while it has not been sent; undefined before writeHead()
 * and once it is out.
 *
 * @example
 * res.writeHead(200, headers);
 * const head = waitingHead(res); // 'HTTP/1.1 200 OK\r\n…\r\n\r\n'
 */
export function waitingHead(res: ServerResponse): string | undefined {
  const internals = res as unknown as ResponseInternals;
  return typeof internals._header === 'string' && internals._headerSent === false ? internals._header : undefined;
}

/**
 * True while no head is on `res` (writeHead() has not run), so one may be put there.
 *
 * @example
 * if (headless(res)) putHead(res, cachedHead);
 */
export function headless(res: ServerResponse): boolean {
  return (res as unknown as ResponseInternals)._header == null;
}

/**
 * Puts `head` on `res` as if writeHead() had built it: Node sends it before the body, at the
 * response's first write or end().
 *
 * @example
 * putHead(res, head.slice(sent)); // the rest of a head partly sent already
 */
export function putHead(res: ServerResponse, head: string): void {
  (res as unknown as ResponseInternals)._header = head;
}

/**
 * Tells Node that the head of `res` has gone out (it was written to the socket beside Node).
 *
 * @example
 * send(fd, head, body); markHeadSent(res); res.end();
 */
export function markHeadSent(res: ServerResponse): void {
  (res as unknown as ResponseInternals)._headerSent = true;
}

/**
 * Whether `res` answers its connection's last allowed request (Node then closes the connection
 * and writes its head differently); undefined when Node does not say.
 *
 * @example
 * if (lastRequestOnConnection(res) === false) reuseHead(res);
 */
export function lastRequestOnConnection(res: ServerResponse): boolean | undefined {
  const reached = (res as unknown as ResponseInternals).maxRequestsOnConnectionReached;
  return typeof reached === 'boolean' ? reached : undefined;
}
