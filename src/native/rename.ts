import { getSystemErrorName } from 'node:util';
import { processAddon, type SendfileAddon } from './sendfile.ts';

/**
 * Publishing without replacing, in one step: renameat2(2) with RENAME_NOREPLACE moves a finished
 * temp file to its final name only if that name is still free, atomically — what link + unlink
 * does in two namespace operations (the fs store's fallback, where the addon or the file system
 * cannot).
 */

/** What a publish attempt did. */
export type RenameOutcome = 'renamed' | 'exists' | 'unsupported';

/** Renames without replacing; see {@link renamerFor}. */
export type NoReplaceRename = (from: string, to: string) => Promise<RenameOutcome>;

/** errnos that say the file system (or kernel) has no RENAME_NOREPLACE. */
const UNSUPPORTED = new Set(['EINVAL', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP']);

/**
 * The addon's renameNoReplace as a promise: 'renamed', 'exists' (EEXIST: `to` is taken and
 * `from` is left alone), 'unsupported' (the caller falls back), or a rejection with a Node-style
 * error (code, syscall, path) for anything else.
 *
 * @example
 * const rename = renamerFor(addon);
 * if (rename && (await rename(tmp, target)) === 'exists') throw new UploadExistsError(id);
 */
export function renamerFor(addon: SendfileAddon | undefined): NoReplaceRename | undefined {
  const call = addon?.renameNoReplace?.bind(addon);
  if (!call) return undefined;
  return (from, to) =>
    new Promise((resolve, reject) => {
      call(from, to, (errno) => {
        if (errno === 0) return resolve('renamed');
        const code = getSystemErrorName(-errno);
        if (code === 'EEXIST') return resolve('exists');
        if (UNSUPPORTED.has(code)) return resolve('unsupported');
        reject(Object.assign(new Error(`${code}: renameat2 ${from} -> ${to}`), { code, errno: -errno, syscall: 'renameat2', path: from, dest: to }));
      });
    });
}

/**
 * The process's renamer (undefined without the addon).
 *
 * @example
 * const store = new FsStore(repo, { rename: processRenamer() });
 */
export function processRenamer(): NoReplaceRename | undefined {
  return renamerFor(processAddon().addon);
}
