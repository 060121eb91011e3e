import { UploadAbortedError } from '../errors.ts';

/**
 * The body bytes that all uploads of a process hold in memory together (received, not yet
 * written), with a limit: past it, uploads stop taking data from their sockets until writes
 * catch up, so a disk or thread pool that falls behind leaves the backlog in the kernel's socket
 * buffers (and makes clients wait) instead of growing the process. 500 slow uploads otherwise
 * held ~100 MiB here.
 *
 * Rule for a writer (see receive() in index.ts): after each chunk, while `over()`, write what it
 * holds and wait for its own write; a writer that holds nothing waits for `below()`. Every held
 * byte belongs to a write in flight or about to start, so the waits always end.
 *
 * @example
 * const memory = new UploadMemory(16 * 1024 * 1024);
 * memory.add(chunk.length);            // received
 * memory.release(written);             // on disk
 * if (memory.over()) await memory.below(signal);
 */
export class UploadMemory {
  readonly limit: number;
  #held = 0;
  #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** True while the held bytes exceed the limit. */
  over(): boolean {
    return this.#held > this.limit;
  }

  add(n: number): void {
    this.#held += n;
  }

  release(n: number): void {
    this.#held -= n;
    if (this.#held <= this.limit && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Resolves once the held bytes are within the limit; rejects with UploadAbortedError when
   * `signal` aborts first.
   *
   * @example
   * while (memory.over()) await memory.below(signal);
   */
  below(signal?: AbortSignal): Promise<void> {
    if (!this.over()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new UploadAbortedError({ cause: signal.reason }));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(new UploadAbortedError({ cause: signal?.reason }));
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }
}
