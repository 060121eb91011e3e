/**
 * Keeps the inventory index honest; purge runs it around its first listing pass.
 *
 *   before the pass   every `stored/` entry's id goes into a Bloom filter (index ids)
 *   during the pass   every listed upload's id goes into a second filter (repository ids); an
 *                     upload the index certainly lacks gets its stored entry (serve writes it
 *                     only under a per-user quota; a crash between publish and index write;
 *                     a node without the index)
 *   after the pass    `stored/` entries whose id the repository certainly lacks are confirmed
 *                     with store.stat() and removed (crash between delete and index write, files
 *                     removed by hand or by an S3 lifecycle rule); log entries past the day,
 *                     pending entries past the slot lifetime and deltas older than the new total
 *                     are removed (pending entries once their upload can no longer be running:
 *                     the slot lifetime plus its upload deadline, in-flight.ts; pending batches
 *                     once their newest slot is past the in-flight window, open segments — a
 *                     crashed node's — once firstAt + 5 s is, tombstones of forgotten slots —
 *                     with the store's tombstone of the id — once their slot's window is, deltas
 *                     once also older than the window); usage/total.json
 *                     gets the listing's byte count
 *
 * Constant memory (two fixed filters); entries younger than `margin` are left alone, since serve
 * may be writing them right now.
 */
import type { Store, UploadMeta } from '../storage/store.ts';
import { mapBounded } from '../storage/bounded.ts';
import { BloomFilter } from './bloom.ts';
import type { IndexStore } from './index-store/store.ts';
import { DAY_MS, folderNames, userFolders, type Ledger } from './ledger.ts';
import {
  parseBatch,
  parseDelta,
  parseForgotten,
  parseOpenSegment,
  parseStored,
  parseTimed,
  paths,
  storedName,
  userKey,
} from './names.ts';
import { SEGMENT_MAX_AGE } from './pending-journal.ts';
import { writeTotal } from './usage.ts';
import { inFlightUntil } from './in-flight.ts';

/** User folders read at once. */
const USERS_IN_FLIGHT = 8;
/** Index entries seen() writes at once. */
const WRITES_IN_FLIGHT = 32;

/** What a repair changed. */
export interface RepairReport {
  /** Uploads whose missing index entries were written. */
  added: number;
  /** Dangling stored entries removed. */
  dangling: number;
  /** Expired log, pending (batches, open segments, tombstones) and delta entries removed. */
  expired: number;
}

export interface RepairOptions {
  now: number;
  slotLifetime: number;
  /** Slowest accepted upload rate (bytes/s; ≤ 0 = none): a user's pending entry stays while its upload may run. Default: none. */
  minUploadRate?: number;
  /** How long after its newest slot a pending batch may still have uploads running (ms). Default: slotLifetime. */
  inFlightWindow?: number;
  /** Entries younger than this are never touched (ms). Default 10 minutes. */
  margin?: number;
  /** Bloom filter size in bytes (power of two). Default 1 MiB. */
  filterBytes?: number;
}

/**
 * One repair run.
 *
 * @example
 * const repair = new IndexRepair(ledger, store, { now, slotLifetime });
 * await repair.before();
 * for await (const meta of store.list()) await repair.seen(meta);
 * await repair.after({ bytes, files });
 */
