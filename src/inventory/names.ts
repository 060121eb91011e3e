/**
 * Names of index entries. Every entry is a tiny (usually empty) file or object whose NAME carries
 * the numbers that quotas and purge need, so a directory listing — one readdir on a shared
 * folder, one paged ListObjectsV2 on S3 — answers a quota question without opening anything.
 * Times are 13-digit zero-padded milliseconds (good until the year 2286), so names sort by time.
 *
 *   users/{user}/stored/{storedAt}.{id}.{size}.{purpose}[.{expireBefore}]   an upload it stores
 *                                                    (written by serve under a per-user quota,
 *                                                    else by purge's repair pass)
 *   users/{user}/log/{storedAt}.{id}.{size}          an upload deleted within a day of being
 *                                                    stored (the daily quota counts it until then)
 *   users/{user}/pending/{issuedAt}.{id}.{size}      a slot issued (or being issued), not uploaded —
 *                                                    only while a per-user quota is configured
 *   pending/{lastIssuedAt}.{batchId}.{bytes}.{count} slots issued cluster-wide, group-committed:
 *                                                    body = one PendingSlot JSON per line (a
 *                                                    batch on S3, a sealed segment on a folder)
 *   pending/{firstAt}.{segmentId}.open               a folder's active segment: batches are
 *                                                    appended to it, every one issued before
 *                                                    firstAt + 5 s, then it is sealed (renamed
 *                                                    to the name above)
 *   pending-forgotten/{expiresAt}.{slotId}           a pending slot `slots rm` forgot (empty)
 *   usage/delta/{at}.{id}.{bytes}.{add|del}.{count}  repository byte changes since the last scan
 *                                                    (one upload, or a batch of them)
 *   usage/total.json                                 the last full scan: {bytes, files, at}
 *   repaired.json                                    the last repair pass (purge): {at}; before the
 *                                                    first, `stored/` may lack any upload, so
 *                                                    listings do not choose rows by it
 *
 * {user} is the first 32 hex digits of sha256(lower-cased bare JID): fixed length, no JID
 * characters on disk. Ids are slot ids or batch ids (base64url, no dots).
 *
 * Pending slots and upload deltas are written as batches because serve issues thousands of
 * slots a second: one entry per slot would cost two file creations per slot, a large share of
 * serve's main thread. A batch's name still carries what usage counting needs (its newest time, the summed
 * bytes, the number of slots or files), so the global quota still reads listings only. On a
 * folder even one file per batch is too many (inode allocation at hundreds of batches a
 * second), so there batches are appended to a segment file that is sealed every 5 s; only the
 * few open segments are read to count their bytes. Forgetting a slot adds a tombstone instead of
 * rewriting its batch, which a node may still be appending to.
 */
import { createHash } from 'node:crypto';
import { isPurpose, type Purpose } from '../slots/slot.ts';

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

/** A cluster-wide batch of pending slots (`pending/` entry); its body lists the slots. */
export interface PendingBatchEntry {
  /** The newest issuedAt in the batch: the whole batch is past its lifetime after that one is. */
  at: number;
  /** Random batch id (base64url, no dots). */
  id: string;
  /** Σ size of the slots when the batch was written (forgetting slots later does not rename it). */
  bytes: number;
  /** Slots in the batch when it was written. */
  count: number;
}

/**
 * Name of a cluster-wide `pending/` batch entry.
 *
 * @example
 * batchName({ at: 1, id: 'b1', bytes: 15, count: 3 }); // '0000000000001.b1.15.3'
 */
export function batchName(e: PendingBatchEntry): string {
  return `${t13(e.at)}.${id(e.id)}.${sz(e.bytes)}.${sz(e.count)}`;
}

/**
 * Parses a cluster-wide `pending/` batch entry name; undefined for anything else.
 *
 * @example
 * parseBatch('0000000000001.b1.15.3'); // { at: 1, id: 'b1', bytes: 15, count: 3 }
 */
export function parseBatch(name: string): PendingBatchEntry | undefined {
  const p = name.split('.');
  if (p.length !== 4) return undefined;
  const [t, i, b, c] = p as [string, string, string, string];
  if (!TIME.test(t) || !ID.test(i) || !SIZE.test(b) || !SIZE.test(c)) return undefined;
  return { at: Number(t), id: i, bytes: Number(b), count: Number(c) };
}

