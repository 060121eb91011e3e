import { fdatasync, futimesSync, writev, writevSync } from 'node:fs';
import { isHandOverBody, type HandedOverBody, type UploadMeta } from '../store.ts';
import { SizeMismatchError, UploadAbortedError } from '../errors.ts';
import { encodeHeader } from './format.ts';
import { UploadMemory } from './budget.ts';
import { releaseChunks } from '../release.ts';
import { noop } from '../../noop.ts';

/**
 * The write side of an upload: the body streamed into an open temp file after a reserved header.
 *
 * How bytes reach the disk is chosen for memory as much as for speed. Large batches (one fast
 * upload) go through the thread pool so the next batch arrives while one is written; batches up
 * to SYNC_WRITE_MAX (small files, slow or very many clients) are written at once on the main
 * thread, as nginx does: a page-cache write of a few KiB costs less than a thread-pool round
 * trip, and the received chunk is released at once instead of waiting in a queue long enough to
 * be promoted to V8's old generation (500 slow uploads held ~100 MiB of such garbage).
 *
 * A large body (HAND_OVER_MIN_SIZE) is handed over to the kernel before its first chunk is read,
 * whatever its speed: when the body offers it (HandOverBody), it moves from the socket into the
 * file by splice(2), without a user-space buffer per read; what Node had already read is written
 * first. How fast the client starts says little (an Expect: 100-continue round trip, a slow
 * start), and the kernel path waits for a slow client as cheaply as Node does.
 */

/** Writes are gathered up to this size per writev (few syscalls, large sequential writes). */
const MAX_BATCH = 1024 * 1024;
/** The smallest gather limit, whatever the concurrency. */
const MIN_BATCH = 32 * 1024;
/** Batches up to this size are written synchronously (see above). */
export const SYNC_WRITE_MAX = 64 * 1024;
/**
 * Body bytes all running uploads of this process may have in asynchronous writes together. The
 * per-upload gather limit is this divided by the number of running uploads (clamped to
 * MIN..MAX_BATCH), so one upload writes in 1 MiB pieces; past the total, uploads stop reading
 * from their sockets until writes complete (budget.ts).
 */
const UPLOAD_MEMORY_BUDGET = 16 * 1024 * 1024;
/**
 * Bodies up to this size are held in memory until complete and written with their header in one
 * writev: a small upload costs one write.
 */
const SMALL_BODY = 128 * 1024;
/**
 * While the first bytes are held in memory nothing is written, so the temp file's mtime is
 * refreshed this often: purge takes a temp file untouched for minutes for an abandoned one.
 */
const TOUCH_EVERY_MS = 30_000;
/** Durable uploads start an fdatasync in the background after this many bytes written. */
const EARLY_SYNC = 32 * 1024 * 1024;

/**
 * A body at least this large goes to the kernel from its first byte when it can: below it, the
 * few writes saved do not pay for the connection that then closes after the answer.
 */
export const HAND_OVER_MIN_SIZE = 4 * 1024 * 1024;

const uploadMemory = new UploadMemory(UPLOAD_MEMORY_BUDGET);
let runningUploads = 0;
const batchLimit = (): number =>
  Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(UPLOAD_MEMORY_BUDGET / Math.max(1, runningUploads))));

/**
 * Streams `body` into `fd` after a reserved header, counting bytes; throws SizeMismatchError as
 * soon as the count passes `meta.size` (the rest is never read) or when the body ends short.
 * Writes overlap with reading: while one write is in flight, arriving chunks gather (up to
 * batchLimit(), then reading waits), so a fast client gets large writes and a slow one small
 * ones. Resolves with the final metadata (storedAt = now) once header and body are written.
 * With `release`, each chunk's memory is freed as soon as it is written (release.ts): the caller
 * gives the chunks up. With `keepStoredAt`, `meta.storedAt` is kept as given.
 *
 * @example
 * const meta = await receive(fd, { ...input, storedAt: Date.now() }, request, signal, true, true);
 */
