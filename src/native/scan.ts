import { close, constants, open } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { errCode } from '../errno.ts';
import { processAddon, type SendfileAddon } from './sendfile.ts';

/**
 * A folder's regular files and the first bytes of each, a batch per thread-pool job (scanDir in
 * sendfile.c): a full listing of a large repository reads every upload's header, and through
 * node:fs each costs a directory entry object, an open, a read and a close — their callbacks and
 * garbage on the main thread. A batch of a few hundred costs one callback and no object per file.
 */

/** Bytes before an entry's head in a batch: result, name length, the name (scanDir's layout). */
const ENTRY_HEAD = 8 + 256;
/** Entries per job. */
const ENTRIES_PER_JOB = 256;

/**
 * One job's entries. For entry i, name(i) is the file's name and result(i) the number of bytes
 * read — at buf[start(i), start(i) + result(i)) — or minus the errno of the open or the read
 * (errnoName() names it). Offsets rather than a view per entry: a million small objects cost
 * more than the reads. Valid until the consumer asks for the next batch.
 */
export interface ScanBatch {
  readonly buf: Buffer;
  readonly count: number;
  name(i: number): string;
  result(i: number): number;
  start(i: number): number;
}

/**
 * Lists `dir`'s regular files (not those whose name starts with ".") with their first
 * `headBytes` bytes, `jobs` jobs at once, in no particular order; nothing when `dir` is missing.
 */
export type DirScan = (dir: string, headBytes: number, jobs: number) => AsyncGenerator<ScanBatch, void, undefined>;

/**
 * The name of a negative result ('ENOENT', 'ELOOP', …).
 *
 * @example
 * if (batch.result(i) < 0 && errnoName(batch.result(i)) === 'ENOENT') skip();
 */
export const errnoName = (result: number): string => getSystemErrorName(result);

/**
 * The addon's scanDir as batches; undefined when the addon has none. A failing job (or the
 * folder's open) ends the listing with a Node-style error once the other jobs have settled.
 *
 * @example
 * for await (const batch of dirScanFor(processAddon().addon)!('/srv/upload/files', 2048, 4)) use(batch);
 */
export function dirScanFor(addon: SendfileAddon | undefined): DirScan | undefined {
  const call = addon?.scanDir?.bind(addon);
  if (!call) return undefined;
  return async function* scan(dir, headBytes, jobs) {
    const fd = await openFolder(dir);
    if (fd === undefined) return;
    const stride = ENTRY_HEAD + headBytes;
    type Settled = { buf: Buffer; count: number; error?: Error };
    const settled: Settled[] = [];
    let running = 0;
    let ended = false;
    let wake: (() => void) | undefined;
    const start = (buf: Buffer): void => {
      running++;
      try {
        call(fd, ENTRIES_PER_JOB, headBytes, buf, (errno, count, end) => {
          running--;
          if (end) ended = true;
          const error = errno === 0 ? undefined : nodeError(errno, 'getdents64', dir);
          settled.push(error ? { buf, count: 0, error } : { buf, count });
          wake?.();
          wake = undefined;
        });
      } catch (err) {
        running--;
        throw err;
      }
    };
    const settle = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    try {
      for (let i = 0; i < jobs; i++) start(Buffer.allocUnsafeSlow(ENTRIES_PER_JOB * stride));
      for (;;) {
        const s = settled.shift();
        if (s === undefined) {
          if (running === 0) return;
          await settle();
          continue;
        }
        if (s.error) throw s.error;
        if (s.count > 0) yield batchOf(s.buf, s.count, stride);
        // The consumer is done with this buffer once it asks for the next batch.
        if (!ended) start(s.buf);
      }
    } finally {
      while (running > 0) await settle();
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  };
}

function batchOf(buf: Buffer, count: number, stride: number): ScanBatch {
  // scanDir writes its int32s in the machine's byte order: little-endian on x64, the one
  // platform the binary is built for.
  return {
    buf,
    count,
    name: (i) => buf.toString('utf8', i * stride + 8, i * stride + 8 + buf.readInt32LE(i * stride + 4)),
    result: (i) => buf.readInt32LE(i * stride),
    start: (i) => i * stride + ENTRY_HEAD,
  };
}

/**
 * A Node-style error (code, errno, syscall, path) for an errno the addon reported.
 *
 * @example
 * throw nodeError(2, 'open', '/srv/upload/files/abc'); // ENOENT: open '/srv/upload/files/abc'
 */
export function nodeError(errno: number, syscall: string, path: string): Error {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { errno: -errno, code, syscall, path });
}

function openFolder(dir: string): Promise<number | undefined> {
  return new Promise((resolve, reject) =>
    open(dir, constants.O_RDONLY | constants.O_DIRECTORY, (err, fd) => {
      if (!err) resolve(fd);
      else if (errCode(err) === 'ENOENT') resolve(undefined);
      else reject(err);
    }),
  );
}

/**
 * The process addon's scanner (see dirScanFor).
 *
 * @example
 * const store = new FsStore(repo, { scanDir: processDirScan() });
 */
export function processDirScan(): DirScan | undefined {
  return dirScanFor(processAddon().addon);
}
