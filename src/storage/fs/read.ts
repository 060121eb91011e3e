import { close, constants, createReadStream, fstatSync, open, read } from 'node:fs';
import type { Writable } from 'node:stream';
import type { FileRangeSender, StoredBody, UploadMeta } from '../store.ts';
import { CorruptUploadError, decodeHeader, decodeMetaIn, headerEnd, headerEndIn } from './format.ts';
import { MAX_CACHED_BODY, type SmallUploadCache } from './cache.ts';
import { UploadRemovedError } from '../errors.ts';
import { errCode } from '../../errno.ts';
import { noop } from '../../noop.ts';
import { errnoName, nodeError, type ScanBatch } from '../../native/scan.ts';

/**
 * The read side of the fs store, built for many small GETs and fast large ones: raw descriptors
 * with the callback API (lighter than FileHandle), one read that brings header and — for small
 * files — the whole body, and read buffers that are reused instead of allocated per request or
 * per chunk (each fresh 128 KiB/1 MiB buffer costs page faults and GC pressure).
 */

/** First read of a GET: header plus the whole body of small files. */
export const FIRST_READ = 128 * 1024;
/** Read size for stat(): the header only. */
export const STAT_READ = 4096;
/** Chunk size for streaming large bodies. */
export const READ_CHUNK = 1024 * 1024;

/**
 * A free list of equal-sized buffers, keeping at most `keep` of them.
 *
 * @example
 * const pool = new BufferPool(1024 * 1024, 8);
 */
export class BufferPool {
  readonly size: number;
  readonly #keep: number;
  readonly #free: Buffer[] = [];
  constructor(size: number, keep: number) {
    this.size = size;
    this.#keep = keep;
  }
  /**
   * @example
   * const buf = pool.take(); try { use(buf); } finally { pool.give(buf); }
   */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  /** Returns a buffer nobody references any more (never one a pending write still uses). */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.#free.length < this.#keep) this.#free.push(buf);
  }
}

// Free buffers kept for reuse. Small hot files are served from the cache (cache.ts), so first
// reads are mostly one-off; a streaming download holds two chunks at a time.
const firstReads = new BufferPool(FIRST_READ, 16);
const statReads = new BufferPool(STAT_READ, 64);
const chunks = new BufferPool(READ_CHUNK, 4);
/**
 * Streaming downloads beyond this many at once read in FIRST_READ pieces instead of READ_CHUNK,
 * so the memory for download buffers stays near 2 × READ_CHUNK × this, however many there are.
 */
const LARGE_CHUNK_STREAMS = 8;
let streams = 0;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * Opens a published upload; undefined when absent or a symlink (never followed). With
 * `removedId`, a symlink — the store's tombstone (index.ts) — rejects with UploadRemovedError
 * instead: the failed open itself tells a removed upload from a missing one.
 *
 * @example
 * const fd = await openUpload(join(filesDir, id)); if (fd !== undefined) await closeFd(fd);
 */
export function openUpload(path: string, removedId?: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    open(path, READ_FLAGS, (err, fd) => {
      if (!err) resolve(fd);
      else {
        const code = errCode(err);
        if (code === 'ELOOP' && removedId !== undefined) reject(new UploadRemovedError(removedId));
        else if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') resolve(undefined);
        else reject(err);
      }
    });
  });
}

/** Closes a descriptor; a failing close of a read-only descriptor is of no interest. */
export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

interface Head {
  meta: UploadMeta;
  bodyOffset: number;
  /** Bytes from offset 0; `valid` of them were read. */
  buf: Buffer;
  valid: number;
  /** The pool `buf` came from, or undefined when it was allocated for an oversized header. */
  pool: BufferPool | undefined;
}