export async function receive(
  fd: number,
  meta: UploadMeta,
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  durable: boolean,
  release = false,
  keepStoredAt = false,
): Promise<UploadMeta> {
  const done = release ? releaseChunks : noop;
  const header = encodeHeader(meta);
  const bodyOffset = header.length;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let position = bodyOffset;
  let received = 0;
  // Past the small-body hold, body bytes go to disk as they come. A body larger than SMALL_BODY
  // never gets the hold: holding its first chunks saves no write, and uploads that start
  // together would hold them all at once (500 slow uploads: 16 MiB, which malloc kept).
  let streaming = meta.size > SMALL_BODY;
  let touched = Date.now();
  let inflight: Promise<void> | undefined;
  let writeError: unknown;
  // Durable uploads: start writeback of what is already written while the rest arrives, so the
  // final fdatasync has only the tail left to flush instead of the whole file.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;

  // Set once the upload failed: no new background sync may start on a descriptor being closed.
  let failed = false;

  const written = (bytes: number): void => {
    unsynced += bytes;
    if (durable && !failed && unsynced >= EARLY_SYNC && !syncing) {
      unsynced = 0;
      syncing = datasync(fd).then(
        () => void (syncing = undefined),
        (err: unknown) => {
          writeError ??= err;
          syncing = undefined;
        },
      );
    }
  };

  const flush = (): void => {
    const buffers = pending;
    const at = position;
    const bytes = pendingBytes;
    position += pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (bytes <= SYNC_WRITE_MAX && inflight === undefined) {
      writeAllSync(fd, buffers, at); // throws: nothing is in flight, the caller sees it
      done(buffers);
      written(bytes);
      return;
    }
    uploadMemory.add(bytes);
    const run: Promise<void> = writeAll(fd, buffers, at).then(
      () => {
        uploadMemory.release(bytes);
        done(buffers);
        if (inflight === run) inflight = undefined;
        written(bytes);
      },
      (err: unknown) => {
        uploadMemory.release(bytes);
        done(buffers);
        writeError ??= err;
        if (inflight === run) inflight = undefined;
      },
    );
    inflight = run;
  };

  runningUploads++;
  try {
    const handed: HandedOverBody | undefined =
      meta.size >= HAND_OVER_MIN_SIZE && isHandOverBody(body) ? await body.handOver() : undefined;
    const gathers = meta.size >= HAND_OVER_MIN_SIZE;
    // Handed over, the iterator yields nothing more: the loop ends at once.
    for await (const chunk of handed ? [] : abortable(body, signal)) {
      if (writeError !== undefined) throw writeError;
      received += chunk.length;
      if (received > meta.size) throw new SizeMismatchError(meta.size, received);
      if (chunk.length === 0) continue;
      pending.push(chunk);
      pendingBytes += chunk.length;
      const limit = batchLimit();
      if (!streaming) {
        if (pendingBytes < Math.min(SMALL_BODY, limit)) {
          const now = Date.now();
          if (now - touched >= TOUCH_EVERY_MS) {
            touched = now;
            futimesSync(fd, now / 1000, now / 1000);
          }
          continue;
        }
        streaming = true;
      }
      if (inflight === undefined) {
        // A large body that stays with Node (TLS, no addon, chunked) gathers a whole batch
        // first: its chunks are small (16 KiB under TLS), and writing each at once costs a
        // syscall per chunk on the main thread. Memory stays bounded by batchLimit (the budget
        // shared by all uploads), and a trickle still reaches the file often enough for its
        // mtime (see TOUCH_EVERY_MS).
        if (!gathers || pendingBytes >= limit) flush();
        else {
          const now = Date.now();
          if (now - touched >= TOUCH_EVERY_MS) {
            touched = now;
            flush();
          }
        }
      } else if (pendingBytes >= limit) {
        await inflight;
        if (writeError !== undefined) throw writeError;
        flush();
      }
      // All uploads together have too much in flight: take nothing more from this socket until
      // our own write is done — or, with none of our own, until others' are.
      while (uploadMemory.over()) {
        if (inflight !== undefined) await inflight;
        else await uploadMemory.below(signal);
        if (writeError !== undefined) throw writeError;
      }
    }
    if (handed) {
      for (const b of handed.buffered) {
        received += b.length;
        if (received > meta.size) throw new SizeMismatchError(meta.size, received);
        pending.push(b);
        pendingBytes += b.length;
      }
      await inflight;
      if (writeError !== undefined) throw writeError;
      if (pendingBytes > 0) flush();
      await inflight;
      if (writeError !== undefined) throw writeError;
      const rest = meta.size - received;
      await handed.moveTo(fd, position, rest, {
        ...(signal ? { signal } : {}),
        onMoved: (n) => {
          received += n;
          written(n);
        },
      });
      position += rest;
    }
    if (received !== meta.size) throw new SizeMismatchError(meta.size, received);
    await inflight;
    await syncing;
    if (writeError !== undefined) throw writeError;

    // Published now: the header is written last so storedAt is the completion time (or the
    // given one: an imported upload keeps the time it was first stored).
    const final: UploadMeta = keepStoredAt ? meta : { ...meta, storedAt: Date.now() };
    const finalHeader = encodeHeader(final, header.length - 8);
    if (!streaming) {
      await write(fd, [finalHeader, ...pending], 0, pendingBytes);
    } else {
      // Both settle before either's failure is thrown (no write outlives this function).
      const outcomes = await Promise.allSettled([
        pendingBytes > 0 ? attempt(() => write(fd, pending, position, pendingBytes)) : undefined,
        attempt(() => write(fd, [finalHeader], 0, 0)),
      ]);
      for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    }
    done(pending);
    return final;
  } catch (err) {
    // The caller closes `fd` once this settles: a write still queued in the thread pool would
    // then land on whatever file next gets that descriptor number. Every write and sync started
    // here settles first (their own errors are dropped: `err` is the answer).
    failed = true;
    await settled(inflight);
    await settled(syncing);
    throw err;
  } finally {
    runningUploads--;
  }
}

