/**
 * Locks for nodes that share only an S3 bucket: one small object per lock, every change a
 * conditional PUT, so no two contenders can both win. Owner, stale and pause rules: lock.ts.
 *
 * - Acquire: read the object. Absent → PUT with `If-None-Match: *`. Released, or stale → PUT
 *   with `If-Match: <the ETag read>`, so of several contenders that judged the same version stale
 *   exactly one replaces it. Held and fresh → LockHeldError. A lost race → read again.
 * - Hold: every `heartbeat` ms the owner rewrites its heartbeat with `If-Match: <its last ETag>`.
 *   A refused renewal means another node took the lock over (after this one was paused longer
 *   than the lease): `signal` aborts, assertHeld() throws LockLostError. A renewal that failed
 *   for another reason (network) is retried; once the last confirmed heartbeat is older than
 *   half the lease, `signal` aborts and assertHeld() refuses.
 * - Release: the owner writes a "released" version (again `If-Match`), which the next acquirer
 *   replaces. Releasing never deletes: radosgw 16 ignores If-Match on DELETE, and an
 *   unconditional DELETE could remove a lock someone else has just taken. A lock that nobody can
 *   take any more (LockOwner.until passed: a slot claim) is removed by purge's sweep instead
 *   (src/purge/claim-sweep.ts).
 *
 * Both conditions are atomic on AWS S3 and on radosgw (checked in s3.test.ts against a real
 * radosgw).
 */
import { randomBytes } from 'node:crypto';
import { PreconditionFailedError, type ConditionalObjects, type VersionedText } from '../storage/s3/conditional.ts';
import {
  DEFAULT_LEASE,
  holdLock,
  isStale,
  LockHeldError,
  lockTiming,
  newOwner,
  parseOwner,
  type HeldLock,
  type LockEntry,
  type LockOptions,
  type LockOwner,
  type LockRecord,
  type LockSpace,
} from './lock.ts';

/** What a lock object says. */
type LockState =
  | { kind: 'absent' }
  | { kind: 'released'; etag: string; owner: LockOwner | undefined }
  | { kind: 'held'; owner: LockOwner; etag: string }
  | { kind: 'damaged'; etag: string; lastModified: number | undefined };

function judge(o: VersionedText | undefined): LockState {
  if (!o) return { kind: 'absent' };
  try {
    if ((JSON.parse(o.text) as { released?: unknown } | null)?.released === true)
      return { kind: 'released', etag: o.etag, owner: parseOwner(o.text) };
  } catch {
    // damaged: below
  }
  const owner = parseOwner(o.text);
  return owner
    ? { kind: 'held', owner, etag: o.etag }
    : { kind: 'damaged', etag: o.etag, lastModified: o.lastModified };
}

const encode = (owner: LockOwner, released = false): string =>
  JSON.stringify(released ? { ...owner, released: true } : owner) + '\n';

/**
 * Takes the lock object `key` or throws LockHeldError.
 *
 * @example
 * const lock = await acquireS3Lock(objects, 'fu/locks/purge.lock', { command: 'purge' });
 * try { lock.assertHeld(); await work(lock.signal); } finally { await lock.release(); }
 */
export async function acquireS3Lock(
  objects: ConditionalObjects,
  key: string,
  options: LockOptions = {},
): Promise<HeldLock> {
  const timing = lockTiming(options);
  const { now, lease } = timing;
  const where = objects.location + key;
  const token = randomBytes(12).toString('base64url');
  let last: LockState = { kind: 'absent' };
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = now();
    const owner = newOwner(options, started, token);
    last = judge(await objects.get(key));
    try {
      let etag: string;
      if (last.kind === 'absent') etag = await objects.putIfAbsent(key, encode(owner));
      else if (last.kind === 'released') etag = await objects.putIfMatch(key, last.etag, encode(owner));
      else if (last.kind === 'held') {
        if (!isStale(last.owner, now(), lease)) throw new LockHeldError(where, last.owner);
        etag = await objects.putIfMatch(key, last.etag, encode(owner));
      } else {
        // Written by something that is not this lock: judged by the store's Last-Modified.
        if (last.lastModified === undefined || now() - last.lastModified <= lease)
          throw new LockHeldError(where, undefined);
        etag = await objects.putIfMatch(key, last.etag, encode(owner));
      }
      return holdLock(where, owner, objectRecord(objects, key, owner, etag, now), timing);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      // Someone else changed it between our read and write: look again.
    }
  }
  throw new LockHeldError(where, last.kind === 'held' ? last.owner : undefined);
}

