/**
 * Names of index entries. Every entry is a tiny (usually empty) file or object whose NAME carries
 * the numbers that quotas and purge need, so a directory listing — one readdir on a shared
 * folder, one paged ListObjectsV2 on S3 — answers a quota question without opening anything.
 * Times are 13-digit zero-padded milliseconds (good until the year 2286), so names sort by time.
 *
 *   users/{user}/stored/{storedAt}.{id}.{size}.{purpose}[.{expireBefore}]   an upload it stores
 *   users/{user}/log/{storedAt}.{id}.{size}          an upload, kept 24 h even after deletion
 *   users/{user}/pending/{issuedAt}.{id}.{size}      a slot issued (or being issued), not uploaded
 *   pending/{issuedAt}.{id}.{size}.{user}            the same slot, cluster-wide; body = slot JSON
 *   usage/delta/{at}.{id}.{size}.{add|del}           repository byte changes since the last scan
 *   usage/total.json                                 the last full scan: {bytes, files, at}
 *
 * {user} is the first 32 hex digits of sha256(lower-cased bare JID): fixed length, no JID
 * characters on disk. Ids are slot ids (base64url, no dots).
 */
import { createHash } from 'node:crypto';
import type { Purpose } from '../slots/slot.ts';
import { isPurpose } from '../purge/purposes.ts';

/** A slot id as stored in names: base64url, no dots. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const TIME = /^\d{13}$/;
const SIZE = /^\d{1,16}$/;
const USER = /^[0-9a-f]{32}$/;

/**
 * The index folder name of a user.
 *
 * @example
 * userKey('Alice@Example.org'); // same as userKey('alice@example.org'): 32 hex digits
 */
export function userKey(bareJid: string): string {
  return createHash('sha256').update(bareJid.toLowerCase()).digest('hex').slice(0, 32);
}

/**
 * True for a string userKey() can return.
 *
 * @example
 * isUserKey(userKey('a@b')); // true
 */
export function isUserKey(s: string): boolean {
  return USER.test(s);
}

const t13 = (ms: number): string => {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 9_999_999_999_999) throw new RangeError(`time ${ms} out of range`);
  return String(ms).padStart(13, '0');
};
const sz = (n: number): string => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`size ${n} out of range`);
  return String(n);
};
const id = (s: string): string => {
  if (!ID.test(s)) throw new RangeError(`not an id: ${JSON.stringify(s)}`);
  return s;
};

/** A stored upload as its user's index records it. */
export interface StoredEntry {
  storedAt: number;
  id: string;
  size: number;
  purpose: Purpose;
  expireBefore?: number;
}

/**
 * Name of a `stored/` entry.
 *
 * @example
 * storedName({ storedAt: 1, id: 'abc', size: 5, purpose: 'message' }); // '0000000000001.abc.5.message'
 */
export function storedName(e: StoredEntry): string {
  const base = `${t13(e.storedAt)}.${id(e.id)}.${sz(e.size)}.${e.purpose}`;
  return e.expireBefore === undefined ? base : `${base}.${t13(e.expireBefore)}`;
}

/**
 * Parses a `stored/` entry name; undefined for anything else.
 *
 * @example
 * parseStored('0000000000001.abc.5.message'); // { storedAt: 1, id: 'abc', size: 5, purpose: 'message' }
 */
export function parseStored(name: string): StoredEntry | undefined {
  const p = name.split('.');
  if (p.length !== 4 && p.length !== 5) return undefined;
  const [t, i, s, purpose, eb] = p as [string, string, string, string, string | undefined];
  if (!TIME.test(t) || !ID.test(i) || !SIZE.test(s) || !isPurpose(purpose)) return undefined;
  if (eb !== undefined && !TIME.test(eb)) return undefined;
  const e: StoredEntry = { storedAt: Number(t), id: i, size: Number(s), purpose };
  if (eb !== undefined) e.expireBefore = Number(eb);
  return e;
}

/** A timed entry: log/ (at = storedAt) and users/…/pending/ (at = issuedAt). */
export interface TimedEntry {
  at: number;
  id: string;
  size: number;
}

/**
 * Name of a `log/` or user `pending/` entry.
 *
 * @example
 * timedName({ at: 1, id: 'abc', size: 5 }); // '0000000000001.abc.5'
 */
export function timedName(e: TimedEntry): string {
  return `${t13(e.at)}.${id(e.id)}.${sz(e.size)}`;
}

/**
 * Parses a `log/` or user `pending/` entry name.
 *
 * @example
 * parseTimed('0000000000001.abc.5'); // { at: 1, id: 'abc', size: 5 }
 */
export function parseTimed(name: string): TimedEntry | undefined {
  const p = name.split('.');
  if (p.length !== 3) return undefined;
  const [t, i, s] = p as [string, string, string];
  if (!TIME.test(t) || !ID.test(i) || !SIZE.test(s)) return undefined;
  return { at: Number(t), id: i, size: Number(s) };
}

/** A cluster-wide pending slot entry. */
export interface PendingEntry extends TimedEntry {
  user: string;
}

/**
 * Name of a cluster-wide `pending/` entry.
 *
 * @example
 * pendingName({ at: 1, id: 'abc', size: 5, user: userKey('a@b') });
 */
export function pendingName(e: PendingEntry): string {
  if (!USER.test(e.user)) throw new RangeError('not a user key');
  return `${timedName(e)}.${e.user}`;
}

/**
 * Parses a cluster-wide `pending/` entry name.
 *
 * @example
 * parsePending(pendingName(e)); // e
 */
export function parsePending(name: string): PendingEntry | undefined {
  const dot = name.lastIndexOf('.');
  const user = name.slice(dot + 1);
  const timed = dot > 0 ? parseTimed(name.slice(0, dot)) : undefined;
  return timed && USER.test(user) ? { ...timed, user } : undefined;
}

/** A change of the repository's stored bytes since the last scan. */
export interface DeltaEntry extends TimedEntry {
  kind: 'add' | 'del';
}

/**
 * Name of a `usage/delta/` entry.
 *
 * @example
 * deltaName({ at: 1, id: 'abc', size: 5, kind: 'add' }); // '0000000000001.abc.5.add'
 */
export function deltaName(e: DeltaEntry): string {
  return `${timedName(e)}.${e.kind}`;
}

/**
 * Parses a `usage/delta/` entry name.
 *
 * @example
 * parseDelta('0000000000001.abc.5.del'); // { at: 1, id: 'abc', size: 5, kind: 'del' }
 */
export function parseDelta(name: string): DeltaEntry | undefined {
  const dot = name.lastIndexOf('.');
  const kind = name.slice(dot + 1);
  const timed = dot > 0 ? parseTimed(name.slice(0, dot)) : undefined;
  return timed && (kind === 'add' || kind === 'del') ? { ...timed, kind } : undefined;
}

/** Folder keys of the index. */
export const paths = {
  users: 'users',
  user: (user: string) => `users/${user}`,
  stored: (user: string) => `users/${user}/stored`,
  log: (user: string) => `users/${user}/log`,
  userPending: (user: string) => `users/${user}/pending`,
  pending: 'pending',
  delta: 'usage/delta',
  total: 'usage/total.json',
} as const;
