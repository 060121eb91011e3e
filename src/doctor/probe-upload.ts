/**
 * The probe upload doctor sends through the announced URL (and, with --as, through the XMPP
 * server): a small random text, an HTTP PUT, a GET that must return the same bytes with serve's
 * safe headers, and the removal of the probe from the repository afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Settings } from '../config/settings.ts';
import { describeError, errorCode } from './result.ts';
import { probeHttp } from './http-probe.ts';

/** The probe's file name and type. */
export const PROBE_FILENAME = 'fileupload-doctor-probe.txt';
export const PROBE_CONTENT_TYPE = 'text/plain';

/**
 * A fresh probe body: a line of text with 24 random bytes (so a cache or another server cannot
 * answer with the right bytes by accident).
 *
 * @example
 * const body = probeBody(); // Buffer 'fileupload doctor probe …\n'
 */
export function probeBody(): Buffer {
  return Buffer.from(`fileupload doctor probe ${randomBytes(24).toString('base64url')}\n`);
}

/**
 * Hex SHA-256 of bytes.
 *
 * @example
 * sha256(Buffer.from('a')); // 'ca978112…'
 */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** How one HTTP step of a probe went. */
export type StepOutcome =
  | { ok: true; status: number; headers: IncomingHttpHeaders; body: Buffer }
  | { ok: false; status: number; body: string }
  | ({ ok: false } & ConnectionFailure);

/** A request that got no HTTP answer: the error, its code, and the names of a certificate it rejected. */
export interface ConnectionFailure {
  error: string;
  code: string | undefined;
  /** The rejected certificate's subjectAltName ("DNS:a, DNS:b"), when TLS verification failed. */
  certNames?: string;
}

/**
 * What went wrong with a request, for explainTlsFailure and the check messages.
 *
 * @example
 * connectionFailure(err); // { error: 'connect ECONNREFUSED 127.0.0.1:7443', code: 'ECONNREFUSED' }
 */
export function connectionFailure(err: unknown): ConnectionFailure {
  const names = (err as { cert?: { subjectaltname?: unknown } } | undefined)?.cert?.subjectaltname;
  return {
    error: describeError(err),
    code: errorCode(err),
    ...(typeof names === 'string' && names !== '' ? { certNames: names } : {}),
  };
}

/**
 * PUTs the probe body to `putUrl` (with the slot's headers); ok on 200/201.
 *
 * @example
 * const put = await putProbe(urls.put, body, {}, 4000);
 */
export async function putProbe(
  putUrl: string,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<StepOutcome> {
  try {
    const r = await probeHttp(putUrl, {
      method: 'PUT',
      body,
      headers: { ...headers, 'content-type': PROBE_CONTENT_TYPE },
      timeoutMs,
    });
    if (r.status === 200 || r.status === 201) return { ok: true, status: r.status, headers: r.headers, body: r.body };
    return { ok: false, status: r.status, body: r.body.toString('utf8', 0, 200).trim() };
  } catch (err) {
    return { ok: false, ...connectionFailure(err) };
  }
}

/** The Origin the probe GET sends when serve allows any origin. */
const ANY_ORIGIN_PROBE = 'https://doctor.invalid';

/**
 * The Origin for the probe GET: one that corsOrigins allows, so that a missing
 * Access-Control-Allow-Origin in the answer means something in between dropped it, not that
 * serve's CORS policy refused the probe's origin. Pure.
 *
 * @example
 * probeOrigin(['*']);                          // 'https://doctor.invalid'
 * probeOrigin(['https://chat.example.org']);   // 'https://chat.example.org'
 */
export function probeOrigin(corsOrigins: readonly string[]): string {
  if (corsOrigins.length === 0 || corsOrigins.includes('*')) return ANY_ORIGIN_PROBE;
  return corsOrigins[0] ?? ANY_ORIGIN_PROBE;
}

/**
 * GETs `getUrl` with an Origin header (see probeOrigin); ok on 200 (the body is compared by the
 * caller).
 *
 * @example
 * const got = await getProbe(urls.get, 4000, probeOrigin(settings.corsOrigins));
 */
export async function getProbe(
  getUrl: string,
  timeoutMs: number,
  origin: string = ANY_ORIGIN_PROBE,
): Promise<StepOutcome> {
  try {
    const r = await probeHttp(getUrl, { method: 'GET', timeoutMs, headers: { origin } });
    if (r.status === 200) return { ok: true, status: r.status, headers: r.headers, body: r.body };
    return { ok: false, status: r.status, body: r.body.toString('utf8', 0, 200).trim() };
  } catch (err) {
    return { ok: false, ...connectionFailure(err) };
  }
}

/**
 * The safe headers serve sends that a reverse proxy in between dropped or changed. Pure.
 *
 * @example
 * missingSafeHeaders({ 'x-content-type-options': 'nosniff' }); // ['Content-Security-Policy', 'Access-Control-Allow-Origin']
 */
export function missingSafeHeaders(headers: IncomingHttpHeaders): string[] {
  const missing: string[] = [];
  if (headers['x-content-type-options'] !== 'nosniff') missing.push('X-Content-Type-Options');
  if (!String(headers['content-security-policy'] ?? '').includes("default-src 'none'"))
    missing.push('Content-Security-Policy');
  if (headers['access-control-allow-origin'] === undefined) missing.push('Access-Control-Allow-Origin');
  return missing;
}

/**
 * What a report says about a probe upload after removeProbe: nothing when it was removed. An
 * ephemeral probe expires by itself; any other needs `slots rm`.
 *
 * @example
 * leftNote('removed', 'ephemeral', id);   // ''
 * leftNote('not-local', 'message', id);   // '; the probe upload … stays: remove it with fileupload slots rm …'
 */
export function leftNote(
  removal: string | undefined,
  purpose: 'ephemeral' | 'message',
  id: string | undefined,
): string {
  if (removal === 'removed') return '';
  const why =
    removal === 'not-local'
      ? 'fileRepo is not set here'
      : removal === 'not-found'
        ? 'it was not in the repository'
        : (removal ?? 'not tried');
  if (purpose === 'ephemeral') return `; the probe upload stays until it expires and purge removes it (${why})`;
  return `; the probe upload ${id ?? ''} stays (${why}): remove it with fileupload slots rm ${id ?? 'ID'}`;
}

/**
 * Removes a probe upload from the local repository (the fileRepo folder) and from the inventory
 * serve keeps, its slot included (inventory/removal.ts), so doctor leaves nothing listed. Never
 * throws: says what happened.
 *
 * @example
 * await removeProbe(settings, id); // 'removed' | 'not-local' | 'not-found' | 'failed: …'
 */
export async function removeProbe(settings: Settings, id: string): Promise<string> {
  if (settings.fileRepo === undefined) return 'not-local';
  try {
    const [{ openStorage }, { Ledger }, { liveSlots, removeForGood }] = await Promise.all([
      import('../repository/open.ts'),
      import('../inventory/ledger.ts'),
      import('../inventory/removal.ts'),
    ]);
    const { store, index } = await openStorage({ ...settings, storage: 'fs' }, { create: false });
    const ledger = new Ledger(index);
    // The way `slots rm` goes: the probe's slot (serve's, with --as) is forgotten with it.
    const now = Date.now();
    const slot = (await liveSlots(ledger, [id], now)).get(id);
    const removed = await removeForGood({ store, ledger, now }, { id, ...(slot !== undefined ? { slot } : {}) });
    return removed === undefined ? 'not-found' : 'removed';
  } catch (err) {
    return `failed: ${describeError(err)}`;
  }
}