/** A folder's active segment of pending slots (`pending/…open`), still being appended to. */
export interface OpenSegmentEntry {
  /**
   * When the segment began: the newest issuedAt of its first batch. The journal seals it before
   * appending a slot issued 5 s or more after this, so all of it expires by firstAt + 5 s +
   * slot lifetime — what repair needs to drop a crashed node's segment without reading it.
   */
  firstAt: number;
  /** Random segment id (base64url, no dots); the sealed batch keeps it. */
  id: string;
}

/**
 * Name of an open `pending/` segment.
 *
 * @example
 * openSegmentName({ firstAt: 1, id: 'seg1' }); // '0000000000001.seg1.open'
 */
export function openSegmentName(e: OpenSegmentEntry): string {
  return `${t13(e.firstAt)}.${id(e.id)}.open`;
}

/**
 * Parses an open `pending/` segment name; undefined for anything else (sealed batches too).
 *
 * @example
 * parseOpenSegment('0000000000001.seg1.open'); // { firstAt: 1, id: 'seg1' }
 */
export function parseOpenSegment(name: string): OpenSegmentEntry | undefined {
  const p = name.split('.');
  if (p.length !== 3 || p[2] !== 'open') return undefined;
  const [t, i] = p as [string, string];
  if (!TIME.test(t) || !ID.test(i)) return undefined;
  return { firstAt: Number(t), id: i };
}

/** A forgotten pending slot's tombstone (`pending-forgotten/` entry). */
export interface ForgottenEntry {
  /** The slot's expiry: after it the tombstone hides nothing that still matters. */
  expiresAt: number;
  /** The slot id. */
  id: string;
}

/**
 * Name of a `pending-forgotten/` tombstone.
 *
 * @example
 * forgottenName({ expiresAt: 1, id: 'abc' }); // '0000000000001.abc'
 */
export function forgottenName(e: ForgottenEntry): string {
  return `${t13(e.expiresAt)}.${id(e.id)}`;
}

/**
 * Parses a `pending-forgotten/` tombstone name; undefined for anything else.
 *
 * @example
 * parseForgotten('0000000000001.abc'); // { expiresAt: 1, id: 'abc' }
 */
export function parseForgotten(name: string): ForgottenEntry | undefined {
  const p = name.split('.');
  if (p.length !== 2) return undefined;
  const [t, i] = p as [string, string];
  if (!TIME.test(t) || !ID.test(i)) return undefined;
  return { expiresAt: Number(t), id: i };
}

/** A change of the repository's stored bytes since the last scan: one upload, or a batch. */
export interface DeltaEntry {
  /** When (ms): a deleted upload's deletion time, the newest storedAt of a batch of uploads. */
  at: number;
  /** The deleted upload's id, or a random batch id. */
  id: string;
  /** Σ bytes added or removed. */
  size: number;
  kind: 'add' | 'del';
  /** Files added or removed. */
  count: number;
}

/**
 * Name of a `usage/delta/` entry.
 *
 * @example
 * deltaName({ at: 1, id: 'abc', size: 5, kind: 'add', count: 2 }); // '0000000000001.abc.5.add.2'
 */
export function deltaName(e: DeltaEntry): string {
  return `${timedName(e)}.${e.kind}.${sz(e.count)}`;
}

/**
 * Parses a `usage/delta/` entry name; undefined for anything else.
 *
 * @example
 * parseDelta('0000000000001.abc.5.del.1'); // { at: 1, id: 'abc', size: 5, kind: 'del', count: 1 }
 */
export function parseDelta(name: string): DeltaEntry | undefined {
  const p = name.split('.');
  if (p.length !== 5) return undefined;
  const [t, i, s, kind, c] = p as [string, string, string, string, string];
  if (!TIME.test(t) || !ID.test(i) || !SIZE.test(s) || !SIZE.test(c) || (kind !== 'add' && kind !== 'del'))
    return undefined;
  return { at: Number(t), id: i, size: Number(s), kind, count: Number(c) };
}

/**
 * Folder keys of the index.
 *
 * @example
 * await index.put(`${paths.forgotten}/${forgottenName({ expiresAt, id })}`);
 */
export const paths = {
  users: 'users',
  user: (user: string) => `users/${user}`,
  stored: (user: string) => `users/${user}/stored`,
  log: (user: string) => `users/${user}/log`,
  userPending: (user: string) => `users/${user}/pending`,
  pending: 'pending',
  forgotten: 'pending-forgotten',
  delta: 'usage/delta',
  total: 'usage/total.json',
  repaired: 'repaired.json',
} as const;
