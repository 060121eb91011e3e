/**
 * serve's admin API: Prometheus `/metrics` and the JSON `/status` (see snapshot.ts), on a loopback
 * TCP port or a unix socket. Counters are for any local user; what identifies an upload (slot id,
 * file name, uploader) only for requests over the socket (mode 0600) or with the admin token
 * (see admin-auth.ts). It refuses to listen where other hosts could reach it unless told to, and
 * answers only loopback Host names over TCP (a web page cannot read it through DNS rebinding).
 * With the admin credential it also lists and deletes a user's uploads (`/uploads`, the same
 * operations as the ad-hoc commands), and lists the blocklist and takes files down
 * (`/blocklist`).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { isIPv4, isIPv6 } from 'node:net';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { Hono, type Context as HonoContext } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { Logger } from '../log.ts';
import type { LiveState } from './live.ts';
import type { MetricsSource } from './metrics-source.ts';
import { ConnectionGuard } from '../http/connection-limit.ts';
import { lazyRequestListener, nodeAdapter } from '../http/node-adapter.ts';
import {
  adminProof,
  adminToken,
  checkAdminCredential,
  CHALLENGE_HEADER,
  PROOF_HEADER,
  type AdminCredential,
} from './admin-auth.ts';
import { withoutUploadDetails } from './snapshot.ts';
import { errCode } from '../errno.ts';
import type { CommandOperations } from '../xmpp/commands.ts';
import { bareJid, parseJid } from '../xmpp/jid.ts';
import { isStoredId } from '../slots/id.ts';

/**
 * Connection caps of each admin listener: a scraper and a few status views need a handful; a
 * local user holding sockets open must not take descriptors serve needs (these are part of the
 * descriptors the HTTP endpoint's derived cap keeps in reserve).
 */
const ADMIN_CONNECTION_LIMITS = { max: 32, perAddress: 8 };

/** Where the admin API listens: a TCP port on a host, or a unix socket. */
export type AdminTarget = { host: string; port: number } | { socketPath: string };

export interface AdminServerOptions {
  live: LiveState;
  registry: MetricsSource;
  /** Listen address; default 127.0.0.1. Anything but loopback needs `allowNonLoopback`. */
  host?: string;
  /** TCP port (0 = any free port, for tests). */
  port?: number;
  /**
   * Unix socket path instead of a port (created with mode 0600; a stale socket is replaced).
   * Requests over it see upload details without a token: only the service user and root reach it.
   */
  socketPath?: string;
  /**
   * The bearer token that shows upload details over TCP (see adminToken); without one, TCP
   * readers see counters only.
   */
  token?: string;
  /** Lets `host` be a non-loopback address: the API is then reachable from other hosts. */
  allowNonLoopback?: boolean;
  /** The repository's blocklist, for the /blocklist routes (404 without). */
  blocklist?: AdminBlocklist;
  log?: Logger;
  /** A user's uploads behind `/uploads` (asked per request: serve sets them once its index is open). */
  uploads?: () => CommandOperations | undefined;
}

/**
 * What the /blocklist routes call; serve wires in the repository's blocklist and the takedown
 * that `fileupload blocklist add` runs (src/blocklist/takedown.ts).
 */
export interface AdminBlocklist {
  /** The entries, as `blocklist ls --json` prints them. */
  entries(): Promise<readonly object[]>;
  /**
   * Takes down `target` (an upload URL or id, or a sha256) and answers what was done. Rejects with
   * an error carrying `status` 400 (not a target) or 404 (no such upload) for the client's mistakes.
   */
  takeDown(request: { target: string; note: string; by: string }): Promise<object>;
}

/** A running admin listener. */
export interface AdminServer {
  /** `http://127.0.0.1:7444` or `unix:/run/fileupload/admin.sock` (what `status --url` takes). */
  url: string;
  target: AdminTarget;
  /** Stops listening and drops idle keep-alive connections. */
  close(): Promise<void>;
}

/**
 * The admin API could not listen; the message says why and what to change.
 *
 * @example
 * try { await startAdminServers(opts); } catch (err) { if (err instanceof AdminBindError) throw new ServeConfigError(err.message); }
 */
export class AdminBindError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminBindError';
  }
}

/**
 * True for names and addresses that only this machine can reach: localhost, 127.0.0.0/8, ::1
 * (also IPv4-mapped and in brackets).
 *
 * @example
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    if (h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped?.[1] !== undefined && mapped[1].startsWith('127.');
  }
  return false;
}

/** The host part of a Host header (`[::1]:7444` → `::1`, `localhost:7444` → `localhost`). */
function hostOfHeader(value: string): string {
  const v = value.trim();
  if (v.startsWith('[')) return v.slice(1, v.indexOf(']') === -1 ? undefined : v.indexOf(']'));
  const colon = v.lastIndexOf(':');
  return colon === -1 ? v : v.slice(0, colon);
}

