/**
 * Reads a running serve's admin API (used by `fileupload status`): where it is (settings or a
 * --url), and GET /status or /metrics with a short timeout, with the admin token when the caller
 * has one (see admin-auth.ts). Every failure becomes an AdminUnreachableError whose message says
 * what to check.
 */
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { CHALLENGE_HEADER, isAdminProof, PROOF_HEADER } from './admin-auth.ts';
import type { AdminTarget } from './admin-server.ts';
import { isStatusSnapshot, type StatusSnapshot } from './snapshot.ts';

/**
 * serve's admin API did not answer, or something else answered.
 *
 * @example
 * try { await fetchStatus(target); } catch (err) { if (err instanceof AdminUnreachableError) process.exitCode = 4; }
 */
export class AdminUnreachableError extends Error {
  /** Where we tried, as `status --url` takes it. */
  readonly url: string;
  /** The HTTP status when something answered with another than 200 (401: wrong admin token). */
  readonly status: number | undefined;
  constructor(message: string, url: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'AdminUnreachableError';
    this.url = url;
    this.status = options?.status;
  }
}

/**
 * The admin target a client should use: the unix socket when configured, else 127.0.0.1:adminPort;
 * undefined when both are off.
 *
 * @example
 * adminClientTarget({ adminPort: 7444, adminSocket: undefined }); // { host: '127.0.0.1', port: 7444 }
 */
export function adminClientTarget(settings: {
  adminPort: number;
  adminSocket: string | undefined;
}): AdminTarget | undefined {
  if (settings.adminSocket !== undefined) return { socketPath: settings.adminSocket };
  if (settings.adminPort > 0) return { host: '127.0.0.1', port: settings.adminPort };
  return undefined;
}

/**
 * Parses a `--url`: `http://HOST:PORT` (a path after it is ignored), `unix:/path/to/socket`, or
 * an absolute socket path. Throws a RangeError naming the accepted forms.
 *
 * @example
 * parseAdminUrl('http://127.0.0.1:7444'); // { host: '127.0.0.1', port: 7444 }
 * parseAdminUrl('unix:/run/fileupload/admin.sock'); // { socketPath: '/run/fileupload/admin.sock' }
 */
export function parseAdminUrl(url: string): AdminTarget {
  const bad = () =>
    new RangeError(`"${url}" is not an admin API address: use http://127.0.0.1:PORT or unix:/path/to/socket`);
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length);
    if (!path.startsWith('/')) throw bad();
    return { socketPath: path };
  }
  if (url.startsWith('/')) return { socketPath: url };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad();
  }
  if (u.protocol !== 'http:' || u.hostname === '') throw bad();
  const port = u.port === '' ? 80 : Number(u.port);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * A target written as a URL (the form `--url` takes).
 *
 * @example
 * adminUrl({ host: '::1', port: 7444 }); // 'http://[::1]:7444'
 */
export function adminUrl(target: AdminTarget): string {
  if ('socketPath' in target) return `unix:${target.socketPath}`;
  return `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

export interface FetchOptions {
  /** Give up after this long (default 3 s). */
  timeoutMs?: number;
  /** The admin token (adminToken(slotSecret)): /status then names the uploads. */
  token?: string;
}

/**
 * GETs `path` of the admin API and returns the body of a 200 answer. With a token, the server
 * must first answer a fresh random challenge with the proof that it holds the token
 * (admin-auth.ts adminProof); only then is the token sent, so whatever else listens on the
 * admin port (serve down, a local user's program in its place) never receives it. A server
 * without the proof is answered as a wrong token: status 401.
 *
 * @example
 * const text = await fetchAdmin({ host: '127.0.0.1', port: 7444 }, '/metrics');
 */
export async function fetchAdmin(target: AdminTarget, path: string, options: FetchOptions = {}): Promise<string> {
  const url = adminUrl(target);
  const timeoutMs = options.timeoutMs ?? 3000;
  const headers: Record<string, string> = { Accept: '*/*', Connection: 'close' };
  if (options.token !== undefined) {
    const challenge = randomBytes(24).toString('base64url');
    const probe = await exchange(target, '/', { ...headers, [CHALLENGE_HEADER]: challenge }, timeoutMs);
    if (!isAdminProof(probe.headers[PROOF_HEADER], options.token, challenge)) {
      throw new AdminUnreachableError(
        `${url} did not prove it holds the admin token (serve runs with another slotSecret, or another program listens there): the token was not sent`,
        url,
        { status: 401 },
      );
    }
    headers.Authorization = `Bearer ${options.token}`;
  }
  const { status, body } = await exchange(target, path, headers, timeoutMs);
  if (status !== 200)
    throw new AdminUnreachableError(
      `${url}${path} answered ${status}: ${body.trim().slice(0, 200) || '(empty)'}`,
      url,
      { status },
    );
  return body;
}

/** One GET: the status, headers and body of the answer; AdminUnreachableError when there is none. */
function exchange(
  target: AdminTarget,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const url = adminUrl(target);
  return new Promise((resolve, reject) => {
    const where = 'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = request({ ...where, path, method: 'GET', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) =>
        reject(
          new AdminUnreachableError(`the admin API at ${url} broke off its answer: ${err.message}`, url, {
            cause: err,
          }),
        ),
      );
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new AdminUnreachableError(`nothing answered at ${url} within ${timeoutMs / 1000} s (is serve hanging?)`, url),
      );
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AdminUnreachableError(unreachableMessage(url, err), url, { cause: err }));
    });
    req.end();
  });
}

function unreachableMessage(url: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `serve is not running: nothing listens at ${url} (connection refused)`;
    case 'ENOENT':
      return `serve is not running: the socket ${url.slice('unix:'.length)} does not exist`;
    case 'EACCES':
      return `cannot open ${url}: permission denied (run as the serve user or a member of its group)`;
    case 'ECONNRESET':
      return `${url} closed the connection without answering`;
    default:
      return `cannot reach ${url}: ${err.code ?? err.message}`;
  }
}

/**
 * The live state of the serve at `target`.
 *
 * @example
 * const s = await fetchStatus({ host: '127.0.0.1', port: 7444 });
 * console.log(s.xmpp.state);
 */
export async function fetchStatus(target: AdminTarget, options: FetchOptions = {}): Promise<StatusSnapshot> {
  const body = await fetchAdmin(target, '/status', options);
  const url = adminUrl(target);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AdminUnreachableError(
      `${url}/status did not answer JSON: is something other than fileupload listening there?`,
      url,
    );
  }
  if (!isStatusSnapshot(parsed)) {
    throw new AdminUnreachableError(
      `${url}/status is not fileupload's status document: is something else listening there?`,
      url,
    );
  }
  return parsed;
}
