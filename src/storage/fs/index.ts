import {
  close as closeCb,
  constants,
  link as linkCb,
  lstatSync,
  open as openCb,
  rename as renameCb,
  symlink as symlinkCb,
  unlink as unlinkCb,
  type Dirent,
} from 'node:fs';
import {
  chmod,
  lstat,
  link,
  mkdir,
  open,
  opendir,
  readdir,
  readFile,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isStoredId } from '../../slots/id.ts';
import type { PartialUpload, ReadSelection, Store, StoredBody, UploadMeta, WriteOptions } from '../store.ts';
import {
  InvalidIdError,
  isNoSpaceError,
  RepositoryError,
  StorageFullError,
  UploadAbortedError,
  UploadExistsError,
  UploadRemovedError,
} from '../errors.ts';
import { CorruptUploadError, encodeHeader } from './format.ts';
import { headAt, LONG_HEADER, readUpload, scanUpload, SCAN_HEAD_BYTES, statUpload } from './read.ts';
import { processDirScan, type DirScan } from '../../native/scan.ts';
import { mapBounded } from '../bounded.ts';
import { DEFAULT_CACHE_BYTES, SmallUploadCache } from './cache.ts';
import { datasync, receive } from './receive.ts';
import { processFinisher, processRenamer, type NoReplaceRename, type UploadFinisher } from '../../native/rename.ts';
import { errCode } from '../../errno.ts';
import { noop } from '../../noop.ts';

/**
 * The filesystem store. Layout of a repository:
 *
 *   {root}/.fileupload-repository   marker: this folder belongs to fileupload (purge relies on it)
 *   {root}/files/{id}               one published upload: header (metadata) + body, see format.ts;
 *                                   or a tombstone (a symlink to TOMBSTONE_TARGET): removed by
 *                                   `slots rm`, no upload may be published under this id
 *   {root}/tmp/{id}.{rand}.part     an upload in progress (same filesystem, so publishing is atomic)
 *
 * Publishing is `renameat2(tmp, files/{id}, RENAME_NOREPLACE)` through the native addon, or
 * `link(tmp, files/{id})` + unlink where the addon or the file system cannot: atomic, and
 * exclusive either way (EEXIST → 409), so two nodes on a shared folder cannot both publish one
 * slot and a reader never sees a partial file. Paths are
 * only ever built from ids that pass isStoredId, and files are opened with O_NOFOLLOW, so nothing
 * outside the repository is reachable.
 *
 * A tombstone is a symlink so that the one lstat a write already does to refuse a second upload
 * tells the two apart (409 or 410) without another call, and so that list() (a file type from
 * readdir) and reads (O_NOFOLLOW) pass it by without a look inside; its target names nothing.
 *
 * Everything in it is the service's alone: uploads 0600, folders 0700 (serve is the only reader;
 * a listable files/ would hand every local user every upload's id, which is most of its URL).
 * The umask can only take more away. open() also takes the group and other bits off the
 * repository's top-level folders made before (by an older version or a looser umask), which
 * closes everything below them.
 */

/** Mode of the store's folders (before the umask): the service's alone. */
const FOLDER_MODE = 0o700;

/** Name of the marker file that identifies a fileupload repository. */
export const MARKER_NAME = '.fileupload-repository';
/**
 * What a tombstone symlink points to: not a stored id, so never a file in files/ (and a link is
 * never followed anyway).
 */
export const TOMBSTONE_TARGET = 'removed';
const PARTIAL_NAME = /^([A-Za-z0-9_-]{24}|[A-Za-z0-9_-]{27}|[0-9a-f-]{36})\.[A-Za-z0-9_-]{1,32}\.part$/;

/**
 * Headers a full listing reads at once. Above the thread pool's size (16, src/threadpool.ts) so
 * a thread that finishes finds the next request queued; the read buffers stay few (4 KiB each).
 */
const SCAN_PARALLEL = 32;
/**
 * With the native scan (src/native/scan.ts): jobs at once by default, each listing and reading a
 * batch — enough for both cores while the main thread decodes, and few of the thread pool's 16
 * threads, so uploads' file operations do not queue behind serve's own purge.
 */
