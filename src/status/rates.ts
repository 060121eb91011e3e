/**
 * Event rates over the last minutes in constant memory: one bucket per second in a ring, each
 * stamped with the second it counts, so a stale bucket reads as zero without any timer.
 */

/**
 * Per-second counts of one kind of event (slots, uploads, bytes) over a fixed window.
 *
 * @example
 * const bytesIn = new RateWindow(300);
 * bytesIn.add(65536);
 * bytesIn.perSecond(10); // average bytes/s over the last 10 complete seconds
 */
export class RateWindow {
  readonly seconds: number;
  private readonly counts: Float64Array;
  private readonly stamps: Float64Array;
  private readonly now: () => number;
  private readonly createdSecond: number;

  /**
   * @param seconds how far back the window remembers (one bucket per second)
   * @param now clock in ms (tests)
   */
  constructor(seconds = 300, now: () => number = Date.now) {
    if (!Number.isInteger(seconds) || seconds < 2)
      throw new RangeError(`a rate window needs at least 2 seconds, not ${seconds}`);
    this.seconds = seconds;
    this.counts = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
    this.now = now;
    this.createdSecond = Math.floor(now() / 1000);
  }

  /** Counts `n` (default 1) in the current second. */
  add(n = 1): void {
    if (!(n > 0)) return;
    const second = Math.floor(this.now() / 1000);
    const i = second % this.seconds;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + n;
  }

  /** The count of one absolute second (0 when it left the window or saw nothing). */
  private at(second: number): number {
    const i = second % this.seconds;
    return this.stamps[i] === second ? (this.counts[i] ?? 0) : 0;
  }

  /**
   * Average per second over the last `lastSeconds` complete seconds (the running second is still
   * filling, so it would drag the figure down). A window younger than that is averaged over its
   * own age, so a fresh process does not under-report.
   */
  perSecond(lastSeconds: number): number {
    const n = Math.max(1, Math.min(Math.floor(lastSeconds), this.seconds - 1));
    const current = Math.floor(this.now() / 1000);
    const age = current - this.createdSecond;
    const span = Math.max(1, Math.min(n, age));
    let sum = 0;
    for (let s = current - span; s < current; s++) sum += this.at(s);
    return sum / span;
  }

  /**
   * The events of the last `lastSeconds` seconds, the running one included (a fresh event counts
   * at once).
   *
   * @example
   * new RateWindow(301).sum(300); // events of the last five minutes
   */
  sum(lastSeconds: number): number {
    const n = Math.max(1, Math.min(Math.floor(lastSeconds), this.seconds));
    const current = Math.floor(this.now() / 1000);
    let total = 0;
    for (let s = current - n + 1; s <= current; s++) total += this.at(s);
    return total;
  }

  /**
   * Per-second averages of consecutive steps of `stepSeconds`, oldest first, ending with the last
   * complete second; as many points as fit in the window (at most `points`).
   *
   * @example
   * new RateWindow(300).history(5, 60); // 60 points covering the last 5 minutes
   */
  history(stepSeconds: number, points: number): number[] {
    const step = Math.max(1, Math.floor(stepSeconds));
    const count = Math.max(0, Math.min(Math.floor(points), Math.floor((this.seconds - 1) / step)));
    const current = Math.floor(this.now() / 1000);
    const out: number[] = [];
    for (let p = count - 1; p >= 0; p--) {
      const end = current - p * step; // exclusive
      let sum = 0;
      for (let s = end - step; s < end; s++) sum += this.at(s);
      out.push(sum / step);
    }
    return out;
  }
}
