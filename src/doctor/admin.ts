/**
 * Reads the live state of a running serve from its admin API (`GET /status`, see
 * src/status/snapshot.ts), on the unix socket (adminSocket) or the loopback port (adminPort).
 * Doctor uses it to tell whether serve runs, and to report serve's XMPP connection instead of
 * disturbing it with a second handshake.
 */
import { request } from 'node:http';
import type { Settings } from '../config/settings.ts';

/** The part of serve's /status doctor relies on (only `xmpp.state` is required). */
export interface LiveXmpp {
  /** connecting, online, offline, auth-failed, conflict, standby (or a future state). */
  state: string;
  /** serve's reason for the state, when it gave one. */
  lastError?: string;
}

/** What the admin API answered. */
export interface LiveStatus {
  /** Where it answered, for messages. */
  where: string;
  xmpp: LiveXmpp | undefined;
  /** serve's clock (`now` of the snapshot, else the Date header), ms since epoch. */
  serveTime: number | undefined;
  pid: number | undefined;
  version: string | undefined;
}

/** One place the admin API may listen. */
export type AdminEndpoint = { host: string; port: number } | { socketPath: string };

/**
 * Where serve's admin API listens according to the settings, the unix socket first (as
 * `fileupload status` prefers it).
 *
 * @example
 * adminEndpoints({ adminPort: 7444, adminSocket: undefined }); // [{ host: '127.0.0.1', port: 7444 }]
 */
export function adminEndpoints(settings: Pick<Settings, 'adminPort' | 'adminSocket'>): AdminEndpoint[] {
  const out: AdminEndpoint[] = [];
  if (settings.adminSocket !== undefined) out.push({ socketPath: settings.adminSocket });
  if (settings.adminPort > 0) out.push({ host: '127.0.0.1', port: settings.adminPort });
  return out;
}

/**
 * Extracts what doctor needs from a /status document; undefined when it is not one. Pure.
 *
 * @example
 * parseLiveStatus({ xmpp: { state: 'online', detail: null }, now: 1 }, 'http://127.0.0.1:7444', undefined);
 */
export function parseLiveStatus(doc: unknown, where: string, dateHeader: string | undefined): LiveStatus | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  let xmpp: LiveXmpp | undefined;
  const x = d.xmpp;
  if (typeof x === 'object' && x !== null && typeof (x as { state?: unknown }).state === 'string') {
    const detail = (x as { detail?: unknown }).detail;
    xmpp = {
      state: (x as { state: string }).state,
      ...(typeof detail === 'string' && detail !== '' ? { lastError: detail } : {}),
    };
  }
  const fromHeader = dateHeader !== undefined ? Date.parse(dateHeader) : NaN;
  const serveTime = typeof d.now === 'number' ? d.now : Number.isFinite(fromHeader) ? fromHeader : undefined;
  if (xmpp === undefined && serveTime === undefined) return undefined;
  return {
    where,
    xmpp,
    serveTime,
    pid: typeof d.pid === 'number' ? d.pid : undefined,
    version: typeof d.version === 'string' ? d.version : undefined,
  };
}

function getStatus(endpoint: AdminEndpoint, timeoutMs: number): Promise<LiveStatus | undefined> {
  const where = 'socketPath' in endpoint ? endpoint.socketPath : `http://${endpoint.host}:${endpoint.port}`;
  return new Promise((resolve) => {
    const req = request(
      { ...endpoint, path: '/status', method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          // A status document is small; anything huge is not serve.
          if (size > 4 * 1024 * 1024) req.destroy();
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(undefined);
          try {
            resolve(parseLiveStatus(JSON.parse(Buffer.concat(chunks).toString('utf8')), where, res.headers.date));
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * Asks serve's admin API for its live state; undefined when no endpoint answers with a status.
 *
 * @example
 * const live = await fetchLiveStatus(adminEndpoints(settings), 1500);
 * if (live?.xmpp?.state === 'online') console.log('serve is connected');
 */
export async function fetchLiveStatus(
  endpoints: readonly AdminEndpoint[],
  timeoutMs: number,
): Promise<LiveStatus | undefined> {
  for (const e of endpoints) {
    const s = await getStatus(e, timeoutMs);
    if (s !== undefined) return s;
  }
  return undefined;
}