/** Reads and decodes the header with one read in the common case. The caller owns `buf` after. */
async function readHead(fd: number, id: string, pool: BufferPool): Promise<Head> {
  const buf = pool.take();
  let valid = 0;
  try {
    valid = await readAt(fd, buf, 0, buf.length, 0);
    const need = headerEnd(buf.subarray(0, valid));
    if (need === undefined) throw new CorruptUploadError('file too short for a header');
    if (need <= valid) {
      const { meta, bodyOffset } = decodeHeader(buf.subarray(0, need));
      checkId(meta, id);
      return { meta, bodyOffset, buf, valid, pool };
    }
    if (valid < buf.length) throw new CorruptUploadError('truncated header');
    const big = Buffer.allocUnsafe(need);
    const got = await readAt(fd, big, 0, need, 0);
    if (got < need) throw new CorruptUploadError('truncated header');
    pool.give(buf);
    const { meta, bodyOffset } = decodeHeader(big);
    checkId(meta, id);
    return { meta, bodyOffset, buf: big, valid: got, pool: undefined };
  } catch (err) {
    pool.give(buf);
    throw err;
  }
}

function checkId(meta: UploadMeta, id: string): void {
  // A file under another id's name (copied, renamed by hand) is not what the URL names.
  if (meta.id !== id) throw new CorruptUploadError(`upload ${id} carries the metadata of ${meta.id}`);
}

/**
 * The metadata of the upload at `path`, or undefined when there is none.
 *
 * @example
 * const meta = await statUpload(join(filesDir, id), id);
 */
export async function statUpload(path: string, id: string, cache?: SmallUploadCache): Promise<UploadMeta | undefined> {
  const hit = cache?.get(id, path);
  if (hit) return hit.meta;
  const fd = await openUpload(path);
  if (fd === undefined) return undefined;
  try {
    const head = await readHead(fd, id, statReads);
    head.pool?.give(head.buf);
    if (cache) rememberMeta(cache, fd, head.meta);
    return head.meta;
  } finally {
    await closeFd(fd);
  }
}

/**
 * The metadata of the upload at `path` for a full listing: open, one read, close, and no cache.
 * A scan touches every upload once, so keeping what it read would only push the uploads people
 * are downloading out of the cache, and the fstat that keeping needs would run on the main thread.
 *
 * @example
 * const meta = await scanUpload(join(filesDir, id), id);
 */
export async function scanUpload(path: string, id: string): Promise<UploadMeta | undefined> {
  const fd = await openUpload(path);
  if (fd === undefined) return undefined;
  try {
    const head = await readHead(fd, id, statReads);
    head.pool?.give(head.buf);
    return head.meta;
  } finally {
    await closeFd(fd);
  }
}

/** Bytes a batched scan reads of each upload: its whole header in practice (a longer one is read again alone). */
export const SCAN_HEAD_BYTES = 2048;

/** What headAt() says of a header longer than SCAN_HEAD_BYTES: read it with scanUpload(). */
export const LONG_HEADER = Symbol('long header');

/**
 * The metadata of the i-th upload of a batch of headers read by the native scan
 * (src/native/scan.ts), decoded only now — a listing decodes each as it goes, so no batch of
 * objects waits in the young generation: undefined when the id is gone, a tombstone, a folder,
 * or not a well-formed upload (skipped, as a listing skips them); LONG_HEADER when the header
 * did not fit. Any other failure to open or read the file throws a Node-style error.
 *
 * @example
 * const got = headAt(filesDir, id, batch, i);
 * const meta = got === LONG_HEADER ? await scanUpload(join(filesDir, id), id) : got;
 */
export function headAt(
  dir: string,
  id: string,
  heads: ScanBatch,
  i: number,
): UploadMeta | undefined | typeof LONG_HEADER {
  const got = heads.result(i);
  if (got < 0) {
    const code = errnoName(got);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw nodeError(-got, 'open', `${dir}/${id}`);
  }
  try {
    const start = heads.start(i);
    const need = headerEndIn(heads.buf, start, got);
    if (need === undefined) return undefined; // too short for a header
    if (need > got) return got === SCAN_HEAD_BYTES ? LONG_HEADER : undefined;
    const meta = decodeMetaIn(heads.buf, start, need);
    checkId(meta, id);
    return meta;
  } catch (err) {
    if (err instanceof CorruptUploadError) return undefined;
    throw err;
  }
}

