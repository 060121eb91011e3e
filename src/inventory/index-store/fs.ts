/**
 * The inventory index in a folder of the repository (normally `{repo}/index`): one file per
 * entry, one folder per key folder; entries with data are written aside and renamed.
 */
import { close, open, rename as renameCb, write as writeCb } from 'node:fs';
import { mkdir, opendir, readdir, readFile, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { errCode } from '../../errno.ts';
import { keySegments, type IndexStore } from './store.ts';

/**
 * Modes of entries and folders (before the umask, which can only take more away): the index
 * names uploads (their ids, so their URLs) and uploaders, which are nobody's business but the
 * service's.
 */
const ENTRY_MODE = 0o600;
const FOLDER_MODE = 0o700;

/** Creates or truncates `path` and writes `data` (nothing: an empty entry), then closes it. */
function writeWhole(path: string, data: Uint8Array | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, 'w', ENTRY_MODE, (err, fd) => {
      if (err) return reject(err);
      const done = (failure: unknown): void =>
        close(fd, (closeErr) => ((failure ?? closeErr) ? reject(failure ?? closeErr) : resolve()));
      if (data === undefined || data.length === 0) return done(null);
      let at = 0;
      const more = (): void =>
        writeCb(fd, data, at, data.length - at, null, (writeErr, n) => {
          if (writeErr) return done(writeErr);
          at += n;
          if (at < data.length) more();
          else done(null);
        });
      more();
    });
  });
}

/**
 * Writes `data` with exactly one write(2): a second call to finish a short write could land
 * after another appender's data, so a short write (disk full) fails instead and the caller
 * abandons the entry (see PendingJournal) — a reader skips the partial line it leaves.
 */
function writeOnce(fd: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    writeCb(fd, data, 0, data.length, null, (err, n) => {
      if (err) reject(err);
      else if (n !== data.length)
        reject(Object.assign(new Error(`short write: ${n} of ${data.length} bytes appended`), { code: 'EIO' }));
      else resolve();
    }),
  );
}

const openAppend = (path: string): Promise<number> =>
  new Promise((resolve, reject) => open(path, 'a', ENTRY_MODE, (err, fd) => (err ? reject(err) : resolve(fd))));
const closeFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));

/** An O_APPEND descriptor kept between appends, and the appends using it right now. */
interface Appender {
  fd: Promise<number>;
  inflight: Set<Promise<void>>;
}

/**
 * Append descriptors kept open at once. The pending journal keeps one (its active segment);
 * more only when callers append to several keys, and then the least recently used one goes.
 */
const MAX_APPENDERS = 8;

/**
 * The index in a folder of the repository (normally `{repo}/index`).
 *
 * @example
 * const index = new FsIndexStore(join(settings.fileRepo, 'index'));
 * await index.put('users/0123…/stored/0001733000000000.abc.5.message');
 */
export class FsIndexStore implements IndexStore {
  readonly root: string;
  /** Open append descriptors by key, least recently used first. */
  readonly #appenders = new Map<string, Appender>();

  constructor(root: string) {
    this.root = root;
  }

  #path(key: string): string {
    return join(this.root, ...keySegments(key));
  }

  async put(key: string, data?: string | Uint8Array): Promise<void> {
    const path = this.#path(key);
    // Entries with data are written aside and renamed, so a reader never sees half of one.
    // Names starting with "." are never listed.
    // The callback API: serve writes an entry per upload and per batch of slots, and
    // fs/promises' FileHandle costs several times more main-thread time per file.
    const write = async (): Promise<void> => {
      if (data === undefined) {
        await writeWhole(path, undefined);
        return;
      }
      const tmp = join(dirname(path), `.${randomBytes(6).toString('base64url')}.tmp`);
      try {
        await writeWhole(tmp, typeof data === 'string' ? Buffer.from(data) : data);
        await new Promise<void>((resolve, reject) => renameCb(tmp, path, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    };
    try {
      await write();
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
      await mkdir(dirname(path), { recursive: true, mode: FOLDER_MODE });
      await write();
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.#path(key));
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return false;
      throw err;
    }
  }

  /**
   * Appends with one write(2) on a cached O_APPEND descriptor (the callback API: one syscall per
   * call on the thread pool, no FileHandle). No temp file, no rename, no new inode per call —
   * which is the point: serve's journal appends hundreds of batches a second.
   *
   * @example
   * await index.append('pending/0001733000000000.seg1.open', Buffer.from(lines));
   * await index.closeAppend('pending/0001733000000000.seg1.open');
   */
  async append(key: string, data: Uint8Array): Promise<void> {
    const a = this.#appender(key);
    const done = (async () => writeOnce(await a.fd, data))();
    a.inflight.add(done);
    try {
      await done;
    } finally {
      a.inflight.delete(done);
    }
  }

  /**
   * Closes the descriptor kept for `key` after its appends in flight end (a no-op when none is
   * open). A later append opens a fresh one.
   *
   * @example
   * await index.closeAppend('pending/0001733000000000.seg1.open'); // before renaming it
   */
  async closeAppend(key: string): Promise<void> {
    const a = this.#appenders.get(key);
    if (!a) return;
    this.#appenders.delete(key);
    await release(a);
  }

  /**
   * Renames an entry (rename(2): atomic, replaces `to`); false when `from` is not there.
   *
   * @example
   * await index.rename('pending/0001733000000000.seg1.open', 'pending/0001733000004999.seg1.5000.12');
   */
  async rename(from: string, to: string): Promise<boolean> {
    const [a, b] = [this.#path(from), this.#path(to)];
    return new Promise<boolean>((resolve, reject) =>
      renameCb(a, b, (err) => {
        if (!err) resolve(true);
        else if (errCode(err) === 'ENOENT') resolve(false);
        else reject(err);
      }),
    );
  }

  #appender(key: string): Appender {
    const cached = this.#appenders.get(key);
    if (cached) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.#appenders.delete(key);
      this.#appenders.set(key, cached);
      return cached;
    }
    const path = this.#path(key);
    const a: Appender = {
      fd: openAppend(path).catch(async (err: unknown) => {
        if (errCode(err) !== 'ENOENT') throw err;
        await mkdir(dirname(path), { recursive: true, mode: FOLDER_MODE });
        return openAppend(path);
      }),
      inflight: new Set(),
    };
    // A failed open must not stay cached: the next append tries again.
    a.fd.catch(() => {
      if (this.#appenders.get(key) === a) this.#appenders.delete(key);
    });
    this.#appenders.set(key, a);
    if (this.#appenders.size > MAX_APPENDERS) {
      const [oldest, evicted] = this.#appenders.entries().next().value as [string, Appender];
      this.#appenders.delete(oldest);
      void release(evicted).catch(() => {});
    }
    return a;
  }

  async names(folder: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.#path(folder), { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return [];
      throw err;
    }
    return entries.filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isDirectory())).map((e) => e.name);
  }

  async *list(folder: string): AsyncIterable<string> {
    let dir;
    try {
      dir = await opendir(this.#path(folder), { bufferSize: 256 });
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for await (const entry of dir) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isFile() || entry.isDirectory()) yield entry.name;
    }
  }
}

/** Closes an appender's descriptor once the appends using it have ended. */
async function release(a: Appender): Promise<void> {
  await Promise.allSettled([...a.inflight]);
  let fd: number;
  try {
    fd = await a.fd;
  } catch {
    return; // never opened: nothing to close
  }
  await closeFd(fd);
}
