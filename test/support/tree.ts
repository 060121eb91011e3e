import { readdirSync } from 'node:fs';

/**
 * Every non-directory entry under `dir` as sorted relative paths: a snapshot of a repository to
 * compare before and after an upload (whatever layout the store uses).
 *
 * @example
 * const before = listTree(repo);
 * // … aborted upload …
 * assert.deepEqual(listTree(repo), before);
 */
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map(
      (entry) =>
        `${entry.parentPath.slice(dir.length).replace(/^\/+/, '')}${entry.parentPath.length > dir.length ? '/' : ''}${entry.name}`,
    )
    .sort();
}