export class IndexRepair {
  readonly report: RepairReport = { added: 0, dangling: 0, expired: 0 };
  readonly #index: IndexStore;
  readonly #store: Store;
  readonly #now: number;
  readonly #margin: number;
  readonly #slotLifetime: number;
  readonly #minUploadRate: number;
  readonly #window: number;
  readonly #indexed: BloomFilter;
  readonly #listed: BloomFilter;
  #ready = false;
  /** Index writes of seen() in flight, the first that failed, and who waits for one to end. */
  #writing = 0;
  #failure: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  constructor(ledger: Ledger, store: Store, options: RepairOptions) {
    this.#index = ledger.index;
    this.#store = store;
    this.#now = options.now;
    this.#margin = options.margin ?? 10 * 60_000;
    this.#slotLifetime = options.slotLifetime;
    this.#minUploadRate = options.minUploadRate ?? 0;
    this.#window = Math.max(options.slotLifetime, options.inFlightWindow ?? options.slotLifetime);
    this.#indexed = new BloomFilter(options.filterBytes);
    this.#listed = new BloomFilter(options.filterBytes);
  }

  /** Streams every user's stored entries into the index filter. */
  async before(): Promise<void> {
    await this.#eachUser(async (user) => {
      for (const name of await folderNames(this.#index, paths.stored(user))) {
        const e = parseStored(name);
        if (e) this.#indexed.add(e.id);
      }
    });
    this.#ready = true;
  }

  /**
   * `fn` for every user folder, USERS_IN_FLIGHT at once: a folder read is a thread-pool round
   * trip (a request on S3), and a thousand of them one after another leave both idle.
   */
  async #eachUser(fn: (user: string) => Promise<void>): Promise<void> {
    for await (const _ of mapBounded(userFolders(this.#index), USERS_IN_FLIGHT, fn));
  }

  /** Notes one listed upload; restores its index entries when they are certainly missing. */
  async seen(meta: UploadMeta): Promise<void> {
    this.#listed.add(meta.id);
    if (!this.#ready || this.#indexed.has(meta.id) || meta.storedAt > this.#now - this.#margin) return;
    const user = userKey(meta.uploader);
    const entry = {
      storedAt: meta.storedAt,
      id: meta.id,
      size: meta.size,
      purpose: meta.purpose,
      ...(meta.expireBefore !== undefined ? { expireBefore: meta.expireBefore } : {}),
    };
    // Not awaited one by one: after an import or a lost index every upload needs its entry, and
    // one file creation at a time leaves the thread pool idle (WRITES_IN_FLIGHT at once instead).
    while (this.#writing >= WRITES_IN_FLIGHT) await this.#oneWritten();
    if (this.#failure) throw this.#failure.error;
    this.#writing++;
    this.#index.put(`${paths.stored(user)}/${storedName(entry)}`).then(
      () => this.#written(),
      (error: unknown) => {
        this.#failure ??= { error };
        this.#written();
      },
    );
  }

  /** Waits for the entries seen() is still writing; rejects with the first write that failed. */
  async flush(): Promise<void> {
    while (this.#writing > 0) await this.#oneWritten();
    if (this.#failure) throw this.#failure.error;
  }

  #written(): void {
    this.#writing--;
    if (!this.#failure) this.report.added++;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves when a write in flight ends (one waiter at a time: seen() and flush() are awaited in turn). */
  #oneWritten(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /**
   * Removes dangling and expired entries and records the listing's total.
   * `total` is what the listing pass saw, before this purge deleted anything (its deletions
   * are deltas after `now`).
   */
  async after(total: { bytes: number; files: number }): Promise<RepairReport> {
    await this.flush();
    const old = this.#now - this.#margin;
    await writeTotal(this.#index, { bytes: total.bytes, files: total.files, at: this.#now });
    // Every upload listed before `now - margin` now has its entry: listings may choose by them.
    await this.#index.put(paths.repaired, JSON.stringify({ at: this.#now }) + '\n');
    await this.#eachUser(async (user) => {
      for (const name of await folderNames(this.#index, paths.stored(user))) {
        const e = parseStored(name);
        if (!e || e.storedAt > old || this.#listed.has(e.id)) continue;
        if ((await this.#store.stat(e.id)) !== undefined) continue;
        if (await this.#index.delete(`${paths.stored(user)}/${name}`)) this.report.dangling++;
      }
      for (const name of await folderNames(this.#index, paths.log(user))) {
        const e = parseTimed(name);
        if (e && e.at < old - DAY_MS) await this.#drop(`${paths.log(user)}/${name}`);
      }
      for (const name of await folderNames(this.#index, paths.userPending(user))) {
        const e = parseTimed(name);
        if (e && inFlightUntil(e, { slotLifetime: this.#slotLifetime, minUploadRate: this.#minUploadRate }) < old) {
          await this.#drop(`${paths.userPending(user)}/${name}`);
        }
      }
    });
    for await (const name of this.#index.list(paths.pending)) {
      // Every slot of an open segment was issued before firstAt + 5 s: one still open past that
      // plus a lifetime (plus the margin) holds only expired slots — a node died with it open.
      const open = parseOpenSegment(name);
      const newest = open ? open.firstAt + SEGMENT_MAX_AGE : parseBatch(name)?.at;
      if (newest !== undefined && newest + this.#window < old) await this.#drop(`${paths.pending}/${name}`);
    }
    // A forgotten slot's record goes with its tombstone in the store (removal.ts), once no upload
    // of the slot can be running: issued a lifetime before expiresAt, it may run for the window.
    for await (const name of this.#index.list(paths.forgotten)) {
      const f = parseForgotten(name);
      if (!f || f.expiresAt - this.#slotLifetime + this.#window >= old) continue;
      await this.#store.dropTombstone(f.id);
      await this.#drop(`${paths.forgotten}/${name}`);
    }
    // Deltas of the last in-flight window stay even when the new total has them: usage.ts takes
    // recent uploads off the pending batches' bytes.
    const deltasBefore = Math.min(old, this.#now - this.#window);
    for await (const name of this.#index.list(paths.delta)) {
      const e = parseDelta(name);
      if (e && e.at < deltasBefore) await this.#drop(`${paths.delta}/${name}`);
    }
    return this.report;
  }

  async #drop(key: string): Promise<void> {
    if (await this.#index.delete(key)) this.report.expired++;
  }
}