/** `fn()` as a promise, a synchronous throw included. */
async function attempt(fn: () => Promise<void> | void): Promise<void> {
  await fn();
}

/** Resolves once `run` (a write or sync, maybe none) has settled, whether it failed or not. */
async function settled(run: Promise<void> | undefined): Promise<void> {
  await run?.catch(noop);
}

/** A write of `bodyBytes` (plus maybe a header): synchronous when small (see the module note). */
function write(fd: number, buffers: Uint8Array[], position: number, bodyBytes: number): Promise<void> | void {
  if (bodyBytes <= SYNC_WRITE_MAX) writeAllSync(fd, buffers, position);
  else return writeAll(fd, buffers, position);
}

/** writev until every byte is written (a regular file may take fewer bytes than asked). */
function writeAllSync(fd: number, buffers: Uint8Array[], position: number): void {
  let total = 0;
  for (const b of buffers) total += b.length;
  let done = 0;
  while (done < total) {
    const n = writevSync(fd, buffers, position + done);
    if (n <= 0) throw new Error('writev wrote nothing');
    done += n;
    if (done < total) buffers = dropPrefix(buffers, n);
  }
}

/** writeAllSync through the thread pool. */
async function writeAll(fd: number, buffers: Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let done = 0;
  while (done < total) {
    const n = await writevAt(fd, buffers, position + done);
    if (n <= 0) throw new Error('writev wrote nothing');
    done += n;
    if (done < total) buffers = dropPrefix(buffers, n);
  }
}

function writevAt(fd: number, buffers: Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writev(fd, buffers as NodeJS.ArrayBufferView[], position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * fdatasync through the thread pool.
 *
 * @example
 * await datasync(fd);
 */
export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
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
async function* abortable(
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
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