const SCAN_JOBS = 4;
/** Directory entries per readdir call of a listing (each call is one thread-pool round trip). */
const READDIR_BATCH = 1024;

const O_NOFOLLOW = constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;

/** Tuning of the fs store; the defaults are what serve uses. */
export interface FsStoreOptions {
  /**
   * fdatasync each upload and fsync files/ after publishing, so a 201 survives power loss
   * (kill -9 alone never loses data: the page cache survives the process). Default true.
   */
  durable?: boolean;
  /** File mode of uploads (before the umask). Default 0o600: serve is their only reader. */
  fileMode?: number;
  /**
   * How to publish in one step (renameat2 RENAME_NOREPLACE, src/native/rename.ts); null: always
   * link + unlink. Default: the native addon's, when it loads (asked at the first publish).
   */
  rename?: NoReplaceRename | null;
  /**
   * How to end an upload in one thread-pool job: fdatasync, close and the one-step publish
   * (src/native/rename.ts); null: as separate steps. Default: the native addon's, unless
   * `rename` is given.
   */
  finish?: UploadFinisher | null;
  /**
   * Memory for copies of small uploads that were read (see cache.ts), in bytes; 0 turns the
   * cache off. Default 16 MiB.
   */
  cacheBytes?: number;
  /**
   * How a full listing reads the folder and the headers a batch at a time (src/native/scan.ts);
   * null: entry by entry through node:fs. Default: the native addon's, when it loads (asked at
   * the first listing).
   */
  scanDir?: DirScan | null;
  /**
   * Jobs of the native scan at once (default 4). More help where the headers are not in the page
   * cache: each job reads its files one after another, so this is the disk's queue depth.
   */
  scanJobs?: number;
}

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
  readonly #cache: SmallUploadCache | undefined;
  /** filesDir + '/', so a path is one concatenation (join() normalises, per request). */
  readonly #filesPrefix: string;
  readonly #tmpPrefix: string;
  #filesDirHandle: FileHandle | undefined;
  #dirSyncRunning: Promise<void> | undefined;
  #dirSyncQueued: Promise<void> | undefined;
  /** False on filesystems without hard links: publish falls back to check-then-rename. */
  #canLink = true;
  /** The one-step publish; null once absent or refused by the file system (link + unlink then). */
  #rename: NoReplaceRename | null | undefined;
  /**
   * fdatasync + close + the one-step publish as one thread-pool job (native/rename.ts); only
   * with the default publish (a `rename` option given means that one is wanted). null: absent,
   * or refused by the file system.
   */
  #finish: UploadFinisher | null | undefined;
  readonly #renameGiven: boolean;
  #scanDir: DirScan | null | undefined;
  readonly #scanJobs: number;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = root;
    this.filesDir = join(root, 'files');
    this.tmpDir = join(root, 'tmp');
    this.#filesPrefix = join(this.filesDir, '/');
    this.#tmpPrefix = join(this.tmpDir, '/');
    this.#durable = options.durable ?? true;
    this.#fileMode = options.fileMode ?? 0o600;
    this.#rename = options.rename;
    this.#renameGiven = options.rename !== undefined;
    this.#finish = options.finish !== undefined ? options.finish : options.rename !== undefined ? null : undefined;
    this.#scanDir = options.scanDir;
    this.#scanJobs = options.scanJobs ?? SCAN_JOBS;
    if (!Number.isSafeInteger(this.#scanJobs) || this.#scanJobs < 1) throw new RangeError('scanJobs must be ≥ 1');
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.#cache = cacheBytes > 0 ? new SmallUploadCache(cacheBytes) : undefined;
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
      await mkdir(this.filesDir, { recursive: true, mode: FOLDER_MODE });
      await mkdir(this.tmpDir, { recursive: true, mode: FOLDER_MODE });
      await this.#closeFolders();
      const marker = join(this.root, MARKER_NAME);
      await readFile(marker).catch(async (err: unknown) => {
        if (errCode(err) !== 'ENOENT') throw err;
        // Readable by all (it says only what the folder is), writable by the service alone.
        await writeFile(marker, JSON.stringify({ format: 'fileupload', version: 1 }) + '\n', {
          flag: 'wx',
          mode: 0o644,
        }).catch((e: unknown) => {
          if (errCode(e) !== 'EEXIST') throw e;
        });
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

  /**
   * Takes group and other bits off the repository's top-level folders (files/, tmp/, index/,
   * locks/, cluster/…), those of the service user: a chmod each, and what is below them is closed
   * with them. Folders of other owners (lost+found) are left alone.
   */
  async #closeFolders(): Promise<void> {
    const uid = process.geteuid?.();
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue; // symlinks included: never followed
      const path = join(this.root, entry.name);
      const st = await lstat(path);
      if ((st.mode & 0o077) === 0 || (uid !== undefined && st.uid !== uid)) continue;
      await chmod(path, st.mode & 0o700);
    }
  }

  /** Proves tmp/ is writable and finds out whether hard links work here. */
  async #probe(): Promise<void> {
    const probe = join(this.tmpDir, `.probe-${randomBytes(6).toString('base64url')}`);
    try {
      await writeFile(probe, '', { flag: 'wx', mode: 0o600 });
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
    this.#cache?.clear();
    const handle = this.#filesDirHandle;
    this.#filesDirHandle = undefined;
    await handle?.close();
  }

  #filePath(id: string): string {
    // The only place a path is built from an id: nothing but a stored-upload id ever gets here.
    if (!isStoredId(id)) throw new InvalidIdError(id);
    return this.#filesPrefix + id;
  }

  async write(
    input: Omit<UploadMeta, 'storedAt'>,
    body: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<UploadMeta> {
    const target = this.#filePath(input.id);
    const { signal } = options;
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new RangeError(`invalid size ${input.size}`);
    if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing) throw existing.isSymbolicLink() ? new UploadRemovedError(input.id) : new UploadExistsError(input.id);

    // Only the existence check and small writes (receive.ts) run on the main thread. Creating,
    // closing, linking and unlinking go through the thread pool: on a journalling or network
    // file system each may wait for a journal commit or a round trip, and the event loop must
    // not. The callback API, not fs/promises: it costs less per call.
    const tmp = `${this.#tmpPrefix}${input.id}.${tempSuffix()}.part`;
    let fd: number | undefined;
    let created = false;
    try {
      fd = await fsCall<number>((cb) => openCb(tmp, CREATE_FLAGS, this.#fileMode, cb));
      created = true;
      const begun: UploadMeta = { ...input, storedAt: options.storedAt ?? Date.now() };
      const meta = await receive(
        fd,
        begun,
        body,
        signal,
        this.#durable,
        options.releaseChunks === true,
        options.storedAt !== undefined,
      );
      // Inspected as written (in the page cache), before the sync: a refused upload costs no flush.
      // The final header has the first one's length (receive.ts), so the body starts there.
      if (options.inspect) await options.inspect.inspectFile(meta, tmp, encodeHeader(begun).length);
      let moved: boolean;
      const finish = this.#finisher();
      if (finish) {
        // sync, close and publish in one thread-pool job (abort checked before it starts)
        if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
        const closing = fd;
        fd = undefined;
        const outcome = await finish(closing, this.#durable, tmp, target);
        if (outcome === 'exists') throw existsError(target, input.id);
        if (outcome === 'renamed') moved = true;
        else {
          // This file system cannot: link from now on (unless a publish of its own was given).
          if (!this.#renameGiven) this.#rename = null;
          this.#finish = null;
          moved = await this.#publish(tmp, target, input.id);
        }
      } else {
        if (this.#durable) await datasync(fd);
        const closing = fd;
        fd = undefined;
        await fsCall<void>((cb) => closeCb(closing, cb));
        if (signal?.aborted) throw new UploadAbortedError({ cause: signal.reason });
        moved = await this.#publish(tmp, target, input.id);
      }
      // Published all the same if this fails; purge removes a leftover temp file.
      if (!moved) await fsCall<void>((cb) => unlinkCb(tmp, cb)).catch(noop);
      if (this.#durable) await this.#syncFilesDir();
      return meta;
    } catch (err) {
      if (fd !== undefined) {
        const closing = fd;
        await fsCall<void>((cb) => closeCb(closing, cb)).catch(noop);
      }
      if (created) await fsCall<void>((cb) => unlinkCb(tmp, cb)).catch(noop);
      if (isNoSpaceError(err)) throw new StorageFullError({ cause: err });
      throw err;
    }
  }

  #finisher(): UploadFinisher | null {
    if (this.#finish === undefined) this.#finish = processFinisher() ?? null;
    return this.#finish;
  }

  /**
   * Puts the finished temp file at `target` unless an upload is there already (409). True when
   * the temp name is gone (moved), false when it still has to be unlinked (linked).
   */
  async #publish(tmp: string, target: string, id: string): Promise<boolean> {
    if (this.#rename === undefined) this.#rename = processRenamer() ?? null;
    if (this.#rename) {
      const outcome = await this.#rename(tmp, target);
      if (outcome === 'renamed') return true;
      if (outcome === 'exists') throw existsError(target, id);
      this.#rename = null; // this file system cannot: link from now on
    }
    if (this.#canLink) {
      try {
        await fsCall<void>((cb) => linkCb(tmp, target, cb));
        return false;
      } catch (err) {
        if (errCode(err) === 'EEXIST') throw existsError(target, id);
        throw err;
      }
    }
    // No hard links on this filesystem: a small window remains in which two writers of one id
    // can both pass the check; the later rename wins. Both bodies had the slot's exact size.
    if (existsSync(target)) throw existsError(target, id);
    await fsCall<void>((cb) => renameCb(tmp, target, cb));
    return true;
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
    // After close() (a shutdown while uploads finish) the directory is opened for this one sync:
    // an upload answered 201 must not skip it.
    const sync = handle
      ? handle.sync()
      : open(this.filesDir, constants.O_RDONLY | constants.O_DIRECTORY).then((h) => h.sync().finally(() => h.close()));
    const run = sync.finally(() => {
      if (this.#dirSyncRunning === run) this.#dirSyncRunning = undefined;
    });
    this.#dirSyncRunning = run;
    return run;
  }

  async stat(id: string): Promise<UploadMeta | undefined> {
    if (!isStoredId(id)) return undefined;
    return statUpload(this.#filePath(id), id, this.#cache);
  }

  async read(
    id: string,
    select?: ReadSelection | ((meta: UploadMeta) => ReadSelection),
  ): Promise<StoredBody | undefined> {
    if (!isStoredId(id)) return undefined;
    return readUpload(
      this.#filePath(id),
      id,
      (meta) => {
        const selection = typeof select === 'function' ? select(meta) : select;
        if (selection === null) return null;
        if (selection === undefined) return meta.size === 0 ? null : { start: 0, end: meta.size - 1 };
        const { start, end } = selection;
        if (
          !Number.isSafeInteger(start) ||
          !Number.isSafeInteger(end) ||
          start < 0 ||
          end < start ||
          end >= meta.size
        ) {
          throw new RangeError(`range ${start}-${end} is outside 0-${meta.size - 1}`);
        }
        return selection;
      },
      this.#cache,
    );
  }

  async delete(id: string): Promise<boolean> {
    if (!isStoredId(id)) return false;
    this.#cache?.delete(id);
    const target = this.#filePath(id);
    // A tombstone is no upload: it stays until dropTombstone.
    if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
    try {
      await unlink(target);
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async tombstone(id: string): Promise<UploadMeta | undefined> {
    const target = this.#filePath(id);
    this.#cache?.delete(id);
    try {
      await fsCall<void>((cb) => symlinkCb(TOMBSTONE_TARGET, target, cb));
      if (this.#durable) await this.#syncFilesDir();
      return undefined;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    // Something is there: a tombstone already, or an upload, which a tombstone replaces in one
    // rename — no moment without either, so no write can publish in between.
    if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return undefined;
    let meta: UploadMeta | undefined;
    try {
      meta = await this.stat(id);
    } catch (err) {
      if (!(err instanceof CorruptUploadError)) throw err;
    }
    const tmp = `${this.#tmpPrefix}${id}.${tempSuffix()}.part`;
    await fsCall<void>((cb) => symlinkCb(TOMBSTONE_TARGET, tmp, cb));
    try {
      await fsCall<void>((cb) => renameCb(tmp, target, cb));
    } catch (err) {
      await fsCall<void>((cb) => unlinkCb(tmp, cb)).catch(noop);
      throw err;
    }
    this.#cache?.delete(id);
    if (this.#durable) await this.#syncFilesDir();
    return meta;
  }

  async occupant(id: string): Promise<'upload' | 'tombstone' | undefined> {
    if (!isStoredId(id)) return undefined;
    const st = lstatSync(this.#filePath(id), { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    return st.isSymbolicLink() ? 'tombstone' : 'upload';
  }

  async dropTombstone(id: string): Promise<boolean> {
    if (!isStoredId(id)) return false;
    const target = this.#filePath(id);
    if (!lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
    try {
      await unlink(target);
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Every published upload, in no particular order. With the native scan (src/native/scan.ts),
   * `scanJobs` thread-pool jobs each list a batch of files/ and read their headers, and each
   * header is decoded as it is yielded. Without it, SCAN_PARALLEL headers are read at once
   * through node:fs: one at a time, each upload costs three thread-pool round trips (open, read,
   * close) back to back, and the pool's other threads and the disk's queue sit idle.
   */
  async *list(): AsyncIterable<UploadMeta> {
    const scan = (this.#scanDir ??= processDirScan() ?? null);
    if (scan) {
      const dir = this.filesDir;
      for await (const batch of scan(dir, SCAN_HEAD_BYTES, this.#scanJobs)) {
        for (let i = 0; i < batch.count; i++) {
          const id = batch.name(i);
          if (!isStoredId(id)) continue;
          const got = headAt(dir, id, batch, i);
          const meta = got === LONG_HEADER ? await this.#scanOne(id) : got;
          if (meta) yield meta;
        }
      }
      return;
    }
    for await (const meta of mapBounded(storedIds(this.filesDir), SCAN_PARALLEL, (id) => this.#scanOne(id))) {
      if (meta) yield meta;
    }
  }

  async #scanOne(id: string): Promise<UploadMeta | undefined> {
    try {
      return await scanUpload(this.#filePath(id), id);
    } catch (err) {
      // A damaged or foreign file is skipped here; it is never served either.
      if (err instanceof CorruptUploadError) return undefined;
      throw err;
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

/**
 * A temp-file name part no other writer uses: random per process (nodes and restarts share
 * tmp/), then counted; base64url so it matches PARTIAL_NAME.
 */
const tempPrefix = randomBytes(9).toString('base64url');
let tempCounter = 0;
function tempSuffix(): string {
  return `${tempPrefix}${(tempCounter++).toString(36)}`;
}

/** A node:fs callback call as a promise (lighter than fs/promises, which wraps every fd). */
function fsCall<T>(start: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** The error for a publish that found `target` taken: a tombstone (410) or an upload (409). */
function existsError(target: string, id: string): UploadExistsError | UploadRemovedError {
  return lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()
    ? new UploadRemovedError(id)
    : new UploadExistsError(id);
}

/** Whether anything is at `path` (not following a symlink); no exception for "no". */
function existsSync(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** The names of the regular files in `dir` that are stored-upload ids (tombstones are symlinks). */
async function* storedIds(dir: string): AsyncIterable<string> {
  for await (const entry of entries(dir)) if (entry.isFile() && isStoredId(entry.name)) yield entry.name;
}

async function* entries(dir: string): AsyncIterable<Dirent> {
  let handle;
  try {
    handle = await opendir(dir, { bufferSize: READDIR_BATCH });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  yield* handle;
}
