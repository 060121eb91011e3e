/**
 * A scan fed by a producer instead of read from a file: the bytes of an upload that is sent on
 * elsewhere as it arrives (the S3 store in proxy mode), handed over chunk by chunk.
 *
 * Memory stays bounded by backpressure both ways: `push` resolves once the scan has taken the
 * chunk (clamd's socket took the previous one), so at most one chunk waits here while one is
 * sent; and the producer, awaiting `push`, reads no further meanwhile. Until the scan's turn has
 * come and clamd has accepted the connection, the first push waits. Once the verdict is in (an
 * early one: clamd unreachable, or the stream passed its limit) pushes resolve at once and the
 * chunks are dropped.
 */
import type { ScanVerdict } from './clamav.ts';
import { noop } from '../noop.ts';

/** Starts a scan of the stream `open()` returns (ClamdClient.scanStream's shape). */
export type StreamScan = (open: () => AsyncIterable<Uint8Array>) => Promise<ScanVerdict>;

/**
 * One upload's bytes, pushed into a scan.
 *
 * @example
 * const feed = new ScanFeed((open) => clamd.scanStream(open));
 * for await (const chunk of body) { await feed.push(chunk); send(chunk); }
 * const verdict = await feed.end();
 */
export class ScanFeed {
  /** The verdict; rejects only when the feed was aborted. */
  readonly verdict: Promise<ScanVerdict>;
  #settled: ScanVerdict | undefined;
  readonly #queue: { chunk: Uint8Array; taken: () => void }[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #aborted = false;

  constructor(scan: StreamScan) {
    this.verdict = scan(() => this.#chunks()).then(
      (verdict) => {
        this.#settled = verdict;
        this.#release();
        return verdict;
      },
      (err: unknown) => {
        this.#release();
        throw err;
      },
    );
    // Only end() awaits the verdict; an abort's rejection is nobody's news.
    this.verdict.catch(noop);
  }

  /** The verdict once it is in (possibly before the end), else undefined. */
  get settled(): ScanVerdict | undefined {
    return this.#settled;
  }

  /** Hands one chunk to the scan; resolves once it is taken (or the verdict is already in). */
  push(chunk: Uint8Array): Promise<void> {
    if (this.#settled || this.#ended || this.#aborted || chunk.length === 0) return Promise.resolve();
    return new Promise((taken) => {
      this.#queue.push({ chunk, taken });
      this.#poke();
    });
  }

  /** The stream is complete: resolves with the verdict. */
  end(): Promise<ScanVerdict> {
    this.#ended = true;
    this.#poke();
    return this.verdict;
  }

  /** The upload failed: the scan stops (its connection closes) and the verdict rejects. */
  abort(): void {
    this.#aborted = true;
    this.#release();
    this.#poke();
  }

  async *#chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) {
        // Taken: the producer may read on while this chunk goes to clamd.
        next.taken();
        yield next.chunk;
        continue;
      }
      if (this.#aborted) throw new Error('the upload failed before its scan ended');
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Lets every waiting producer go (the verdict is in, or the feed is aborted). */
  #release(): void {
    for (const { taken } of this.#queue.splice(0)) taken();
  }
}