/**
 * Where serve's admin API listens, from the settings: the TCP port (unless 0) and the unix socket
 * (when set), each on loopback.
 *
 * @example
 * for (const t of adminListenTargets(settings)) servers.push(await startAdminServer({ live, registry, ...t }));
 */
export function adminListenTargets(settings: { adminPort: number; adminSocket: string | undefined }): AdminTarget[] {
  const targets: AdminTarget[] = [];
  if (settings.adminPort > 0) targets.push({ host: '127.0.0.1', port: settings.adminPort });
  if (settings.adminSocket !== undefined) targets.push({ socketPath: settings.adminSocket });
  return targets;
}

/**
 * Starts the admin API.
 *
 * @example
 * const admin = await startAdminServer({ live, registry, port: 7444 });
 * // curl http://127.0.0.1:7444/metrics
 * await admin.close();
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { live, registry } = options;
  const host = options.host ?? '127.0.0.1';
  const socketPath = options.socketPath;
  if (socketPath !== undefined && options.port !== undefined) {
    throw new AdminBindError('admin API: give either a port or a socket path, not both (start two listeners for both)');
  }
  if (socketPath === undefined && options.port === undefined)
    throw new AdminBindError('admin API: neither a port nor a socket path was given');
  if (socketPath === undefined && !options.allowNonLoopback && !isLoopbackHost(host)) {
    throw new AdminBindError(
      `admin API: refusing to listen on ${host}: it is not a loopback address, so other hosts could read the metrics and the status ` +
        `(uploaders, file names). Listen on 127.0.0.1 or ::1 and put an authenticating proxy in front, or allow it explicitly (allowNonLoopback).`,
    );
  }

  const context: Context = {
    live,
    registry,
    checkHost: socketPath === undefined && !options.allowNonLoopback,
    overSocket: socketPath !== undefined,
    token: options.token,
    uploads: options.uploads ?? (() => undefined),
    blocklist: options.blocklist,
  };
  const app = adminApp(context, options.log);
  const listener = lazyRequestListener(({ getRequestListener, RequestError }) =>
    getRequestListener(app.fetch, {
      hostname: 'localhost',
      // As the HTTP endpoint's (src/http/app.ts): HEAD answers that write themselves stay sent.
      overrideGlobalObjects: false,
      // A target or Host header the Web Request cannot hold is a bad request; anything else here
      // failed outside the routes (their failures are onError's).
      errorHandler: (err: unknown) => {
        if (err instanceof RequestError) return textResponse(400, 'bad request\n');
        options.log?.error('admin request failed', { err });
        return textResponse(500, 'internal error\n');
      },
    }),
  );
  const server = createServer((req, res) => {
    listener(req, res).catch((err: unknown) => {
      options.log?.error('admin request failed', { err });
      res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const guard = new ConnectionGuard({
    listener: 'admin',
    limits: () => ADMIN_CONNECTION_LIMITS,
    maxLingering: 8,
    ...(options.log ? { logger: options.log } : {}),
  });
  guard.attach(server);
  server.prependListener('request', (req, res) => guard.request(req, res));
  server.once('listening', () => {
    const unwatch = live.watchConnections('admin', () => guard.figures());
    server.once('close', () => {
      guard.stop();
      unwatch();
    });
  });

  if (socketPath !== undefined) {
    await clearStaleSocket(socketPath);
    await listen(server, { path: socketPath }, `unix socket ${socketPath}`);
    // Owner only: requests over the socket see who uploads what, without a token.
    await chmod(socketPath, 0o600);
    return { url: `unix:${socketPath}`, target: { socketPath }, close: () => closeServer(server) };
  }
  const port = options.port ?? 0;
  await listen(server, { host, port }, `${host.includes(':') ? `[${host}]` : host}:${port}`);
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${bound}`, target: { host, port: bound }, close: () => closeServer(server) };
}

interface Context {
  live: LiveState;
  registry: MetricsSource;
  checkHost: boolean;
  /** Requests arrive over the unix socket (0600): they count as authenticated. */
  overSocket: boolean;
  /** The admin token; undefined: no TCP request sees upload details. */
  token: string | undefined;
  uploads: () => CommandOperations | undefined;
  blocklist: AdminBlocklist | undefined;
}

