/**
 * Where the cross-node locks live, behind one interface: a folder every node shares (lease-lock.ts:
 * O_EXCL files) or an S3 bucket (s3-lock.ts: conditional PUTs). purge, `slots rm` and the
 * cluster's component lease take their locks through a LockSpace, so they work on either.
 */
import { opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  acquireLock,
  inspectLock,
  lockInfo,
  type HeldLock,
  type LockEntry,
  type LockOptions,
  type LockOwner,
} from './lease-lock.ts';
import { errCode } from '../errno.ts';

/** A place locks are taken in; names are relative paths such as `locks/purge.lock`. */
export interface LockSpace {
  /** Where the locks are, for messages and logs. */
  readonly location: string;
  /** Takes the lock `name` or throws LockHeldError (exit code 3 in the CLI). */
  acquire(name: string, options?: LockOptions): Promise<HeldLock>;
  /** Who holds `name`, if anyone, and whether a new acquirer would take it over. */
  info(name: string, lease?: number): Promise<{ owner: LockOwner | undefined; stale: boolean } | undefined>;
  /** Where the lock `name` is (path or s3:// key), for messages. */
  where(name: string): string;
  /** The names under `folder` (e.g. `claims/x.claim`, `claims/x.claim.break`), for a sweep. */
  list(folder: string): AsyncIterable<string>;
  /** What `name` is now, for a sweep; undefined when there is none. */
  inspect(name: string, lease?: number): Promise<LockEntry | undefined>;
  /**
   * Removes `name` whoever holds it; false when it was already gone (as far as the store
   * tells). Without a precondition (S3 stores do not all honour one on DELETE): only for a lock
   * nobody can take any more (see src/purge/claim-sweep.ts).
   */
  remove(name: string): Promise<boolean>;
}

/** The lock that purge and `slots rm` share. */
export const MAINTENANCE_LOCK = 'locks/purge.lock';
/** The cluster's component lease. */
export const COMPONENT_LEASE = 'cluster/component.lease';

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
