/**
 * Opens a configured repository for maintenance commands (purge, slots): the store, the
 * inventory ledger and the lock path. Unlike serve, it never creates anything: a folder without
 * the repository marker is refused, so a mistyped fileRepo cannot make purge delete elsewhere.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../config/settings.ts';
import { fsLockSpace } from '../lock/fs.ts';
import { type LockSpace } from '../lock/lock.ts';
import { RepositoryError } from '../storage/errors.ts';
import { FsStore, MARKER_NAME } from '../storage/fs/index.ts';
import type { Store } from '../storage/store.ts';
import { FsIndexStore } from './index-store.ts';
import { Ledger } from './ledger.ts';

/**
 * The repository is not usable for maintenance (a configuration problem: exit code 2).
 *
 * @example
 * if (err instanceof RepositoryNotFoundError) throw new CliError(err.message, ExitCode.Usage);
 */
export class RepositoryNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryNotFoundError';
  }
}

/** A repository opened for maintenance. */
export interface MaintenanceRepository {
  /** The folder (fs), or the bucket's location for messages (s3). */
  repo: string;
  store: Store;
  ledger: Ledger;
  /** Where purge and `slots rm` take their cross-node lock: the folder, or the bucket. */
  locks: LockSpace;
}

/**
 * Opens the repository at `fileRepo` (from the settings) without creating anything.
 *
 * @example
 * const { store, ledger } = await openForMaintenance(settings.fileRepo);
 */
export async function openForMaintenance(fileRepo: string | undefined): Promise<MaintenanceRepository> {
  if (fileRepo === undefined) {
    throw new RepositoryNotFoundError(
      'plugin.httpfileupload.fileRepo is not set: there is no repository to work on (serve then uses a private temporary folder)',
    );
  }
  try {
    const st = await lstat(join(fileRepo, MARKER_NAME));
    if (!st.isFile()) throw new Error('marker is not a file');
  } catch {
    throw new RepositoryNotFoundError(
      `${fileRepo} is not a fileupload repository (no ${MARKER_NAME}; serve creates it on first start)`,
    );
  }
  return {
    repo: fileRepo,
    store: new FsStore(fileRepo),
    ledger: indexLedger(fileRepo),
    locks: fsLockSpace(fileRepo),
  };
}

/**
 * Opens the configured storage for maintenance: the folder fileRepo (openForMaintenance), or with
 * storage = s3 the bucket — refused unless serve has initialised it (its marker object), so a
 * mistyped bucket or prefix cannot make purge delete elsewhere. The lock is then an object in the
 * bucket: no shared folder is needed. Close the store when done.
 *
 * @example
 * const { store, ledger, locks } = await openMaintenanceRepository(settings);
 */
export async function openMaintenanceRepository(settings: Settings): Promise<MaintenanceRepository> {
  if (settings.storage !== 's3') return openForMaintenance(settings.fileRepo);
  const [{ openS3 }, { s3LockSpace }] = await Promise.all([
    import('../storage/s3/settings.ts'),
    import('../lock/s3.ts'),
  ]);
  let opened;
  try {
    opened = await openS3(settings, { create: false });
  } catch (err) {
    if (err instanceof RepositoryError)
      throw new RepositoryNotFoundError(`plugin.httpfileupload.s3Bucket: ${err.message}`);
    throw err;
  }
  const { store, index } = opened;
  return {
    repo: store.location,
    store,
    ledger: new Ledger(index),
    locks: s3LockSpace(await store.conditionalObjects(), store.layout.prefix),
  };
}

/**
 * The ledger of a repository folder (its index lives in `{repo}/index`).
 *
 * @example
 * const ledger = indexLedger('/srv/upload');
 */
export function indexLedger(repo: string): Ledger {
  return new Ledger(new FsIndexStore(join(repo, 'index')));
}
