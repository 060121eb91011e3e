/**
 * `slots ls`: pending slots (from the index, as every node writes them) and stored uploads,
 * filtered while streaming and sorted by time with the external sort, so memory does not grow
 * with the number of uploads.
 *
 * Stored uploads come from the store's streamed listing (every upload's header read), except
 * where the index lists every upload (`indexed`: serve writes a user's `stored/` entry on every
 * upload under a per-user quota) and the result is bounded: one user's uploads, or the first
 * `limit` rows. Then the names of `stored/` entries (time, id) choose the uploads and only those
 * are read from the store: one user's folder for --user, the names of every user's folder for
 * --limit (a listing of the index, no upload opened), never a header more than the rows need.
 */
import type { Purpose } from '../slots/slot.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { retentionDeadline } from '../slots/purposes.ts';
import { isImportedId } from '../slots/id.ts';
import { folderNames, userFolders, type Ledger, type PendingSlot } from './ledger.ts';
import { externalSortBatches, type ExternalSortOptions } from './external-sort.ts';
import { mapBounded } from '../storage/bounded.ts';
import { parseStored, paths, userKey, type StoredEntry } from './names.ts';

/** One row of `slots ls` (times in ms since epoch). */
export interface SlotRow {
  id: string;
  filename: string;
  size: number;
  contentType: string | null;
  uploader: string;
  /** Issue time (pending) or publish time (stored). */
  created: number;
  /** Pending: when the PUT URL stops working. Stored: when retention removes it (null: not by age). */
  expires: number | null;
  purpose: Purpose;
  /** `imported`: a stored upload taken over from the Openfire plugin (no uploader known). */
  state: 'pending' | 'stored' | 'imported';
}

/** Filters of `slots ls`. */
export interface SlotFilter {
  /** Bare JID (case-insensitive). */
  user?: string;
  /** `stored` includes the imported uploads; `imported` is only those. */
  state?: 'pending' | 'stored' | 'imported';
  /** Only rows created at or after this instant. */
  since?: number;
  /** Only rows created before this instant. */
  before?: number;
  limit?: number;
  /** newest first (default) or oldest first. */
  order?: 'newest' | 'oldest';
}

export interface ListDeps {
  store: Store;
  ledger: Ledger;
  now: number;
  /** For the `expires` of stored uploads. */
  maxAge: number | undefined;
  maxAgePurposes: readonly Purpose[];
  sort?: ExternalSortOptions;
  /**
   * The index lists every stored upload: a per-user quota is set (serve writes each upload's
   * `stored/` entry; import does too) and uploads go through serve (not S3's direct mode).
   * Uploads it lacks (stored before the quota was set) are in it from purge's next repair pass on;
   * until a repair pass has run at all (repaired.json), the listing scans instead.
   */
  indexed?: boolean;
}

/**
 * A stored upload as a row.
 *
 * @example
 * storedRow(meta, undefined, ['message']);
 */
export function storedRow(meta: UploadMeta, maxAge: number | undefined, purposes: readonly Purpose[]): SlotRow {
  return {
    id: meta.id,
    filename: meta.filename,
    size: meta.size,
    contentType: meta.contentType,
    uploader: meta.uploader,
    created: meta.storedAt,
    expires: retentionDeadline(meta, maxAge, purposes) ?? null,
    purpose: meta.purpose,
    state: isImportedId(meta.id) ? 'imported' : 'stored',
  };
}

/**
 * A pending slot as a row.
 *
 * @example
 * pendingRow(slot);
 */
export function pendingRow(p: PendingSlot): SlotRow {
  return {
    id: p.id,
    filename: p.filename,
    size: p.size,
    contentType: p.contentType ?? null,
    uploader: p.uploader,
    created: p.issuedAt,
    expires: p.expiresAt,
    purpose: p.purpose,
    state: 'pending',
  };
}

/**
 * True when a row passes the filter (limit and order aside).
 *
 * @example
 * matches(row, { user: 'alice@example.org', state: 'stored' });
 */
export function matches(row: SlotRow, f: SlotFilter): boolean {
  if (f.state && row.state !== f.state && !(f.state === 'stored' && row.state === 'imported')) return false;
  if (f.user !== undefined && row.uploader.toLowerCase() !== f.user.toLowerCase()) return false;
  if (f.since !== undefined && row.created < f.since) return false;
  if (f.before !== undefined && row.created >= f.before) return false;
  return true;
}

const MAX_TIME = 9_999_999_999_999;
/** User folders of the index read at once by a listing. */
const FOLDERS_IN_FLIGHT = 8;

/**
 * The rows, filtered and sorted, as lines: `format` of each {@link SlotRow} (JSON by default;
 * the line must not hold a newline). Formatting before the sort spares a caller parsing every
 * line back. Pending slots that already expired or were uploaded meanwhile are left out.
 *
 * @example
 * for await (const line of listSlots(deps, { user: 'alice@example.org', limit: 20 })) console.log(line);
 */
export async function* listSlots(
  deps: ListDeps,
  filter: SlotFilter = {},
  format: (row: SlotRow) => string = JSON.stringify,
): AsyncGenerator<string> {
  for await (const lines of listSlotBatches(deps, filter, format)) yield* lines;
}