/**
 * Opens the upload at `path`, lets `select` decide from its metadata what to read, and returns
 * it; undefined when there is none. Small selections come from the first read (descriptor
 * already closed); large ones stream from the open descriptor. With a `cache`, small uploads
 * are served from it while the file is unchanged, and kept in it when read whole.
 *
 * @example
 * const got = await readUpload(path, id, (meta) => ({ start: 0, end: 9 }));
 */
export async function readUpload(
  path: string,
  id: string,
  select: (meta: UploadMeta) => { start: number; end: number } | null,
  cache?: SmallUploadCache,
): Promise<StoredBody | undefined> {
  const hit = cache?.get(id, path);
  if (hit?.body) return fromMemory(hit.meta, hit.body, select);
  const fd = await openUpload(path, id);
  if (fd === undefined) return undefined;
  let head: Head;
  try {
    head = await readHead(fd, id, firstReads);
  } catch (err) {
    await closeFd(fd);
    throw err;
  }
  const { meta, bodyOffset, buf, valid, pool } = head;
  if (cache && meta.size <= MAX_CACHED_BODY && bodyOffset + meta.size <= valid) {
    const kept = remember(cache, fd, meta, buf.subarray(bodyOffset, bodyOffset + meta.size));
    if (kept) {
      // Served from the cache's copy; the read buffer goes back to the pool right away.
      pool?.give(buf);
      void closeFd(fd);
      return fromMemory(meta, kept, select);
    }
  }
  let range: { start: number; end: number } | null;
  try {
    range = select(meta);
  } catch (err) {
    pool?.give(buf);
    await closeFd(fd);
    throw err;
  }
  const from = range === null ? 0 : bodyOffset + range.start;
  const to = range === null ? 0 : bodyOffset + range.end + 1; // exclusive
  if (range === null || to <= valid) {
    void closeFd(fd); // nothing more to read; no need to wait for the close
    if (range === null) {
      pool?.give(buf);
      return { meta, body: emptyBody() };
    }
    return new MemoryBody(meta, buf, from, to, pool);
  }
  pool?.give(buf);
  if (valid < buf.length) {
    await closeFd(fd);
    throw new CorruptUploadError(`upload ${id} is shorter than its header says`);
  }
  return { meta, ...fileBody(fd, from, to) };
}

/**
 * Caches a body read whole, with the identity of the file it came from (still published);
 * returns the cache's copy, or undefined when it was not kept.
 */
function remember(cache: SmallUploadCache, fd: number, meta: UploadMeta, body: Buffer): Buffer | undefined {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return undefined;
  }
  // nlink 0: removed while we read it; the next read finds out what is there now.
  return st.nlink > 0 ? cache.set(meta, body, st) : undefined;
}

/** Caches the metadata of an upload still published, with the identity of its file. */
function rememberMeta(cache: SmallUploadCache, fd: number, meta: UploadMeta): void {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return;
  }
  if (st.nlink > 0) cache.setMeta(meta, st);
}

/** The selection of a whole body held in memory that nobody modifies (the cache's copy). */
function fromMemory(
  meta: UploadMeta,
  whole: Buffer,
  select: (meta: UploadMeta) => { start: number; end: number } | null,
): StoredBody {
  const range = select(meta);
  if (range === null) return { meta, body: emptyBody() };
  return new MemoryBody(meta, whole, range.start, range.end + 1, undefined);
}

/**
 * A StoredBody over bytes in memory, pooled or not (a pooled buffer goes back once written out).
 * A class rather than closures: a cached download builds one
 * per request, and `body` (rarely used) is only made when asked for.
 */
class MemoryBody implements StoredBody {
  readonly meta: UploadMeta;
  /** Offered only when no pool wants the buffer back (whoever takes the bytes may keep them). */
  readonly bytes: Buffer | undefined;
  readonly #buf: Buffer;
  readonly #from: number;
  readonly #to: number;
  readonly #pool: BufferPool | undefined;
  #used = false;

