/**
 * `slots ls`: pending slots (from the index, as every node writes them) and stored uploads (from
 * the store's streamed listing), filtered while streaming and sorted by time with the external
 * sort, so memory does not grow with the number of uploads.
 */
import type { Purpose } from '../slots/slot.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { retentionDeadline } from '../slots/purposes.ts';
import { isImportedId } from '../slots/id.ts';
import type { Ledger, PendingSlot } from './ledger.ts';
import { externalSort, type ExternalSortOptions } from './external-sort.ts';

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

/**
 * The rows, filtered and sorted, as JSON lines of {@link SlotRow} (parse them back with
 * JSON.parse). Pending slots that already expired or were uploaded meanwhile are left out.
 *
 * @example
 * for await (const line of listSlots(deps, { user: 'alice@example.org', limit: 20 })) console.log(line);
 */
export async function* listSlots(deps: ListDeps, filter: SlotFilter = {}): AsyncGenerator<string> {
  const newestFirst = (filter.order ?? 'newest') === 'newest';
  const key = (r: SlotRow): string =>
    `${String(newestFirst ? MAX_TIME - r.created : r.created).padStart(13, '0')}.${r.id}`;
  async function* rows(): AsyncGenerator<[string, string]> {
    if (filter.state === undefined || filter.state === 'pending') {
      for await (const p of deps.ledger.pendingSlots()) {
        if (p.expiresAt <= deps.now) continue;
        const row = pendingRow(p);
        if (!matches(row, filter)) continue;
        if ((await deps.store.stat(p.id)) !== undefined) continue; // uploaded: listed as stored
        yield [key(row), JSON.stringify(row)];
      }
    }
    if (filter.state !== 'pending') {
      for await (const meta of deps.store.list()) {
        const row = storedRow(meta, deps.maxAge, deps.maxAgePurposes);
        if (matches(row, filter)) yield [key(row), JSON.stringify(row)];
      }
    }
  }
  yield* externalSort(rows(), { ...deps.sort, ...(filter.limit !== undefined ? { limit: filter.limit } : {}) });
}
