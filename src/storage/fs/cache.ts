import { lstatSync } from 'node:fs';
import type { UploadMeta } from '../store.ts';

/**
 * A bounded in-memory copy of small, recently read uploads, so a file that many people download
 * (a picture posted to a busy group chat) costs one lstat on the main thread per download instead
 * of an open, a read and a close through the thread pool. Uploads that were only asked about (a
 * HEAD: clients ask for the size before they download) or are too large to hold keep their
 * metadata alone, for the same price per HEAD.
 *
 * Correct across processes and nodes sharing the repository: published files never change in
 * place, so an entry stays valid exactly as long as the path still names the same inode. Every
 * hit is revalidated with `lstat(path)`: a file removed by `purge` or `slots rm` (ENOENT), replaced
 * by a new upload of the same slot (other inode or ctime — link/unlink change the ctime), or
 * swapped for a symlink (lstat never follows; reads use O_NOFOLLOW) is a miss, and the entry goes.
 * Policy that depends on the clock (ephemeral expiry, Cache-Control) is the caller's, per request:
 * the cache only holds bytes and metadata.
 */

/** What identifies the file an entry was read from. */
export interface FileIdentity {
  dev: number;
  ino: number;
  ctimeMs: number;
  /** File size (header + body). */
  size: number;
}

interface Entry extends FileIdentity {
  meta: UploadMeta;
  /** The body, exactly meta.size bytes, owned by the cache (never a pooled buffer); undefined: metadata only. */
  body: Buffer | undefined;
  /** Read since the eviction scan last passed it (second chance). */
  used: boolean;
}

/** Default byte budget of the cache in serve (bodies only; a few hundred bytes per entry on top). */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
/** Bodies larger than this are never cached: they are cheap to stream relative to their size. */
export const MAX_CACHED_BODY = 128 * 1024;
/** What an entry counts against the budget besides its body: metadata-only entries are bounded too. */
export const ENTRY_BYTES = 512;

/**
 * Bounded by bytes, keyed by upload id, evicting approximately the least recently used entry
 * (CLOCK / second chance: a hit only sets a flag; the eviction scan gives flagged entries one
 * more round). A hit must not allocate: re-inserting into the Map on every hit (exact LRU) makes
 * V8 allocate a new hash table per download, straight into the old generation.
 *
 * @example
 * const cache = new SmallUploadCache(16 * 1024 * 1024);
 * const hit = cache.get(id, path); // { meta, body } (body undefined: metadata only) or undefined
 */
export class SmallUploadCache {
  readonly maxBytes: number;
  #bytes = 0;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the LRU one.
  readonly #entries = new Map<string, Entry>();

  constructor(maxBytes: number) {
    this.maxBytes = Math.max(0, maxBytes);
  }

  /** Bytes held: the bodies, and ENTRY_BYTES per entry. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached upload `id` if the file at `path` is still the one it was read from.
   *
   * @example
   * const hit = cache.get(id, join(filesDir, id)); if (hit?.body) serve(hit.meta, hit.body);
   */
  get(id: string, path: string): { meta: UploadMeta; body: Buffer | undefined } | undefined {
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (
      st === undefined ||
      st.ino !== e.ino ||
      st.dev !== e.dev ||
      st.ctimeMs !== e.ctimeMs ||
      st.size !== e.size ||
      !st.isFile()
    ) {
      this.delete(id);
      return undefined;
    }
    e.used = true;
    return e;
  }

  /**
   * Keeps a copy of `body` (the whole body of `meta`) as read from the file `identity` names, and
   * returns that copy (never to be modified); undefined when not kept (too large, cache off).
   *
   * @example
   * const copy = cache.set(meta, bodyBytes, fstatSync(fd));
   */
  set(meta: UploadMeta, body: Uint8Array, identity: FileIdentity): Buffer | undefined {
    if (body.length !== meta.size || body.length > MAX_CACHED_BODY || body.length + ENTRY_BYTES > this.maxBytes)
      return undefined;
    // An exact-size copy: the source is usually a pooled read buffer several times larger.
    const copy = Buffer.allocUnsafeSlow(body.length);
    copy.set(body);
    this.#insert(meta, copy, identity);
    return copy;
  }

  /**
   * Keeps the metadata of `meta` as read from the file `identity` names, unless its body is
   * already held for that very file.
   *
   * @example
   * cache.setMeta(meta, fstatSync(fd));
   */
  setMeta(meta: UploadMeta, identity: FileIdentity): void {
    if (ENTRY_BYTES > this.maxBytes) return;
    const e = this.#entries.get(meta.id);
    if (e?.body !== undefined && e.ino === identity.ino && e.dev === identity.dev && e.ctimeMs === identity.ctimeMs)
      return;
    this.#insert(meta, undefined, identity);
  }

  #insert(meta: UploadMeta, body: Buffer | undefined, identity: FileIdentity): void {
    this.delete(meta.id);
    // Frozen: every hit hands out this very object.
    Object.freeze(meta);
    this.#entries.set(meta.id, {
      meta,
      body,
      dev: identity.dev,
      ino: identity.ino,
      ctimeMs: identity.ctimeMs,
      size: identity.size,
      used: false,
    });
    this.#bytes += (body?.length ?? 0) + ENTRY_BYTES;
    this.#evict();
  }

  /** Drops entries, oldest first, until within budget; a recently used one goes to the back once. */
  #evict(): void {
    // Bounded: each entry is passed over at most once with its flag set, then it is evictable.
    let passes = this.#entries.size * 2;
    while (this.#bytes > this.maxBytes && passes-- > 0) {
      const first = this.#entries.entries().next();
      if (first.done) return;
      const [id, e] = first.value;
      this.#entries.delete(id);
      if (e.used) {
        e.used = false;
        this.#entries.set(id, e);
      } else {
        this.#bytes -= (e.body?.length ?? 0) + ENTRY_BYTES;
      }
    }
  }

  /**
   * Forgets `id` (after this process deleted it).
   *
   * @example
   * cache.delete(id);
   */
  delete(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= (e.body?.length ?? 0) + ENTRY_BYTES;
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
