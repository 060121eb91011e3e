/**
 * Garbage collection nudged by upload traffic.
 *
 * Every chunk of a request body arrives in a fresh buffer that Node allocates outside V8's heap.
 * Once written to disk the buffer is garbage, but V8 schedules collections by the JavaScript it
 * allocates, not by these bytes. One fast upload leaves young garbage that waits for the next
 * young-generation collection; hundreds of concurrent uploads keep chunks alive across a couple
 * of those, so they are promoted and wait for a full collection, and slow uploads pile up tens
 * of MiB of dead buffers (scripts/bench/README.md has the figures). So after every CHECK_EVERY
 * bytes of bodies this looks at the buffer memory and, when it is SLACK above what was in use
 * after the last full collection, asks for a young-generation collection (cheap); if the next
 * check finds it still high, a full one (at most every MAJOR_INTERVAL_MS).
 *
 * Uploads to the fs store leave no such garbage: it frees each chunk once written
 * (storage/release.ts). This is for bodies nobody frees (S3 proxy uploads, refused bodies read
 * and discarded).
 *
 * Needs `gc` (node --expose-gc: the single executable and bin/fileupload pass it); without it
 * this does nothing.
 */

/** Body bytes between two looks at buffer memory. */
export const CHECK_EVERY = 2 * 1024 * 1024;
/** Growth of buffer memory over its in-use level that calls for a collection. */
export const SLACK = 8 * 1024 * 1024;
/** Least time between two full collections asked for. */
export const MAJOR_INTERVAL_MS = 100;

/** V8's gc() as --expose-gc defines it. */
export type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void | Promise<void>;

/** What a reclaimer needs: V8's gc (node --expose-gc) and a reading of buffer memory. */
export interface ReclaimerDeps {
  gc: Gc | undefined;
  /** Bytes of ArrayBuffer memory (process.memoryUsage().arrayBuffers). */
  bufferBytes(): number;
  now?(): number;
}

/**
 * The policy above as a function of body bytes received.
 *
 * @example
 * const note = createReclaimer({ gc: globalThis.gc, bufferBytes: () => process.memoryUsage().arrayBuffers });
 * note(chunk.length);
 */
export function createReclaimer(deps: ReclaimerDeps): (bytes: number) => void {
  const { gc, bufferBytes } = deps;
  const now = deps.now ?? (() => performance.now());
  if (gc === undefined) return () => {};
  let sinceCheck = 0;
  /** Buffer memory in use after the last full collection (measured one check later). */
  let baseline = 0;
  let triedMinor = false;
  let measureBaseline = false;
  let lastMajor = -Infinity;
  return (n) => {
    sinceCheck += n;
    if (sinceCheck < CHECK_EVERY) return;
    sinceCheck = 0;
    // Freed buffers are swept concurrently after a collection, so every figure is read one
    // check (CHECK_EVERY bytes) after the collection it judges.
    const held = bufferBytes();
    if (measureBaseline) {
      measureBaseline = false;
      baseline = held;
      return;
    }
    if (held <= baseline + SLACK) {
      triedMinor = false;
      return;
    }
    if (!triedMinor) {
      // Usually enough: one fast upload leaves young garbage only.
      triedMinor = true;
      gc({ type: 'minor' });
      return;
    }
    const t = now();
    if (t - lastMajor < MAJOR_INTERVAL_MS) return;
    lastMajor = t;
    triedMinor = false;
    measureBaseline = true;
    gc({ type: 'major' });
  };
}

/**
 * Counts request-body bytes received by this process; now and then reclaims dead buffers.
 *
 * @example
 * for await (const chunk of request) { noteBodyBytes(chunk.length); … }
 */
export const noteBodyBytes: (bytes: number) => void = createReclaimer({
  gc: (globalThis as { gc?: Gc }).gc,
  bufferBytes: () => process.memoryUsage().arrayBuffers,
});
