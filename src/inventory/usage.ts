/**
 * How many bytes the repository holds, for the global quota, without scanning it per request.
 *
 *   bytes = usage/total.json (the last full scan: bytes listed, and when the scan began)
 *         + Σ usage/delta/ entries since that scan (add − del, written by every node)
 *         + pending: Σ bytes of cluster-wide pending batches whose newest slot is still in
 *           flight (read from the name) and of the in-flight slots in open segments (read
 *           from the body: at most ~1 MiB per node, the segments of the last 5 s),
 *           − Σ bytes of `add` deltas of that same window (floored at 0)
 *
 * "In flight" is the window in which a slot's upload may still be running: its lifetime plus
 * the upload deadline of the largest slot (in-flight.ts). The pending part is an estimate:
 * batches are never rewritten when their slots are uploaded (that would cost a write per
 * upload), so the uploads of the window — most of which were such slots — are taken off
 * instead. A batch counts whole until the window has passed its newest slot, and an upload of
 * an older slot is subtracted all the same: the estimate can be off by the slots of one window,
 * in either direction, never for longer.
 *
 * A snapshot of that sum is cached for `refreshAfter` (10 s): within that time this node adds
 * its own changes (note()), other nodes' changes show up at the next refresh. Full scans happen
 * in purge (every purgeInterval in serve) or, when total.json is older than `rescanAfter`, in the
 * background here; only the very first use without any total.json waits for one.
 */
import type { Store } from '../storage/store.ts';
import type { IndexStore } from './index-store/store.ts';
import { parseBatch, parseDelta, parseOpenSegment, paths } from './names.ts';
import { SEGMENT_MAX_AGE, decodeSlots } from './pending-journal.ts';
import { inFlightFor, type InFlightSettings } from './in-flight.ts';

/** The last full scan, as stored in usage/total.json. */
export interface UsageTotal {
  bytes: number;
  files: number;
  /** When the scan began (ms since epoch): deltas from then on are not in `bytes`. */
  at: number;
}

/**
 * Reads usage/total.json; undefined when missing or damaged.
 *
 * @example
 * const total = await readTotal(index);
 */
export async function readTotal(index: IndexStore): Promise<UsageTotal | undefined> {
  const data = await index.get(paths.total);
  if (!data) return undefined;
  try {
    const t = JSON.parse(data.toString('utf8')) as Partial<UsageTotal>;
    if (typeof t.bytes === 'number' && typeof t.files === 'number' && typeof t.at === 'number') {
      return { bytes: t.bytes, files: t.files, at: t.at };
    }
  } catch {
    // damaged: treated as missing
  }
  return undefined;
}

/**
 * Writes usage/total.json atomically.
 *
 * @example
 * await writeTotal(index, { bytes, files, at: scanStart });
 */
export async function writeTotal(index: IndexStore, total: UsageTotal): Promise<void> {
  await index.put(paths.total, JSON.stringify(total) + '\n');
}

/**
 * Streams every upload once and records the total (what purge does as a side effect).
 *
 * @example
 * await scanTotal(store, index);
 */
export async function scanTotal(store: Store, index: IndexStore, now: () => number = Date.now): Promise<UsageTotal> {
  const at = now();
  let bytes = 0;
  let files = 0;
  for await (const meta of store.list()) {
    bytes += meta.size;
    files++;
  }
  const total = { bytes, files, at };
  await writeTotal(index, total);
  return total;
}

export interface RepositoryUsageOptions {
  now?: () => number;
  /** Slot lifetime (ms): pending batches older than this no longer count, uploads younger are taken off them. */
  slotLifetime: () => number;
  /**
   * The in-flight window and per-slot bounds (in-flight.ts); without it a slot counts for its
   * lifetime only. `window` is how long after its newest slot a batch counts (lifetime + the
   * largest slot's upload deadline).
   */
  inFlight?: () => InFlightSettings & { window: number };
  /** Cache lifetime of a snapshot (ms). Default 10 s. */
  refreshAfter?: number;
  /** A total.json older than this triggers a background rescan (ms). Default 30 min. */
  rescanAfter?: number;
}

/** Stored bytes, pending bytes, and when the snapshot was taken. */
export interface UsageSnapshot {
  storedBytes: number;
  /** Stored uploads as of the snapshot (the index's total and deltas; this node's changes since are not counted). */
  storedFiles: number;
  pendingBytes: number;
  at: number;
}

