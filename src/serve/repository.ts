import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The folder uploads live in, and how to clean it up when serve ends. */
export interface Repository {
  path: string;
  /** True when serve made a private temporary folder because fileRepo is unset (as in the Openfire plugin). */
  temporary: boolean;
  /** Removes a temporary repository; no-op for a configured one. */
  dispose(): Promise<void>;
}

/**
 * The configured fileRepo, or — as the Openfire plugin does — a private temporary folder (mode 0700) that
 * is deleted when serve exits.
 *
 * @example
 * const repo = await resolveRepository(settings.fileRepo);
 * process.on('exit', () => repo.dispose());
 */
export async function resolveRepository(fileRepo: string | undefined): Promise<Repository> {
  if (fileRepo !== undefined) return { path: fileRepo, temporary: false, dispose: async () => {} };
  const path = await mkdtemp(join(tmpdir(), 'fileupload-repo-'));
  return {
    path,
    temporary: true,
    // Retries: a last index write may still land while the tree is being removed.
    dispose: () => rm(path, { recursive: true, force: true, maxRetries: 5 }),
  };
}