const INDEX =
  'fileupload admin API\n\nGET /metrics  Prometheus metrics\nGET /status   live state as JSON (see fileupload-status(1));\n' +
  '              file names and uploaders need "Authorization: Bearer TOKEN" or the unix socket\n' +
  "GET    /uploads?user=JID[&offset=N&limit=N]  a user's stored uploads, newest first (admin credential)\n" +
  'DELETE /uploads?user=JID[&id=ID...]          deletes those of the user, or all of them (admin credential)\n' +
  'GET    /uploads/statistics                   uploads, bytes, top uploaders, quotas (admin credential)\n' +
  'GET    /blocklist                            the blocked sha256 hashes (admin credential)\n' +
  'POST   /blocklist/takedown                   {"target": URL, id or sha256, "note": why}: blocks the bytes and\n' +
  '                                             removes every stored copy (admin credential)\n';

type AdminEnv = { Bindings: HttpBindings; Variables: { credential: AdminCredential } };

const TEXT = 'text/plain; charset=utf-8';
/** On every answer of the admin API besides its type and length. */
const ADMIN_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * The admin API's routes. Every request passes the checks first, in this order: GET or HEAD
 * (405; also DELETE under /uploads and POST /blocklist/takedown), a loopback Host over TCP
 * (403), the token when one is sent (401).
 */
function adminApp(ctx: Context, log: Logger | undefined): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.use(async (c, next) => {
    const req = c.env.incoming;
    const res = c.env.outgoing;
    const path = c.req.path;
    const allowed =
      req.method === 'GET' ||
      req.method === 'HEAD' ||
      (req.method === 'DELETE' && isUploadsPath(req.url)) ||
      (req.method === 'POST' && path === TAKEDOWN_PATH);
    if (!allowed) {
      if (path === TAKEDOWN_PATH) {
        res.setHeader('Allow', 'POST');
        return reply(c, 405, TEXT, 'method not allowed: a takedown is a POST\n');
      }
      res.setHeader('Allow', isUploadsPath(req.url) ? 'GET, HEAD, DELETE' : 'GET, HEAD');
      return reply(c, 405, TEXT, 'method not allowed: the admin API is read-only (GET)\n');
    }
    if (ctx.checkHost) {
      const header = req.headers.host;
      if (header !== undefined && !isLoopbackHost(hostOfHeader(header))) {
        return reply(c, 403, TEXT, 'forbidden: the admin API answers loopback host names only\n');
      }
    }
    // Proves to a client that this is serve before it sends the token (see adminProof).
    const challenge = req.headers[CHALLENGE_HEADER];
    const proof =
      ctx.token !== undefined && typeof challenge === 'string' ? adminProof(ctx.token, challenge) : undefined;
    if (proof !== undefined) res.setHeader(PROOF_HEADER, proof);
    const credential = ctx.overSocket ? 'valid' : checkAdminCredential(req.headers.authorization, ctx.token);
    if (credential === 'wrong') {
      // A wrong token is an error, not an anonymous request: its sender expects upload details.
      res.setHeader('WWW-Authenticate', 'Bearer realm="fileupload admin API"');
      return reply(
        c,
        401,
        TEXT,
        'unauthorized: wrong admin token (is it derived from the slotSecret serve runs with?)\n',
      );
    }
    c.set('credential', credential);
    await next();
    return undefined;
  });
  app.get('/metrics', async (c) => {
    const text = await ctx.registry.metrics();
    return reply(c, 200, ctx.registry.contentType, text);
  });
  app.get('/status', (c) => {
    const snapshot = ctx.live.snapshot();
    const shown = c.get('credential') === 'valid' ? snapshot : withoutUploadDetails(snapshot);
    return reply(c, 200, 'application/json; charset=utf-8', `${JSON.stringify(shown)}\n`);
  });
  uploadRoutes(app, ctx, log);
  app.get('/', (c) => reply(c, 200, TEXT, INDEX));
  blocklistRoutes(app, ctx, log);
  app.notFound((c) => reply(c, 404, TEXT, 'not found: try /metrics or /status\n'));
  app.onError((err, c) => {
    const res = c.env.outgoing;
    log?.error('admin request failed', { err, url: c.env.incoming.url });
    if (!res.headersSent) return reply(c, 500, TEXT, 'internal error\n');
    res.destroy();
    return nodeAdapter().RESPONSE_ALREADY_SENT;
  });
  return app;
}