/**
 * listSlots' lines in batches (arrays, in order): what a caller printing a million rows wants.
 *
 * @example
 * for await (const lines of listSlotBatches(deps, {})) process.stdout.write(lines.join('\n') + '\n');
 */
export async function* listSlotBatches(
  deps: ListDeps,
  filter: SlotFilter = {},
  format: (row: SlotRow) => string = JSON.stringify,
): AsyncGenerator<string[]> {
  const newestFirst = (filter.order ?? 'newest') === 'newest';
  const sortKey = (created: number, id: string): string =>
    `${String(newestFirst ? MAX_TIME - created : created).padStart(13, '0')}.${id}`;
  const key = (r: SlotRow): string => sortKey(r.created, r.id);
  // Only once a repair pass has filled the index: before (a lost index, a repository used before
  // a per-user quota was set) it may lack any upload, and a listing by it would miss them.
  const fromIndex =
    deps.indexed === true &&
    (filter.user !== undefined || filter.limit !== undefined) &&
    (await deps.ledger.index.get(paths.repaired)) !== undefined;
  async function* rows(): AsyncGenerator<[string, string]> {
    if (filter.state === undefined || filter.state === 'pending') {
      for await (const p of deps.ledger.pendingSlots()) {
        if (p.expiresAt <= deps.now) continue;
        const row = pendingRow(p);
        if (!matches(row, filter)) continue;
        if ((await deps.store.stat(p.id)) !== undefined) continue; // uploaded: listed as stored
        yield [key(row), format(row)];
      }
    }
    if (filter.state === 'pending') return;
    if (fromIndex) {
      yield* indexedRows(deps, filter, sortKey, key, format);
      return;
    }
    for await (const meta of deps.store.list()) {
      const row = storedRow(meta, deps.maxAge, deps.maxAgePurposes);
      if (matches(row, filter)) yield [key(row), format(row)];
    }
  }
  yield* externalSortBatches(rows(), { ...deps.sort, ...(filter.limit !== undefined ? { limit: filter.limit } : {}) });
}

/** An index entry chosen for a row, by its sort key. */
interface Candidate {
  key: string;
  id: string;
  /** Its entry name's time, as written there (13 digits). */
  time: string;
}

/**
 * Stored rows chosen by the index: the entries whose names pass the filter, in key order, each
 * read from the store until `limit` rows are out. Entries whose upload is gone (the index lags a
 * crash or a hand removal until the next repair) are skipped, and the names after the last
 * candidate are then walked again for as many as are still missing.
 */
async function* indexedRows(
  deps: ListDeps,
  filter: SlotFilter,
  sortKey: (created: number, id: string) => string,
  key: (r: SlotRow) => string,
  format: (row: SlotRow) => string,
): AsyncGenerator<[string, string]> {
  const passes = (e: StoredEntry): boolean => {
    if (filter.since !== undefined && e.storedAt < filter.since) return false;
    if (filter.before !== undefined && e.storedAt >= filter.before) return false;
    return filter.state !== 'imported' || isImportedId(e.id);
  };
  const seen = new Set<string>();
  let out = 0;
  let after: string | undefined;
  const limit = filter.limit ?? Infinity;
  const newestFirst = (filter.order ?? 'newest') === 'newest';
  for (;;) {
    // One user's entries whole (bounded by that user's uploads); else, every user's names,
    // keeping the first ones only (bounded by the limit).
    const need = limit - out;
    const chosen: Candidate[] = [];
    let cut = false;
    // Once `need` are kept, the time of the last one: a name whose time is further out cannot
    // be among the first `need`, and is passed over without being parsed (most of them).
    let bound: string | undefined;
    const offer = (e: StoredEntry, time: string): void => {
      if (!passes(e)) return;
      const k = sortKey(e.storedAt, e.id);
      if (after !== undefined && k <= after) return;
      chosen.push({ key: k, id: e.id, time });
      if (filter.user === undefined && chosen.length > need * 4 + 64) {
        chosen.sort(byKey);
        chosen.length = need;
        cut = true;
        bound = chosen.at(-1)?.time;
      }
    };
    const folder = async (user: string): Promise<void> => {
      for (const name of await folderNames(deps.ledger.index, paths.stored(user))) {
        const time = name.slice(0, 13);
        if (bound !== undefined && (newestFirst ? time < bound : time > bound)) continue;
        const e = parseStored(name);
        if (e) offer(e, time);
      }
    };
    if (filter.user !== undefined) await folder(userKey(filter.user));
    else {
      // Several folders read at once: one after another, each read's round trip leaves the
      // thread pool (or S3) idle, and there is one folder per user.
      for await (const _ of mapBounded(userFolders(deps.ledger.index), FOLDERS_IN_FLIGHT, folder));
    }
    chosen.sort(byKey);
    if (chosen.length > need) {
      chosen.length = need;
      cut = true;
    }
    for (const c of chosen) {
      if (out >= limit) return;
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const meta = await deps.store.stat(c.id);
      if (meta === undefined) continue;
      const row = storedRow(meta, deps.maxAge, deps.maxAgePurposes);
      if (!matches(row, filter)) continue;
      out++;
      yield [key(row), format(row)];
    }
    after = chosen.at(-1)?.key;
    if (!cut || out >= limit || after === undefined) return;
  }
}

const byKey = (a: Candidate, b: Candidate): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
