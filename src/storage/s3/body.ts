/**
 * The request body as the S3 store sends it on: counted against the slot size, cut into the
 * exact lengths that S3 requests announce (one PutObject, or multipart parts), and abortable
 * while a read is pending.
 *
 * The last bytes are held back until the body has ended: S3 publishes an object as soon as it
 * has received Content-Length bytes, so a body that turns out too long (or fails) after its
 * announced size must be stopped before its final piece goes out. An inspector's feed (malware
 * scanning) gets every chunk as it is pulled, and its verdict is awaited at that same point, so
 * a refused body is never published either.
 */
import { Readable } from 'node:stream';
import { SizeMismatchError, UploadAbortedError } from '../errors.ts';
import { noop } from '../../noop.ts';
import type { InspectionFeed } from '../store.ts';

/**
 * Reads an upload body of exactly `size` bytes.
 *
 * @example
 * const reader = new BodyReader(request, slot.size, signal);
 * try {
 *   await s3.send(new PutObjectCommand({ ..., Body: reader.stream(slot.size, true), ContentLength: slot.size }));
 * } finally {
 *   reader.close();
 * }
 */
export class BodyReader {
  readonly size: number;
  /** Bytes pulled from the source so far. */
  received = 0;
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #signal: AbortSignal | undefined;
  #rest: Uint8Array | undefined;
  #finished = false;
  #closed = false;
  #rejectPending: ((err: unknown) => void) | undefined;
  readonly #feed: InspectionFeed | undefined;
  #verdict: Promise<void> | undefined;
  readonly #onAbort = (): void => this.#rejectPending?.(new UploadAbortedError({ cause: this.#signal?.reason }));

  constructor(source: AsyncIterable<Uint8Array>, size: number, signal?: AbortSignal, feed?: InspectionFeed) {
    this.size = size;
    this.#feed = feed;
    this.#it = source[Symbol.asyncIterator]();
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The next non-empty chunk; throws SizeMismatchError past the size or at a short end. */
  async #next(): Promise<Uint8Array> {
    for (;;) {
      const r = await this.#pull();
      if (r.done) {
        this.#finished = true;
        throw new SizeMismatchError(this.size, this.received);
      }
      this.received += r.value.length;
      if (this.received > this.size) throw new SizeMismatchError(this.size, this.received);
      if (r.value.length === 0) continue;
      // Waits while the inspector is busy: its pace is the upload's, memory stays bounded.
      if (this.#feed) await this.#feed.push(r.value);
      return r.value;
    }
  }

  /** One read of the source that gives up as soon as the signal aborts. */
  #pull(): Promise<IteratorResult<Uint8Array>> {
    const signal = this.#signal;
    if (signal?.aborted) return Promise.reject(new UploadAbortedError({ cause: signal.reason }));
    if (!signal) return this.#it.next();
    return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
      this.#rejectPending = reject;
      this.#it.next().then(resolve, reject);
    }).finally(() => {
      this.#rejectPending = undefined;
    });
  }

  /**
   * Resolves when the source has ended with exactly `size` bytes (throws otherwise) and the
   * inspector, if any, lets the body be published (throws its refusal otherwise).
   */
  async expectEnd(): Promise<void> {
    if (this.#rest !== undefined) throw new SizeMismatchError(this.size, this.received);
    for (;;) {
      const r = await this.#pull();
      if (r.done) {
        this.#finished = true;
        if (this.received !== this.size) throw new SizeMismatchError(this.size, this.received);
        if (this.#feed) await (this.#verdict ??= this.#feed.end());
        return;
      }
      this.received += r.value.length;
      if (this.received > this.size) throw new SizeMismatchError(this.size, this.received);
    }
  }

  /**
   * Yields exactly the next `length` bytes of the body. With `last`, the final piece is only
   * yielded once the body has ended with exactly `size` bytes.
   *
   * @example
   * for await (const piece of reader.take(partSize, false)) send(piece);
   */
  async *take(length: number, last: boolean): AsyncGenerator<Uint8Array> {
    let left = length;
    while (left > 0) {
      let chunk = this.#rest ?? (await this.#next());
      this.#rest = undefined;
      if (chunk.length > left) {
        this.#rest = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      if (last && left === 0) await this.expectEnd();
      yield chunk;
    }
    if (last && length === 0) await this.expectEnd();
  }

  /**
   * A byte stream of the next `length` bytes (see take) for an S3 request body. The stream
   * errors with the body's error (size mismatch, abort, client reset): the caller must listen
   * for 'error' and abort the request, as the AWS SDK does not.
   *
   * @example
   * const body = reader.stream(part, false); body.on('error', (e) => controller.abort(e));
   */
  stream(length: number, last: boolean): Readable {
    return Readable.from(this.take(length, last), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  /** Stops reading: the source is told to stop unless it ended. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    // Not awaited: a source stuck in a pending next() only returns after that settles.
    if (!this.#finished) void Promise.resolve(this.#it.return?.()).catch(noop);
  }
}