const isUploadsPath = (url: string | undefined): boolean => url === '/uploads' || /^\/uploads[?/]/.test(url ?? '');
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `/uploads`: a user's uploads for the service admins, the operations of the ad-hoc commands
 * (xmpp/commands.ts). Everything here needs the admin credential (token or unix socket), reading
 * included: the answers name files.
 */
function uploadRoutes(app: Hono<AdminEnv>, ctx: Context, log: Logger | undefined): void {
  const MAX_LIMIT = 1000;
  const allowed = (c: HonoContext<AdminEnv>): Response | CommandOperations => {
    if (c.get('credential') !== 'valid') {
      c.env.outgoing.setHeader('WWW-Authenticate', 'Bearer realm="fileupload admin API"');
      return reply(c, 401, TEXT, 'unauthorized: /uploads needs "Authorization: Bearer TOKEN" or the unix socket\n');
    }
    const ops = ctx.uploads();
    return ops ?? reply(c, 503, TEXT, 'unavailable: the repository index is not open yet\n');
  };
  const userOf = (c: HonoContext<AdminEnv>): string | Response => {
    const given = c.req.query('user');
    const jid = given === undefined ? undefined : parseJid(given.trim());
    if (jid === undefined || jid.local === '' || jid.resource !== '')
      return reply(c, 400, TEXT, 'bad request: user=JID must be a bare JID such as alice@example.org\n');
    return bareJid(jid);
  };
  const count = (text: string | undefined, fallback: number, max: number): number | undefined => {
    if (text === undefined) return fallback;
    return /^\d{1,9}$/.test(text) && Number(text) <= max ? Number(text) : undefined;
  };
  app.get('/uploads/statistics', async (c) => {
    const ops = allowed(c);
    if (ops instanceof Response) return ops;
    return reply(c, 200, JSON_TYPE, `${JSON.stringify(await ops.statistics())}\n`);
  });
  app.get('/uploads', async (c) => {
    const ops = allowed(c);
    if (ops instanceof Response) return ops;
    const user = userOf(c);
    if (user instanceof Response) return user;
    const offset = count(c.req.query('offset'), 0, 1e9);
    const limit = count(c.req.query('limit'), 100, MAX_LIMIT);
    if (offset === undefined || limit === undefined)
      return reply(c, 400, TEXT, `bad request: offset and limit are whole numbers (limit at most ${MAX_LIMIT})\n`);
    const [page, quota] = await Promise.all([ops.userUploads(user, offset, limit), ops.quotaUse(user)]);
    return reply(c, 200, JSON_TYPE, `${JSON.stringify({ user, ...page, quota })}\n`);
  });
  app.delete('/uploads', async (c) => {
    const ops = allowed(c);
    if (ops instanceof Response) return ops;
    const user = userOf(c);
    if (user instanceof Response) return user;
    const ids = c.req.queries('id') ?? [];
    const bad = ids.filter((id) => !isStoredId(id));
    if (bad.length > 0) return reply(c, 400, TEXT, `bad request: not an upload id: ${JSON.stringify(bad[0])}\n`);
    const outcome = await ops.removeUploads(user, ids.length > 0 ? ids : 'all');
    log?.info('uploads removed via the admin API', {
      user,
      ids: outcome.removed.map((r) => r.id),
      ...(outcome.missing.length > 0 ? { missing: outcome.missing } : {}),
    });
    // Ids that are not the user's (or gone) are named: 404 when none was removed.
    const status = outcome.removed.length === 0 && outcome.missing.length > 0 ? 404 : 200;
    return reply(c, status, JSON_TYPE, `${JSON.stringify({ user, ...outcome })}\n`);
  });
}

/** The one route that changes something: POST only, with the admin credential. */
const TAKEDOWN_PATH = '/blocklist/takedown';
/** A takedown request is a URL and a note: anything longer is no such request. */
const MAX_TAKEDOWN_BODY = 16 * 1024;

