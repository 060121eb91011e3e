import { constants, type Dirent } from 'node:fs';
import { lstat, link, mkdir, open, opendir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isSlotId } from '../../slots/id.ts';
import type { PartialUpload, ReadSelection, Store, StoredBody, UploadMeta } from '../store.ts';
import {
  InvalidIdError,
  isNoSpaceError,
  RepositoryError,
  SizeMismatchError,
  StorageFullError,
  UploadAbortedError,
  UploadExistsError,
} from '../errors.ts';
import { CorruptUploadError, encodeHeader } from './format.ts';
import { readUpload, statUpload } from './read.ts';

/**
 * The filesystem store. Layout of a repository:
 *
 *   {root}/.fileupload-repository   marker: this folder belongs to fileupload (purge relies on it)
 *   {root}/files/{id}               one published upload: header (metadata) + body, see format.ts
 *   {root}/tmp/{id}.{rand}.part     an upload in progress (same filesystem, so link() is atomic)
 *
 * Publishing is `link(tmp, files/{id})`: atomic, and exclusive (EEXIST → 409), so two nodes on a
 * shared folder cannot both publish one slot and a reader never sees a partial file. Paths are
 * only ever built from ids that pass isSlotId, and files are opened with O_NOFOLLOW, so nothing
 * outside the repository is reachable.
 */

/** Name of the marker file that identifies a fileupload repository. */
export const MARKER_NAME = '.fileupload-repository';
const PARTIAL_NAME = /^([A-Za-z0-9_-]{24})\.[A-Za-z0-9_-]{1,32}\.part$/;

/** Writes are gathered up to this size per writev (few syscalls, large sequential writes). */
const MAX_BATCH = 1024 * 1024;
/** The smallest gather limit, whatever the concurrency (one socket read is up to 64 KiB). */
const MIN_BATCH = 64 * 1024;
/**
 * Body bytes all running uploads of this process may hold in memory together: the per-upload
 * gather limit is this divided by the number of running uploads (clamped to MIN..MAX_BATCH), so
 * one upload writes in 1 MiB pieces and 500 concurrent ones stay within a few tens of MiB.
 */
const UPLOAD_MEMORY_BUDGET = 16 * 1024 * 1024;
let runningUploads = 0;
const batchLimit = (): number =>
  Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(UPLOAD_MEMORY_BUDGET / Math.max(1, runningUploads))));
/**
 * Bodies up to this size are held in memory until complete and written with their header in one
 * writev: a small upload costs open + writev + fdatasync + close + link + unlink.
 */
const SMALL_BODY = 128 * 1024;
/** Durable uploads start an fdatasync in the background after this many bytes written. */
const EARLY_SYNC = 32 * 1024 * 1024;

const O_NOFOLLOW = constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;

/** Tuning of the fs store; the defaults are what serve uses. */
export interface FsStoreOptions {
  /**
   * fdatasync each upload and fsync files/ after publishing, so a 201 survives power loss
   * (kill -9 alone never loses data: the page cache survives the process). Default true.
   */
  durable?: boolean;
  /** File mode of uploads (before the umask). Default 0o644: they are public by URL anyway. */
  fileMode?: number;
}

const errCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const noop = (): void => {};

/**
 * Creates the fs Store for a repository folder (which must exist; open() checks it).
 *
 * @example
 * const store = new FsStore('/var/lib/fileupload');
 * await store.open();
 */
