/**
 * Where the inventory index lives: a tiny key/value space of mostly empty entries, listed by
 * folder. The fs implementation keeps it in `{repo}/index/`; an S3 implementation maps keys to
 * objects under a prefix (list = ListObjectsV2 with a delimiter, paged), which is why nothing
 * here needs more than put/get/delete/list.
 */
import { close, open, rename as renameCb, write as writeCb } from 'node:fs';
import { mkdir, opendir, readFile, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/** The index's storage. Keys are `/`-separated; each segment is [A-Za-z0-9._:+-], no `.`/`..`. */
export interface IndexStore {
  /** Creates or replaces an entry (atomically when it has data). */
  put(key: string, data?: string | Uint8Array): Promise<void>;
  /** An entry's data, or undefined when absent. */
  get(key: string): Promise<Buffer | undefined>;
  /** Removes an entry; false when it was not there. */
  delete(key: string): Promise<boolean>;
  /** Names directly inside a folder (entries and sub-folders), streamed, in no particular order. */
  list(folder: string): AsyncIterable<string>;
}

const SEGMENT = /^[A-Za-z0-9._:+-]+$/;
const errCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

/**
 * Checks a key and returns its segments; throws RangeError for anything that could leave the
 * index folder.
 *
 * @example
 * keySegments('users/ab/stored'); // ['users', 'ab', 'stored']
 */
export function keySegments(key: string): string[] {
  const parts = key.split('/');
  for (const p of parts) {
    if (!SEGMENT.test(p) || p === '.' || p === '..' || p.startsWith('.')) throw new RangeError(`bad index key ${JSON.stringify(key)}`);
  }
  return parts;
}

/** Creates or truncates `path` and writes `data` (nothing: an empty entry), then closes it. */
function writeWhole(path: string, data: Uint8Array | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, 'w', 0o666, (err, fd) => {
      if (err) return reject(err);
      const done = (failure: unknown): void => close(fd, (closeErr) => (failure ?? closeErr ? reject(failure ?? closeErr) : resolve()));
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
 * The index in a folder of the repository (normally `{repo}/index`).
 *
 * @example
 * const index = new FsIndexStore(join(settings.fileRepo, 'index'));
 * await index.put('users/0123…/stored/0001733000000000.abc.5.message');
 */
export class FsIndexStore implements IndexStore {
  readonly root: string;

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
      await mkdir(dirname(path), { recursive: true });
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
