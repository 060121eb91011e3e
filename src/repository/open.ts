/**
 * Opens the configured storage, the one way every caller does it (serve, purge, slots, doctor):
 * the upload store (the repository folder, or an S3 bucket: the AWS SDK is only loaded for s3),
 * the inventory index beside it and the place of the cross-node locks — all in the same folder
 * or bucket, the bucket's three on one shared client.
 *
 * Serve creates what is missing (the folder's layout, the bucket's marker). Maintenance never
 * creates anything: a folder or prefix without the repository marker is refused, so a mistyped
 * fileRepo, bucket or prefix cannot make purge delete elsewhere.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../config/settings.ts';
import { FsIndexStore } from '../inventory/index-store/fs.ts';
import type { IndexStore } from '../inventory/index-store/store.ts';
import { Ledger } from '../inventory/ledger.ts';
import { fsLockSpace } from '../lock/fs.ts';
import type { LockSpace } from '../lock/lock.ts';
import { RepositoryError } from '../storage/errors.ts';
import { FsStore, MARKER_NAME } from '../storage/fs/index.ts';
import type { S3Store } from '../storage/s3/index.ts';
import type { Store } from '../storage/store.ts';

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

/** The configured storage, opened. */
export interface OpenedStorage {
  store: Store;
  /** Where the uploads are, for logs and messages (no credentials): the folder, or the bucket. */
  location: string;
  /** The inventory index: `{folder}/index`, or `{s3Prefix}index/` in the bucket (shared by every node). */
  index: IndexStore;
  /**
   * Where the cross-node locks are (purge, `slots rm`, slot claims, the cluster's component
   * lease): the folder, or on S3 the bucket — so an S3 deployment needs no shared folder.
   */
  locks: LockSpace;
  /** The bucket's store, for what only S3 does (direct uploads); undefined for a folder. */
  s3?: S3Store;
}

/** Native scan jobs at once in a maintenance command (see FsStoreOptions.scanJobs). */
const MAINTENANCE_SCAN_JOBS = 12;

/**
 * Opens the configured storage. `create` (serve): make the folder's layout or the bucket's marker
 * when missing; otherwise (maintenance) refuse a folder or prefix without the marker with
 * RepositoryNotFoundError. `folder`: the repository folder when it is not fileRepo (serve's
 * private temporary one). Other problems throw RepositoryError naming them. Close the store when
 * done.
 *
 * @example
 * const { store, index, locks } = await openStorage(settings, { create: true, folder: repository.path });
 * const { store, index, locks } = await openStorage(settings, { create: false }); // purge, slots
 */
export async function openStorage(
  settings: Settings,
  options: { create: boolean; folder?: string },
): Promise<OpenedStorage> {
  if (settings.storage === 's3') return openBucket(settings, options.create);
  const folder = options.folder ?? settings.fileRepo;
  if (folder === undefined) {
    throw new RepositoryNotFoundError(
      'plugin.httpfileupload.fileRepo is not set: there is no repository to work on (serve then uses a private temporary folder)',
    );
  }
  // A maintenance command (purge, slots) has the thread pool to itself: deeper reads, which is
  // what a listing needs when the headers are not in the page cache (scripts/bench/README.md,
  // "Large repositories"); serve keeps the store's default, leaving the pool to uploads.
  const store = new FsStore(folder, options.create ? {} : { scanJobs: MAINTENANCE_SCAN_JOBS });
  if (options.create) await store.open();
  else await requireMarker(folder);
  return { store, location: folder, index: new FsIndexStore(join(folder, 'index')), locks: fsLockSpace(folder) };
}

async function requireMarker(folder: string): Promise<void> {
  try {
    const st = await lstat(join(folder, MARKER_NAME));
    if (!st.isFile()) throw new Error('marker is not a file');
  } catch {
    throw new RepositoryNotFoundError(
      `${folder} is not a fileupload repository (no ${MARKER_NAME}; serve creates it on first start)`,
    );
  }
}

async function openBucket(settings: Settings, create: boolean): Promise<OpenedStorage> {
  const [{ S3Store }, { s3OptionsFrom }, { S3ConditionalObjects }, { S3IndexStore }, { s3LockSpace }] =
    await Promise.all([
      import('../storage/s3/index.ts'),
      import('../storage/s3/settings.ts'),
      import('../storage/s3/conditional.ts'),
      import('../inventory/index-store/s3.ts'),
      import('../lock/s3.ts'),
    ]);
  let store: S3Store | undefined;
  try {
    store = new S3Store(s3OptionsFrom(settings));
    await store.open({ create });
  } catch (err) {
    await store?.close();
    if (!create && err instanceof RepositoryError)
      throw new RepositoryNotFoundError(`plugin.httpfileupload.s3Bucket: ${err.message}`);
    throw err;
  }
  return {
    store,
    location: store.location,
    index: new S3IndexStore(store.connection, store.layout.index),
    locks: s3LockSpace(new S3ConditionalObjects(store.connection), store.layout.prefix),
    s3: store,
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