/** The lock object `key`, held as the version `etag` names. */
function objectRecord(
  objects: ConditionalObjects,
  key: string,
  owner: LockOwner,
  firstEtag: string,
  now: () => number,
): LockRecord {
  let etag = firstEtag;
  /** Writes `next` over our version; on a refusal, adopts a version that is still ours (a write whose answer got lost). */
  const write = async (next: LockOwner, releasing: boolean): Promise<boolean> => {
    for (let tries = 0; tries < 2; tries++) {
      try {
        etag = await objects.putIfMatch(key, etag, encode(next, releasing));
        return true;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        const seen = await objects.get(key);
        const state = judge(seen);
        if (!seen || state.kind !== 'held' || state.owner.token !== owner.token) return false;
        etag = seen.etag;
      }
    }
    return false;
  };
  return {
    // A failed request (network) is retried at the next beat, for at most half the lease.
    expireUnconfirmed: true,
    beat: (heartbeat) => write({ ...owner, heartbeat }, false),
    async drop(lost) {
      if (lost) return;
      // Unreachable store: the lock expires after the lease; the caller's work is done anyway.
      await write({ ...owner, heartbeat: now() }, true).catch(() => false);
    },
  };
}

/**
 * Who holds the lock object `key`, if anyone; `stale` says whether a new acquirer would take it.
 *
 * @example
 * const info = await s3LockInfo(objects, 'fu/locks/purge.lock');
 */
export async function s3LockInfo(
  objects: ConditionalObjects,
  key: string,
  lease = DEFAULT_LEASE,
): Promise<{ owner: LockOwner | undefined; stale: boolean } | undefined> {
  const state = judge(await objects.get(key));
  if (state.kind === 'absent' || state.kind === 'released') return undefined;
  if (state.kind === 'held') return { owner: state.owner, stale: isStale(state.owner, Date.now(), lease) };
  return { owner: undefined, stale: state.lastModified !== undefined && Date.now() - state.lastModified > lease };
}

/**
 * What the object `key` is, for a sweep; undefined when there is none.
 *
 * @example
 * const entry = await inspectS3Lock(objects, 'fu/claims/x.claim', 60_000);
 */
export async function inspectS3Lock(
  objects: ConditionalObjects,
  key: string,
  lease = DEFAULT_LEASE,
): Promise<LockEntry | undefined> {
  const seen = await objects.get(key);
  const state = judge(seen);
  if (!seen || state.kind === 'absent') return undefined;
  const modified = seen.lastModified;
  if (state.kind === 'released') return { state: 'released', owner: state.owner, stale: false, modified };
  if (state.kind === 'held')
    return { state: 'held', owner: state.owner, stale: isStale(state.owner, Date.now(), lease), modified };
  return {
    state: 'damaged',
    owner: undefined,
    stale: modified !== undefined && Date.now() - modified > lease,
    modified,
  };
}

/**
 * Locks as objects under `prefix` of a bucket (`{prefix}locks/purge.lock`, …).
 *
 * @example
 * const locks = s3LockSpace(new S3ConditionalObjects(store.connection), store.layout.prefix);
 * const lock = await locks.acquire(MAINTENANCE_LOCK, { command: 'purge' });
 */
export function s3LockSpace(objects: ConditionalObjects, prefix: string): LockSpace {
  const key = (name: string): string => prefix + name;
  return {
    location: objects.location + prefix,
    where: (name) => objects.location + key(name),
    acquire: (name, options) => acquireS3Lock(objects, key(name), options),
    info: (name, lease) => s3LockInfo(objects, key(name), lease),
    async *list(folder) {
      for await (const k of objects.list(key(folder) + '/')) yield k.slice(prefix.length);
    },
    inspect: (name, lease) => inspectS3Lock(objects, key(name), lease),
    // S3 answers a DELETE of a missing key like any other: counted as removed.
    remove: async (name) => {
      await objects.delete(key(name));
      return true;
    },
  };
}
