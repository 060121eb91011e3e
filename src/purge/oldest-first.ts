/**
 * Bounded-memory "oldest first until N bytes" selection.
 *
 * Size rules (maxRepoSize, disk) delete the oldest uploads until enough bytes are gone. Sorting
 * every upload by age would hold the whole listing in memory; instead one streamed pass feeds a
 * {@link TimeHistogram} (bytes per time bucket, at most `maxBuckets` buckets: the bucket width
 * doubles whenever there are too many), and {@link TimeHistogram.cut} finds the one bucket where
 * the cumulative oldest-first byte count crosses the target. Everything older than that bucket
 * goes, everything newer stays, and only the uploads inside the crossing bucket must be compared
 * one by one. When that bucket is still crowded, a further pass refines it with a fresh histogram
 * over just its time range. Memory: O(maxBuckets + the entries of one crossing bucket), whatever
 * the number of uploads.
 */

/** Where the oldest-first cumulative byte count reaches a target. */
export interface Cut {
  /** Every entry with a time before `from` is selected. */
  from: number;
  /** Entries in [from, to) are decided one by one, in (time, id) order; entries at or after `to` stay. */
  to: number;
  /** Bytes of all entries before `from` (the cumulative count when the bucket starts). */
  bytesBefore: number;
  /** How many entries the crossing bucket held when counted. */
  count: number;
}

/** Nothing selected. */
export const NONE: Cut = Object.freeze({ from: -Infinity, to: -Infinity, bytesBefore: 0, count: 0 });
/** Everything selected. */
export const ALL: Cut = Object.freeze({ from: Infinity, to: Infinity, bytesBefore: 0, count: 0 });

interface Bucket {
  bytes: number;
  count: number;
}

/**
 * Bytes and counts per time bucket. Bucket i covers [i·width, (i+1)·width); width starts at 1 ms
 * and doubles (merging neighbours) whenever more than `maxBuckets` buckets exist.
 *
 * @example
 * const h = new TimeHistogram();
 * for (const m of uploads) h.add(m.storedAt, m.size);
 * const cut = h.cut(bytesToFree); // older than cut.from: delete; [from, to): decide one by one
 */
export class TimeHistogram {
  readonly maxBuckets: number;
  #width = 1;
  #buckets = new Map<number, Bucket>();
  #bytes = 0;
  #count = 0;

  constructor(maxBuckets = 4096) {
    if (!Number.isInteger(maxBuckets) || maxBuckets < 2) throw new RangeError('maxBuckets must be an integer ≥ 2');
    this.maxBuckets = maxBuckets;
  }

  /** Current bucket width in ms. */
  get width(): number {
    return this.#width;
  }

  /** Total bytes added. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries added. */
  get count(): number {
    return this.#count;
  }

  /** Counts one entry at `time` (ms) with `bytes`. */
  add(time: number, bytes: number): void {
    const key = Math.floor(time / this.#width);
    const b = this.#buckets.get(key);
    if (b) {
      b.bytes += bytes;
      b.count++;
    } else {
      this.#buckets.set(key, { bytes, count: 1 });
      if (this.#buckets.size > this.maxBuckets) this.#coarsen();
    }
    this.#bytes += bytes;
    this.#count++;
  }

  #coarsen(): void {
    while (this.#buckets.size > this.maxBuckets) {
      const merged = new Map<number, Bucket>();
      for (const [k, b] of this.#buckets) {
        // floor(floor(t / w) / 2) === floor(t / 2w): halving the key is the same as doubling width.
        const key = Math.floor(k / 2);
        const m = merged.get(key);
        if (m) {
          m.bytes += b.bytes;
          m.count += b.count;
        } else merged.set(key, { ...b });
      }
      this.#buckets = merged;
      this.#width *= 2;
    }
  }

  /**
   * Finds the bucket where the oldest-first cumulative bytes first reach `need`: an entry is
   * selected when the bytes of all entries before it (in time, id order) are still below `need`.
   * `need` ≤ 0 selects nothing ({@link NONE}); `need` above the total selects everything ({@link ALL}).
   *
   * @example
   * new TimeHistogram().cut(0); // NONE
   */
  cut(need: number): Cut {
    if (need <= 0 || this.#count === 0) return NONE;
    if (need > this.#bytes) return ALL;
    const keys = [...this.#buckets.keys()].sort((a, b) => a - b);
    let before = 0;
    for (const k of keys) {
      const b = this.#buckets.get(k) as Bucket;
      if (before + b.bytes >= need) {
        return { from: k * this.#width, to: (k + 1) * this.#width, bytesBefore: before, count: b.count };
      }
      before += b.bytes;
    }
    // Unreachable (need ≤ total), kept for floating-point safety.
    return ALL;
  }
}

/**
 * Narrows a cut whose crossing bucket holds too many entries: builds a histogram of just the
 * entries inside [cut.from, cut.to) (one more streamed pass) and cuts it with the remaining need.
 *
 * @example
 * while (cut.count > limit && cut.to - cut.from > 1) cut = await refineCut(cut, need, times());
 */
export async function refineCut(
  cut: Cut,
  need: number,
  entries: AsyncIterable<{ time: number; bytes: number }>,
  maxBuckets = 4096,
): Promise<Cut> {
  if (!Number.isFinite(cut.from)) return cut;
  const h = new TimeHistogram(maxBuckets);
  for await (const e of entries) if (e.time >= cut.from && e.time < cut.to) h.add(e.time, e.bytes);
  const inner = h.cut(need - cut.bytesBefore);
  if (inner === NONE) return { from: cut.from, to: cut.from, bytesBefore: cut.bytesBefore, count: 0 };
  if (inner === ALL) return { from: cut.to, to: cut.to, bytesBefore: cut.bytesBefore + h.bytes, count: 0 };
  // Refined buckets are aligned to multiples of the inner width, so clamp to the outer range.
  return {
    from: Math.max(inner.from, cut.from),
    to: Math.min(inner.to, cut.to),
    bytesBefore: cut.bytesBefore + inner.bytesBefore,
    count: inner.count,
  };
}

/**
 * True when an entry at `time` falls inside the cut's crossing bucket.
 *
 * @example
 * if (inCrossing(cut, meta.storedAt)) held.push(meta);
 */
export function inCrossing(cut: Cut, time: number): boolean {
  return time >= cut.from && time < cut.to;
}