/**
 * The repository's byte count for the global quota (see the module comment).
 *
 * @example
 * const usage = new RepositoryUsage(store, index, { slotLifetime: () => settings.slotLifetime });
 * const { storedBytes, pendingBytes } = await usage.current();
 */
export class RepositoryUsage {
  readonly #store: Store;
  readonly #index: IndexStore;
  readonly #now: () => number;
  readonly #slotLifetime: () => number;
  readonly #inFlight: (() => InFlightSettings & { window: number }) | undefined;
  readonly #refreshAfter: number;
  readonly #rescanAfter: number;
  #snapshot: UsageSnapshot | undefined;
  #refreshing: Promise<UsageSnapshot> | undefined;
  #rescanning: Promise<UsageTotal> | undefined;
  /** This node's changes since the snapshot's listing began: [at, bytes]. */
  #local: Array<[number, number]> = [];

  constructor(store: Store, index: IndexStore, options: RepositoryUsageOptions) {
    this.#store = store;
    this.#index = index;
    this.#now = options.now ?? Date.now;
    this.#slotLifetime = options.slotLifetime;
    this.#inFlight = options.inFlight;
    this.#refreshAfter = options.refreshAfter ?? 10_000;
    this.#rescanAfter = options.rescanAfter ?? 30 * 60_000;
  }

  /** Adds a change made by this node (a reservation, an upload, a deletion) to the cached sum. */
  note(bytes: number): void {
    this.#local.push([this.#now(), bytes]);
  }

  /**
   * The current estimate: the cached snapshot plus this node's changes since.
   *
   * @example
   * const u = await usage.current(); u.storedBytes + u.pendingBytes;
   */
  async current(): Promise<UsageSnapshot> {
    const snap =
      this.#snapshot && this.#now() - this.#snapshot.at < this.#refreshAfter ? this.#snapshot : await this.#refresh();
    let local = 0;
    for (const [at, b] of this.#local) if (at >= snap.at) local += b;
    return {
      storedBytes: snap.storedBytes + local,
      storedFiles: snap.storedFiles,
      pendingBytes: snap.pendingBytes,
      at: snap.at,
    };
  }

  #refresh(): Promise<UsageSnapshot> {
    this.#refreshing ??= this.#take().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #take(): Promise<UsageSnapshot> {
    const at = this.#now();
    let total = await readTotal(this.#index);
    if (!total) total = await this.#rescan();
    else if (at - total.at > this.#rescanAfter) void this.#rescan().catch(() => {});
    let stored = total.bytes;
    let files = total.files;
    const flight = this.#inFlight?.();
    const lifetime = flight?.window ?? this.#slotLifetime();
    const until = (slot: { issuedAt: number; expiresAt: number; size: number }): number =>
      flight ? slot.issuedAt + inFlightFor(slot.size, flight) : slot.expiresAt;
    let uploadedRecently = 0;
    for await (const name of this.#index.list(paths.delta)) {
      const d = parseDelta(name);
      if (!d) continue;
      if (d.at >= total.at) {
        stored += d.kind === 'add' ? d.size : -d.size;
        files += d.kind === 'add' ? d.count : -d.count;
      }
      if (d.kind === 'add' && d.at + lifetime > at) uploadedRecently += d.size;
    }
    let pending = 0;
    for await (const name of this.#index.list(paths.pending)) {
      const b = parseBatch(name);
      if (b) {
        if (b.at + lifetime > at) pending += b.bytes;
        continue;
      }
      const open = parseOpenSegment(name);
      // An open segment's name has no byte count (it is still growing): its in-flight slots are
      // summed from the body. One past firstAt + 5 s + the window holds none.
      if (!open || open.firstAt + SEGMENT_MAX_AGE + lifetime <= at) continue;
      const body = await this.#index.get(`${paths.pending}/${name}`);
      if (!body) continue; // sealed since the listing: this snapshot misses it, the next one has it
      for (const slot of decodeSlots(body)) if (until(slot) > at) pending += slot.size;
    }
    const pendingBytes = Math.max(0, pending - uploadedRecently);
    const snap = { storedBytes: Math.max(0, stored), storedFiles: Math.max(0, files), pendingBytes, at };
    this.#snapshot = snap;
    this.#local = this.#local.filter(([t]) => t >= at);
    return snap;
  }

  #rescan(): Promise<UsageTotal> {
    this.#rescanning ??= scanTotal(this.#store, this.#index, this.#now).finally(() => {
      this.#rescanning = undefined;
    });
    return this.#rescanning;
  }
}