export class FsStore implements Store {
  readonly kind = 'fs' as const;
  readonly root: string;
  readonly filesDir: string;
  readonly tmpDir: string;
  readonly #durable: boolean;
  readonly #fileMode: number;
  #filesDirHandle: FileHandle | undefined;
  #dirSyncRunning: Promise<void> | undefined;
  #dirSyncQueued: Promise<void> | undefined;
  /** False on filesystems without hard links: publish falls back to check-then-rename. */
  #canLink = true;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = root;
    this.filesDir = join(root, 'files');
    this.tmpDir = join(root, 'tmp');
    this.#durable = options.durable ?? true;
    this.#fileMode = options.fileMode ?? 0o644;
  }

  /**
   * Checks the repository exists, is a writable directory and keeps files/ and tmp/ on one
   * filesystem; creates files/, tmp/ and the marker when missing.
   *
   * @example
   * await new FsStore(settings.fileRepo).open(); // throws RepositoryError with a clear message
   */
  async open(): Promise<void> {
    let st;
    try {
      st = await stat(this.root);
    } catch (err) {
      throw new RepositoryError(`repository ${this.root} does not exist`, { cause: err });
    }
    if (!st.isDirectory()) throw new RepositoryError(`repository ${this.root} is not a directory`);
    try {
      await mkdir(this.filesDir, { recursive: true, mode: 0o755 });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o755 });
      const marker = join(this.root, MARKER_NAME);
      await readFile(marker).catch(async (err: unknown) => {
        if (errCode(err) !== 'ENOENT') throw err;
        await writeFile(marker, JSON.stringify({ format: 'fileupload', version: 1 }) + '\n', { flag: 'wx' }).catch(
          (e: unknown) => {
            if (errCode(e) !== 'EEXIST') throw e;
          },
        );
      });
    } catch (err) {
      throw new RepositoryError(`repository ${this.root} is not writable: ${(err as Error).message}`, { cause: err });
    }
    const [filesSt, tmpSt] = await Promise.all([lstat(this.filesDir), lstat(this.tmpDir)]);
    if (!filesSt.isDirectory() || !tmpSt.isDirectory()) {
      throw new RepositoryError(`repository ${this.root}: files/ and tmp/ must be real directories`);
    }
    if (filesSt.dev !== tmpSt.dev) {
      throw new RepositoryError(`repository ${this.root}: files/ and tmp/ must be on the same filesystem`);
    }
    await this.#probe();
    this.#filesDirHandle ??= await open(this.filesDir, constants.O_RDONLY | constants.O_DIRECTORY);
  }

  /** Proves tmp/ is writable and finds out whether hard links work here. */
  async #probe(): Promise<void> {
    const probe = join(this.tmpDir, `.probe-${randomBytes(6).toString('base64url')}`);
    try {
      await writeFile(probe, '', { flag: 'wx' });
    } catch (err) {
      throw new RepositoryError(`repository ${this.root} is not writable: ${(err as Error).message}`, { cause: err });
    }
    try {
      await link(probe, `${probe}.link`);
      await unlink(`${probe}.link`);
      this.#canLink = true;
    } catch {
      this.#canLink = false;
    } finally {
      await unlink(probe).catch(noop);
    }
  }

  async close(): Promise<void> {
    const handle = this.#filesDirHandle;
    this.#filesDirHandle = undefined;
    await handle?.close();
  }

  #filePath(id: string): string {
    // The only place a path is built from an id: nothing but a slot id ever gets here.
    if (!isSlotId(id)) throw new InvalidIdError(id);
    return join(this.filesDir, id);
  }

  async write(
    input: Omit<UploadMeta, 'storedAt'>,
    body: AsyncIterable<Uint8Array>,
    options: { signal?: AbortSignal } = {},
  ): Promise<UploadMeta> {
    const target = this.#filePath(input.id);
    const { signal } = options;
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new RangeError(`invalid size ${input.size}`);
    if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
    if (await exists(target)) throw new UploadExistsError(input.id);

    const tmp = join(this.tmpDir, `${input.id}.${randomBytes(6).toString('base64url')}.part`);
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, CREATE_FLAGS, this.#fileMode);
      runningUploads++;
      let meta: UploadMeta;
      try {
        meta = await receive(fh, { ...input, storedAt: Date.now() }, body, signal, this.#durable);
      } finally {
        runningUploads--;
      }
      if (this.#durable) await fh.datasync();
      await fh.close();
      fh = undefined;
      if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
      await this.#publish(tmp, target, input.id);
      await unlink(tmp).catch(noop);
      if (this.#durable) await this.#syncFilesDir();
      return meta;
    } catch (err) {
      await fh?.close().catch(noop);
      await unlink(tmp).catch(noop);
      if (isNoSpaceError(err)) throw new StorageFullError({ cause: err });
      throw err;
    }
  }

  async #publish(tmp: string, target: string, id: string): Promise<void> {
    if (this.#canLink) {
      try {
        await link(tmp, target);
        return;
      } catch (err) {
        if (errCode(err) === 'EEXIST') throw new UploadExistsError(id);
        throw err;
      }
    }
    // No hard links on this filesystem: a small window remains in which two writers of one id
    // can both pass the check; the later rename wins. Both bodies had the slot's exact size.
    if (await exists(target)) throw new UploadExistsError(id);
    await rename(tmp, target);
  }

  /**
   * fsync of files/ so the new directory entry is durable. Concurrent uploads share one fsync:
   * a caller joins the next fsync that starts after its link (group commit).
   */
  #syncFilesDir(): Promise<void> {
    if (this.#dirSyncQueued) return this.#dirSyncQueued;
    if (!this.#dirSyncRunning) return this.#startDirSync();
    this.#dirSyncQueued = this.#dirSyncRunning.then(noop, noop).then(() => {
      this.#dirSyncQueued = undefined;
      return this.#startDirSync();
    });
    return this.#dirSyncQueued;
  }

  #startDirSync(): Promise<void> {
    const handle = this.#filesDirHandle;
    const run = (handle ? handle.sync() : Promise.resolve()).finally(() => {
      if (this.#dirSyncRunning === run) this.#dirSyncRunning = undefined;
    });
    this.#dirSyncRunning = run;
    return run;
  }

  async stat(id: string): Promise<UploadMeta | undefined> {
    if (!isSlotId(id)) return undefined;
    return statUpload(this.#filePath(id), id);
  }

  async read(
    id: string,
    select?: ReadSelection | ((meta: UploadMeta) => ReadSelection),
  ): Promise<StoredBody | undefined> {
    if (!isSlotId(id)) return undefined;
    return readUpload(this.#filePath(id), id, (meta) => {
      const selection = typeof select === 'function' ? select(meta) : select;
      if (selection === null) return null;
      if (selection === undefined) return meta.size === 0 ? null : { start: 0, end: meta.size - 1 };
      const { start, end } = selection;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= meta.size) {
        throw new RangeError(`range ${start}-${end} is outside 0-${meta.size - 1}`);
      }
      return selection;
    });
  }

  async delete(id: string): Promise<boolean> {
    if (!isSlotId(id)) return false;
    try {
      await unlink(this.#filePath(id));
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<UploadMeta> {
    for await (const entry of entries(this.filesDir)) {
      if (!entry.isFile() || !isSlotId(entry.name)) continue;
      let meta: UploadMeta | undefined;
      try {
        meta = await this.stat(entry.name);
      } catch (err) {
        // A damaged or foreign file is skipped here; it is never served either.
        if (err instanceof CorruptUploadError) continue;
        throw err;
      }
      if (meta) yield meta;
    }
  }

  async *listPartial(): AsyncIterable<PartialUpload> {
    for await (const entry of entries(this.tmpDir)) {
      if (!PARTIAL_NAME.test(entry.name)) continue;
      try {
        const st = await lstat(join(this.tmpDir, entry.name));
        if (!st.isFile()) continue;
        yield { name: entry.name, size: st.size, modifiedAt: Math.floor(st.mtimeMs) };
      } catch (err) {
        if (errCode(err) !== 'ENOENT') throw err;
      }
    }
  }

  async deletePartial(name: string): Promise<boolean> {
    if (!PARTIAL_NAME.test(name)) return false;
    try {
      await unlink(join(this.tmpDir, name));
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Streams `body` into `fh` after a reserved header, counting bytes; throws SizeMismatchError as
 * soon as the count passes `meta.size` (the rest is never read) or when the body ends short.
 * Writes overlap with reading: while one writev is in flight, arriving chunks gather (up to
 * batchLimit(), then reading waits), so a fast client gets large writes and a slow one small ones.
 */
async function receive(
  fh: FileHandle,
  meta: UploadMeta,
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  durable: boolean,
): Promise<UploadMeta> {
  const header = encodeHeader(meta);
  const bodyOffset = header.length;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let position = bodyOffset;
  let received = 0;
  let streaming = false; // past the small-body hold: body bytes go to disk as they come
  let inflight: Promise<void> | undefined;
  let writeError: unknown;
  // Durable uploads: start writeback of what is already written while the rest arrives, so the
  // final fdatasync has only the tail left to flush instead of the whole file.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;

  const flush = (): void => {
    const buffers = pending;
    const at = position;
    const bytes = pendingBytes;
    position += pendingBytes;
    pending = [];
    pendingBytes = 0;
    const run: Promise<void> = writeAll(fh, buffers, at).then(
      () => {
        if (inflight === run) inflight = undefined;
        unsynced += bytes;
        if (durable && unsynced >= EARLY_SYNC && !syncing) {
          unsynced = 0;
          syncing = fh.datasync().then(
            () => void (syncing = undefined),
            (err: unknown) => {
              writeError ??= err;
              syncing = undefined;
            },
          );
        }
      },
      (err: unknown) => {
        writeError ??= err;
        if (inflight === run) inflight = undefined;
      },
    );
    inflight = run;
  };

  for await (const chunk of abortable(body, signal)) {
    if (writeError !== undefined) throw writeError;
    received += chunk.length;
    if (received > meta.size) throw new SizeMismatchError(meta.size, received);
    if (chunk.length === 0) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    const limit = batchLimit();
    if (!streaming) {
      if (pendingBytes < Math.min(SMALL_BODY, limit)) continue;
      streaming = true;
    }
    if (inflight === undefined) flush();
    else if (pendingBytes >= limit) {
      await inflight;
      if (writeError !== undefined) throw writeError;
      flush();
    }
  }
  if (received !== meta.size) throw new SizeMismatchError(meta.size, received);
  await inflight;
  await syncing;
  if (writeError !== undefined) throw writeError;

  // Published now: the header is written last so storedAt is the completion time.
  const final: UploadMeta = { ...meta, storedAt: Date.now() };
  const finalHeader = encodeHeader(final, header.length - 8);
  if (!streaming) {
    await writeAll(fh, [finalHeader, ...pending], 0);
  } else {
    await Promise.all([pendingBytes > 0 ? writeAll(fh, pending, position) : undefined, writeAll(fh, [finalHeader], 0)]);
  }
  return final;
}

/** writev until every byte is written (a regular file may take fewer bytes than asked). */
async function writeAll(fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let done = 0;
  while (done < total) {
    const { bytesWritten } = await fh.writev(buffers, position + done);
    if (bytesWritten <= 0) throw new Error('writev wrote nothing');
    done += bytesWritten;
    if (done < total) buffers = dropPrefix(buffers, bytesWritten);
  }
}

function dropPrefix(buffers: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

/**
 * Iterates `source` but gives up as soon as `signal` aborts, even while a read is pending (a
 * stalled client must not hold a write open); the source's iterator is told to return either way.
 * One abort listener for the whole stream (not a Promise.race per chunk, which would pile up
 * reactions on a never-settling promise and keep every chunk alive).
 */
async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  let rejectPending: ((err: unknown) => void) | undefined;
  const onAbort = (): void => rejectPending?.(new UploadAbortedError({ cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (true) {
      if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
      const r = signal
        ? await new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
            rejectPending = reject;
            it.next().then(resolve, reject);
          })
        : await it.next();
      rejectPending = undefined;
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Not awaited: a generator stuck in a pending next() only returns after that settles.
    if (!finished) void Promise.resolve(it.return?.()).catch(noop);
  }
}

async function* entries(dir: string): AsyncIterable<Dirent> {
  let handle;
  try {
    handle = await opendir(dir, { bufferSize: 256 });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  yield* handle;
}
