/**
 * Opens a configured repository for maintenance commands (purge, slots): the store, the
 * inventory ledger and the lock path. Unlike serve, it never creates anything: a folder without
 * the repository marker is refused, so a mistyped fileRepo cannot make purge delete elsewhere.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
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
  repo: string;
  store: Store;
  ledger: Ledger;
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
