/**
 * Where the inventory index lives: a tiny key/value space of mostly empty entries, listed by
 * folder. fs.ts keeps it in `{repo}/index/`; s3.ts maps keys to objects under a prefix of the
 * bucket (list = ListObjectsV2 with a delimiter, paged), which is why nothing here needs more than
 * put/get/delete/list — plus an optional append, which only a filesystem has: the pending journal
 * uses it where it exists so serve stops creating a file per batch of slots (inode allocation
 * would take much of serve's CPU at thousands of slots a second).
 */
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
  /**
   * The same names, all at once, where the storage reads a folder in one call (a folder: one
   * readdir instead of opendir, reads and close). For small folders a caller keeps whole anyway
   * (one user's entries, read on every slot request). Absent on S3 (list pages anyway).
   */
  names?(folder: string): Promise<string[]>;
  /**
   * Appends to an entry (created when absent) with one write(2) on an O_APPEND descriptor, so
   * concurrent appends never interleave inside one call's data and a reader sees whole calls
   * plus at worst a partial last one. The descriptor stays open for the next call: end with
   * closeAppend(). Absent where the storage cannot append (S3).
   */
  append?(key: string, data: Uint8Array): Promise<void>;
  /** Closes the descriptor append() keeps for `key` once its appends in flight end. */
  closeAppend?(key: string): Promise<void>;
  /**
   * Renames an entry atomically (replacing `to`); false when `from` is absent. Present wherever
   * append is (sealing an appended entry under its final name).
   */
  rename?(from: string, to: string): Promise<boolean>;
}

const SEGMENT = /^[A-Za-z0-9._:+-]+$/;

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
    if (!SEGMENT.test(p) || p === '.' || p === '..' || p.startsWith('.'))
      throw new RangeError(`bad index key ${JSON.stringify(key)}`);
  }
  return parts;
}