  constructor(meta: UploadMeta, buf: Buffer, from: number, to: number, pool: BufferPool | undefined) {
    this.meta = meta;
    this.#buf = buf;
    this.#from = from;
    this.#to = to;
    this.#pool = pool;
    this.bytes = pool === undefined ? buf.subarray(from, to) : undefined;
  }

  #claim(): Buffer {
    if (this.#used) throw new Error('an upload body can be consumed once');
    this.#used = true;
    return this.bytes ?? this.#buf.subarray(this.#from, this.#to);
  }

  get body(): AsyncIterable<Uint8Array> {
    const claim = (): Buffer => this.#claim();
    return {
      [Symbol.asyncIterator]() {
        const bytes = claim(); // the buffer is never returned to the pool: the consumer may keep the chunk
        let done = bytes.length === 0;
        return {
          next: async () => {
            if (done) return { done: true, value: undefined };
            done = true;
            return { done: false, value: bytes };
          },
          return: async () => ({ done: true, value: undefined }),
        };
      },
    };
  }

  pipeTo(dest: Writable): Promise<void> {
    const bytes = this.#claim();
    if (bytes.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      dest.write(bytes, (err?: Error | null) => {
        if (err) reject(err);
        else {
          this.#pool?.give(this.#buf);
          resolve();
        }
      });
    });
  }
}

/**
 * The body of a large upload, bytes [from, to) of the open file: as a stream (`body`, created on
 * first use), written straight into a Writable with two reused buffers (`pipeTo`): one is read
 * from disk while the other is being written to the socket, or handed with the descriptor to a
 * sender that moves the bytes without copying them through JS (`sendFile`: sendfile(2)).
 */
function fileBody(fd: number, from: number, to: number): Pick<StoredBody, 'body' | 'pipeTo' | 'sendFile'> {
  let used = false;
  const claim = (): void => {
    if (used) throw new Error('an upload body can be consumed once');
    used = true;
  };
  return {
    body: {
      [Symbol.asyncIterator]() {
        claim();
        const stream = createReadStream('', {
          fd,
          start: from,
          end: to - 1,
          highWaterMark: READ_CHUNK,
          autoClose: true,
        });
        return stream[Symbol.asyncIterator]();
      },
    },
    async pipeTo(dest: Writable): Promise<void> {
      claim();
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      const onEnd = (err?: Error): void => {
        failure ??= err ?? new Error('destination closed before the body was written');
        wake?.();
      };
      const onClose = (): void => onEnd();
      dest.once('close', onClose);
      dest.once('error', onEnd);
      const pool = streams++ < LARGE_CHUNK_STREAMS ? chunks : firstReads;
      let buffers: Buffer[] | undefined = [pool.take(), pool.take()];
      let pending: Promise<void> | undefined;
      try {
        let pos = from;
        let turn = 0;
        while (pos < to) {
          const buf = buffers[turn & 1]!;
          const n = await readAt(fd, buf, 0, Math.min(buf.length, to - pos), pos);
          if (n === 0) throw new CorruptUploadError('upload ended before its recorded size');
          pos += n;
          if (pending) await pending; // the other buffer is free again
          if (failure) throw failure;
          pending = new Promise<void>((resolve, reject) => {
            wake = () => reject(failure);
            dest.write(buf.subarray(0, n), (err?: Error | null) => (err ? reject(err) : resolve()));
          });
          pending.catch(noop); // observed below; a failing read first must not leave it unhandled
          turn++;
        }
        if (pending) await pending;
        if (failure) throw failure;
      } catch (err) {
        // A write may still reference a buffer: leave both to the garbage collector.
        buffers = undefined;
        throw err;
      } finally {
        dest.off('close', onClose);
        dest.off('error', onEnd);
        streams--;
        if (buffers) for (const b of buffers) pool.give(b);
        await closeFd(fd).catch(noop);
      }
    },
    async sendFile(send: FileRangeSender): Promise<void> {
      claim();
      try {
        const sent = await send(fd, from, to - from);
        if (sent < to - from) throw new CorruptUploadError('upload ended before its recorded size');
      } finally {
        await closeFd(fd).catch(noop);
      }
    },
  };
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
