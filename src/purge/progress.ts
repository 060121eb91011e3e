/**
 * The progress of a long purge as lines (`purge --progress`, for cron logs and terminals alike).
 * The first pass streams the listing, so how many uploads there are is known only from the index's
 * total of the last run (usage/total.json): with it, a line per tenth of it; without it, a line
 * every `everyMs` with the rate so far. Pure: the caller passes the clock.
 */
import type { PurgeProgress } from './run.ts';

/** One progress report: what the line says, also as fields for `--json`. */
export interface ProgressReport {
  listed: number;
  /** Uploads the index counted at the last run; null when unknown. */
  total: number | null;
  /** Tenths of `total` listed, in percent (0–100); null when the total is unknown. */
  percent: number | null;
  deleted: number;
  /** Uploads listed per second so far. */
  rate: number;
}

/**
 * Decides when a progress line is due.
 *
 * @example
 * const lines = new ProgressLines(total, Date.now(), false);
 * const r = lines.next({ listed, deleted }, Date.now()); if (r) print(lines.text(r));
 */
export class ProgressLines {
  readonly #total: number | undefined;
  readonly #start: number;
  readonly #dryRun: boolean;
  readonly #everyMs: number;
  #lastTenth = 0;
  #lastAt: number;
  #lastListed = -1;

  constructor(total: number | undefined, start: number, dryRun: boolean, everyMs = 10_000) {
    this.#total = total !== undefined && total > 0 ? total : undefined;
    this.#start = start;
    this.#dryRun = dryRun;
    this.#everyMs = everyMs;
    this.#lastAt = start;
  }

  /** The report due for these counts at `now`, or undefined when no line is due. */
  next(p: PurgeProgress, now: number): ProgressReport | undefined {
    if (this.#total !== undefined) {
      const tenth = Math.min(10, Math.floor((p.listed * 10) / this.#total));
      if (tenth <= this.#lastTenth) return undefined;
      this.#lastTenth = tenth;
    } else if (now - this.#lastAt < this.#everyMs) return undefined;
    return this.#report(p, now);
  }

  /** The closing report: always one, unless the last line already said the same. */
  end(p: PurgeProgress, now: number): ProgressReport | undefined {
    if (p.listed === this.#lastListed) return undefined;
    return this.#report(p, now);
  }

  /** The text line of a report. */
  text(r: ProgressReport): string {
    const what =
      r.total !== null ? `${r.percent}% (${r.listed} of ~${r.total} uploads listed)` : `${r.listed} uploads listed`;
    return `purge: ${what}, ${r.deleted} ${this.#dryRun ? 'to delete' : 'deleted'}, ${r.rate} uploads/s`;
  }

  #report(p: PurgeProgress, now: number): ProgressReport {
    this.#lastAt = now;
    this.#lastListed = p.listed;
    const seconds = (now - this.#start) / 1000;
    const total = this.#total ?? null;
    return {
      listed: p.listed,
      total,
      percent: total !== null ? Math.min(100, Math.floor((p.listed * 10) / total) * 10) : null,
      deleted: p.deleted,
      rate: seconds > 0 ? Math.round(p.listed / seconds) : 0,
    };
  }
}
