/**
 * Locks as files in a folder every node shares (the repository on NFS, CephFS): no flock/fcntl,
 * which network filesystems implement unreliably, only operations that are atomic on them. The
 * owner record, the stale rule and the pause rule are lock.ts's.
 *
 * - Acquire: create `{path}` with O_CREAT|O_EXCL. The file holds the owner, space-padded to a
 *   fixed size.
 * - Hold: every `heartbeat` ms the owner rewrites the heartbeat through its own open handle, after
 *   checking that `{path}` still carries its token. If not, the lock was taken over: `signal`
 *   aborts and assertHeld() throws LockLostError.
 * - Take over: a contender that finds a stale lock creates `{path}.break` with O_EXCL (so only
 *   one breaks at a time), re-reads the lock, deletes it only if it is still the owner it judged
 *   stale, removes the breaker and competes for a fresh O_EXCL create like everyone else. A lock
 *   another contender has just taken is therefore never removed. A breaker left by a contender
 *   that died mid-break is ignored after 30 s.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, opendir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { errCode } from '../errno.ts';
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

/** Fixed size of the lock file, so a heartbeat rewrite never leaves stale bytes behind. */
const FILE_SIZE = 1024;

function encode(owner: LockOwner): Buffer {
  const json = Buffer.from(JSON.stringify(owner) + '\n');
  if (json.length > FILE_SIZE) throw new RangeError('lock owner too large');
  const buf = Buffer.alloc(FILE_SIZE, 0x20);
  json.copy(buf);
  return buf;
}

/**
 * Modes of lock files and the folders made for them (before the umask): the service's alone, like
 * the rest of the repository. Every node and maintenance command runs as the service user.
 */
const LOCK_MODE = 0o600;
const LOCK_FOLDER_MODE = 0o700;

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; mtime: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), lstat(path)]);
    return { owner: parseOwner(text), mtime: st.mtimeMs };
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the lock at `path` or throws LockHeldError. Creates the parent folder when missing.
 *
 * @example
 * const lock = await acquireLock(join(repo, 'locks', 'purge.lock'), { command: 'purge' });
 * try { lock.assertHeld(); await work(lock.signal); } finally { await lock.release(); }
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const timing = lockTiming(options);
  const { now, lease } = timing;
  await mkdir(dirname(path), { recursive: true, mode: LOCK_FOLDER_MODE });
  const token = randomBytes(12).toString('base64url');
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = now();
    const owner = newOwner(options, started, token);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_NOFOLLOW, LOCK_MODE);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    if (fh) {
      try {
        await fh.write(encode(owner), 0, FILE_SIZE, 0);
        await fh.sync();
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw err;
      }
      return holdLock(path, owner, fileRecord(path, fh, owner), timing);
    }
    const current = await readOwner(path);
    if (!current) continue; // released meanwhile: try again
    const { owner: held, mtime } = current;
    // A file without a valid owner is a lock whose creator died between create and write: stale
    // once it is older than the lease (judged by its mtime).
    const stale = held ? isStale(held, now(), lease) : now() - mtime > lease;
    if (!stale) throw new LockHeldError(path, held);
    if (!(await takeOver(path, token, held, mtime, now, lease)))
      throw new LockHeldError(path, (await readOwner(path))?.owner);
  }
  throw new LockHeldError(path, (await readOwner(path))?.owner);
}

/** A breaker file older than this belongs to a contender that died while breaking (ms). */
const BREAKER_STALE = 30_000;

/**
 * Removes a stale lock. Only the contender that creates `{path}.break` (O_EXCL) may break; it
 * re-reads the lock and deletes it only if it is still the very owner judged stale. So a lock
 * that a faster contender has just taken is never removed. Returns true when the caller should
 * compete for the lock again, false when the lock is (now) held by someone alive.
 */