/** The blocklist routes: listing and takedown, each only with the admin credential. */
function blocklistRoutes(app: Hono<AdminEnv>, ctx: Context, log: Logger | undefined): void {
  const refused = (c: HonoContext<AdminEnv>): Response | undefined => {
    if (!ctx.blocklist) return reply(c, 404, TEXT, 'not found: this serve has no blocklist\n');
    if (c.get('credential') === 'valid') return undefined;
    c.env.outgoing.setHeader('WWW-Authenticate', 'Bearer realm="fileupload admin API"');
    return reply(c, 401, TEXT, 'unauthorized: the blocklist needs "Authorization: Bearer TOKEN" or the unix socket\n');
  };
  app.get('/blocklist', async (c) => {
    const no = refused(c);
    if (no) return no;
    const entries = await ctx.blocklist!.entries();
    return reply(c, 200, 'application/json; charset=utf-8', `${JSON.stringify({ entries })}\n`);
  });
  app.post(TAKEDOWN_PATH, async (c) => {
    const no = refused(c);
    if (no) return no;
    const text = await readBody(c.env.incoming, MAX_TAKEDOWN_BODY);
    let request: { target?: unknown; note?: unknown } | undefined;
    try {
      request = text === undefined ? undefined : (JSON.parse(text) as typeof request);
    } catch {
      request = undefined;
    }
    if (typeof request?.target !== 'string' || (request.note !== undefined && typeof request.note !== 'string'))
      return reply(c, 400, TEXT, 'bad request: expected {"target": "URL, id or sha256", "note": "why"}\n');
    try {
      const result = await ctx.blocklist!.takeDown({
        target: request.target,
        note: typeof request.note === 'string' ? request.note : '',
        by: 'admin API',
      });
      return reply(c, 200, 'application/json; charset=utf-8', `${JSON.stringify(result)}\n`);
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 400 || status === 404) return reply(c, status, TEXT, `${(err as Error).message}\n`);
      log?.error('takedown failed', { err });
      return reply(c, 500, TEXT, 'internal error\n');
    }
  });
}

/** The request body as text; undefined when longer than `max` bytes. */
async function readBody(req: NodeJS.ReadableStream, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A text answer as a Web Response, for where no Node response is at hand. */
function textResponse(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': TEXT, ...ADMIN_HEADERS } });
}

/** Answers on the Node response (headers set on it before, like Allow, go along). */
function reply(c: HonoContext<AdminEnv>, status: number, type: string, body: string): Response {
  const res: ServerResponse = c.env.outgoing;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': bytes.length, ...ADMIN_HEADERS });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
  return nodeAdapter().RESPONSE_ALREADY_SENT;
}

function listen(
  server: Server,
  where: { host: string; port: number } | { path: string },
  label: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const hint =
        err.code === 'EADDRINUSE'
          ? 'it is in use (is another serve running?); set plugin.httpfileupload.adminPort to a free port, or 0 to turn the admin API off'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no such local address'
              : err.code === 'ENOENT'
                ? 'its folder does not exist'
                : err.message;
      reject(new AdminBindError(`admin API: cannot listen on ${label}: ${hint}`, { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if ('path' in where) {
      // The socket is bound inside listen(): with this umask it is 0600 from its first moment,
      // so nobody else can connect (and keep the connection open) before startAdminServer chmods it.
      const umask = process.umask(0o177);
      try {
        server.listen(where.path);
      } finally {
        process.umask(umask);
      }
    } else server.listen(where.port, where.host);
  });
}

/** Removes a socket file nobody listens on (left by a killed serve); refuses anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket())
    throw new AdminBindError(`admin API: ${path} exists and is not a socket; remove it or choose another adminSocket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new AdminBindError(`admin API: another process is listening on ${path} (is another serve running?)`);
  await unlink(path);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Every admin listener of a serve. */
export interface AdminServers {
  /** One per listener (empty when the admin API is off). */
  urls: string[];
  close(): Promise<void>;
}

/**
 * Starts the admin API wherever the settings say (adminPort on 127.0.0.1, adminSocket); none when
 * both are off. The admin token is derived from slotSecret. If one cannot listen, the others are
 * closed and the AdminBindError is thrown.
 *
 * @example
 * const admin = await startAdminServers({ settings, live, registry: createMetricsRegistry(live), log });
 * log.info('admin API', { urls: admin.urls });
 * // on shutdown: await admin.close();
 */
export async function startAdminServers(options: {
  settings: { adminPort: number; adminSocket: string | undefined; slotSecret?: string | undefined };
  live: LiveState;
  registry: MetricsSource;
  blocklist?: AdminBlocklist;
  log?: Logger;
  uploads?: () => CommandOperations | undefined;
}): Promise<AdminServers> {
  const token = options.settings.slotSecret !== undefined ? adminToken(options.settings.slotSecret) : undefined;
  const started: AdminServer[] = [];
  const close = async () => {
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    for (const target of adminListenTargets(options.settings)) {
      started.push(
        await startAdminServer({
          live: options.live,
          registry: options.registry,
          ...(token !== undefined ? { token } : {}),
          ...(options.log ? { log: options.log } : {}),
          ...(options.uploads ? { uploads: options.uploads } : {}),
          ...(options.blocklist ? { blocklist: options.blocklist } : {}),
          ...target,
        }),
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { urls: started.map((s) => s.url), close };
}
