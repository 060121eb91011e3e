import { closeSync } from 'node:fs';
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
      call(from, to, (errno) => settle(errno, 'renameat2', from, to, resolve, reject));
    });
}

/**
 * Settles a publish from the addon's errno and the call it came from: 0 is 'renamed'; EEXIST
 * and a refused RENAME_NOREPLACE count only when renameat2 itself answered them; anything else
 * rejects with a Node-style error (code, errno, syscall, path, dest).
 */
function settle(
  errno: number,
  syscall: string,
  from: string,
  to: string,
  resolve: (outcome: RenameOutcome) => void,
  reject: (err: unknown) => void,
): void {
  if (errno === 0) return resolve('renamed');
  const code = getSystemErrorName(-Math.abs(errno));
  if (syscall === 'renameat2') {
    if (code === 'EEXIST') return resolve('exists');
    if (UNSUPPORTED.has(code)) return resolve('unsupported');
  }
  reject(
    Object.assign(new Error(`${code}: ${syscall} ${from} -> ${to}`), {
      code,
      errno: -Math.abs(errno),
      syscall,
      path: from,
      dest: to,
    }),
  );
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

/**
 * Ends an upload in one thread-pool job: fdatasync (when `durable`), close, and the publish of
 * renamerFor. The descriptor is closed once the promise settles, whatever the outcome; a
 * rejection carries the failing call in `syscall` ('fdatasync', 'close' or 'renameat2'). It
 * never throws synchronously (a replacement given to FsStore must not either: the descriptor
 * would stay open).
 *
 * @example
 * const finish: UploadFinisher | undefined = processFinisher();
 * if (finish && (await finish(fd, true, tmp, target)) === 'exists') throw new UploadExistsError(id);
 */
export type UploadFinisher = (fd: number, durable: boolean, from: string, to: string) => Promise<RenameOutcome>;

const FINISH_SYSCALL = ['', 'fdatasync', 'close', 'renameat2'] as const;

/**
 * The addon's finishUpload as a promise (undefined without it). Three round trips to the thread
 * pool become one: for a small upload each round trip (waking a pool thread, the callback, the
 * promise) cost about as much main-thread time as the file operation itself.
 *
 * @example
 * const finish = finisherFor(addon);
 * const outcome = await finish(fd, true, tmp, target); // fd is closed now
 */
export function finisherFor(addon: SendfileAddon | undefined): UploadFinisher | undefined {
  const call = addon?.finishUpload?.bind(addon);
  if (!call) return undefined;
  return (fd, durable, from, to) =>
    new Promise((resolve, reject) => {
      try {
        call(fd, durable, from, to, (errno, stage) =>
          settle(errno, FINISH_SYSCALL[stage] ?? 'finishUpload', from, to, resolve, reject),
        );
      } catch (err) {
        // Never queued: the descriptor is still open.
        try {
          closeSync(fd);
        } catch {
          // closed after all
        }
        reject(err);
      }
    });
}

/**
 * The process's finisher (undefined without the addon).
 *
 * @example
 * const finish = processFinisher();
 */
export function processFinisher(): UploadFinisher | undefined {
  return finisherFor(processAddon().addon);
}
