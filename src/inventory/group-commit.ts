/**
 * Group commit: many callers each want one record written and must not go on before it is; one
 * write carries many records. While a write is in flight (or `concurrency` of them), new records
 * queue; when it ends, everything queued (up to a cap) goes out as the next single write. Under
 * load each write carries whatever arrived during the previous one, so the number of writes
 * follows the storage's latency, not the request rate — without any timer or artificial delay (a lone
 * record goes out at once, after the current microtasks, so records added together share it).
 */

/** What a group commit writes with and how big a batch may grow. */
export interface GroupCommitOptions<T> {
  /** Writes one batch; resolves when it is durable. A rejection fails that batch's callers only. */
  write(items: T[]): Promise<void>;
  /** Most records per batch. Default 1000. */
  maxItems?: number;
  /** Most Σ sizeOf per batch (a single larger record still goes, alone). Default 1 MiB. */
  maxBytes?: number;
  /** A record's share of maxBytes. Default 0 (only maxItems applies). */
  sizeOf?(item: T): number;
  /**
   * Writes that may be in flight at once, each with its own batch. Default 1. Two halve what a
   * record waits behind a write already under way (its batch need not wait for that one to end),
   * where the records' order across batches does not matter.
   */
  concurrency?: number;
}

interface Waiter<T> {
  item: T;
  size: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Batches records into as few writes as the storage's latency allows, `concurrency` writes at a
 * time (default one).
 *
 * @example
 * const journal = new GroupCommit<string>({ write: (lines) => index.put(`log/${batchId()}`, lines.join('\n')) });
 * await journal.add('one record'); // resolves once the batch that holds it has been written
 */
export class GroupCommit<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (item: T) => number;
  readonly #concurrency: number;
  #queue: Waiter<T>[] = [];
  /** Drain loops running (each has at most one write in flight). */
  #running = 0;
  /** Callers of idle() waiting for the last drain loop to end. */
  #idle: Array<() => void> = [];

  constructor(options: GroupCommitOptions<T>) {
    this.#write = options.write;
    this.#maxItems = Math.max(1, options.maxItems ?? 1000);
    this.#maxBytes = options.maxBytes ?? 1 << 20;
    this.#sizeOf = options.sizeOf ?? (() => 0);
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
  }

  /** Records waiting for the next write (the batch being written is no longer counted). */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues a record; resolves when the batch holding it is written, rejects when that write fails.
   *
   * @example
   * await Promise.all(slots.map((s) => journal.add(s))); // one write for all of them
   */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, size: this.#sizeOf(item), resolve, reject });
      if (this.#running >= this.#concurrency) return;
      this.#running++;
      queueMicrotask(() => void this.#drain());
    });
  }

  /**
   * Resolves once nothing is queued or being written (at once when idle): what a shutdown
   * awaits before closing what the writes go to.
   *
   * @example
   * await journal.idle(); // every record added so far is written (or failed)
   */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      try {
        await this.#write(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running--;
    if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** The next batch from the queue's head: at least one record, then as many as the caps allow. */
  #take(): Waiter<T>[] {
    let n = 0;
    let bytes = 0;
    while (n < this.#queue.length && n < this.#maxItems) {
      const size = (this.#queue[n] as Waiter<T>).size;
      if (n > 0 && bytes + size > this.#maxBytes) break;
      bytes += size;
      n++;
    }
    return this.#queue.splice(0, n);
  }
}