async function takeOver(
  path: string,
  token: string,
  judged: LockOwner | undefined,
  judgedMtime: number,
  now: () => number,
  lease: number,
): Promise<boolean> {
  const breaker = `${path}.break`;
  let fh: FileHandle;
  try {
    fh = await open(
      breaker,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      LOCK_MODE,
    );
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
    // Someone else is breaking it right now — or died doing so, long ago.
    const st = await lstat(breaker).catch(() => undefined);
    if (st && now() - st.mtimeMs > BREAKER_STALE) {
      await unlink(breaker).catch(() => {});
      return true;
    }
    return false;
  }
  try {
    await fh.write(token);
    await fh.close();
    const current = await readOwner(path);
    if (!current) return true;
    const same =
      judged === undefined
        ? current.owner === undefined && current.mtime === judgedMtime
        : current.owner !== undefined && current.owner.token === judged.token && isStale(current.owner, now(), lease);
    if (!same) return false;
    await unlink(path).catch((err: unknown) => {
      if (errCode(err) !== 'ENOENT') throw err;
    });
    return true;
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

/** The lock file at `path`, held through its open handle `fh`. */
function fileRecord(path: string, fh: FileHandle, owner: LockOwner): LockRecord {
  return {
    // A beat whose read or write fails counts as a lost lock, not as one to try again.
    expireUnconfirmed: false,
    async beat(heartbeat) {
      try {
        if ((await readOwner(path))?.owner?.token !== owner.token) return false;
        await fh.write(encode({ ...owner, heartbeat }), 0, FILE_SIZE, 0);
        return true;
      } catch {
        return false;
      }
    },
    async drop() {
      try {
        const seen = await readOwner(path);
        if (seen?.owner?.token === owner.token) await unlink(path).catch(() => {});
      } finally {
        await fh.close().catch(() => {});
      }
    },
  };
}

/**
 * Reads who holds the lock at `path`, if anyone (for status output); `stale` says whether a new
 * acquirer would take it over.
 *
 * @example
 * const info = await lockInfo(join(repo, 'locks', 'purge.lock'));
 */
export async function lockInfo(
  path: string,
  lease = DEFAULT_LEASE,
): Promise<{ owner: LockOwner | undefined; stale: boolean } | undefined> {
  const current = await readOwner(path);
  if (!current) return undefined;
  const now = Date.now();
  return {
    owner: current.owner,
    stale: current.owner ? isStale(current.owner, now, lease) : now - current.mtime > lease,
  };
}

/**
 * What the file at `path` is, for a sweep; undefined when there is none.
 *
 * @example
 * const entry = await inspectLock(join(repo, 'claims', `${id}.claim`), 60_000);
 */
export async function inspectLock(path: string, lease = DEFAULT_LEASE): Promise<LockEntry | undefined> {
  const current = await readOwner(path);
  if (!current) return undefined;
  const { owner, mtime } = current;
  return {
    state: owner ? 'held' : 'damaged',
    owner,
    stale: owner ? isStale(owner, Date.now(), lease) : Date.now() - mtime > lease,
    modified: mtime,
  };
}

/**
 * Locks as files under a folder (the repository: shared by every node on NFS/CephFS).
 *
 * @example
 * const lock = await fsLockSpace('/srv/upload').acquire(MAINTENANCE_LOCK, { command: 'purge' });
 */
export function fsLockSpace(dir: string): LockSpace {
  const where = (name: string): string => join(dir, ...name.split('/'));
  return {
    location: dir,
    where,
    acquire: (name, options) => acquireLock(where(name), options),
    info: (name, lease) => lockInfo(where(name), lease),
    async *list(folder) {
      let dir;
      try {
        dir = await opendir(where(folder));
      } catch (err) {
        if (errCode(err) === 'ENOENT') return;
        throw err;
      }
      // Streamed: a folder of many claims is never held in memory at once.
      for await (const e of dir) if (e.isFile()) yield `${folder}/${e.name}`;
    },
    inspect: (name, lease) => inspectLock(where(name), lease),
    async remove(name) {
      try {
        await unlink(where(name));
        return true;
      } catch (err) {
        if (errCode(err) === 'ENOENT') return false;
        throw err;
      }
    },
  };
}
