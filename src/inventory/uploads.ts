/**
 * A user's stored uploads as the user and the service admins manage them — the ad-hoc commands,
 * the admin API and `slots rm --user` share these operations: list them newest first a page at
 * a time, the quota they use, remove some or all of them for good (removal.ts: gone on every
 * node, the slot's PUT URL refused), and the repository's figures for the admins.
 *
 * Which uploads are a user's: under a per-user quota the index lists them (the user's `stored/`
 * entries, written on every upload), so nothing is scanned; without one the index holds them
 * only up to purge's last repair pass, so the store's listing is scanned for the user's
 * uploads — what `slots ls --user` does. Either way only ids and times are kept for the whole
 * list, and only the page shown is read in full. Removing all of a user's uploads always scans
 * the store: it must not miss one the index does not list yet. Imported uploads have no
 * uploader, so no user reaches them.
 */
import type { Purpose } from '../slots/slot.ts';
import { retentionDeadline } from '../slots/purposes.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { DAY_MS, userFolders, type Ledger, type PendingSlot } from './ledger.ts';
import { parseStored, paths } from './names.ts';
import { liveSlots, removeForGood } from './removal.ts';
import type { RepositoryUsage } from './usage.ts';

/** The settings these operations read (a subset of Settings, read on each call). */
export interface UploadsSettings {
  maxAge: number | undefined;
  maxAgePurposes: readonly Purpose[];
  userQuota: number | undefined;
  dailyQuota: number | undefined;
  globalQuota: number | undefined;
}

export interface UploadsDeps {
  store: Store;
  ledger: Ledger;
  settings: () => UploadsSettings;
  now?: () => number;
  /** The repository's byte and file count (statistics); without it they are left out. */
  usage?: RepositoryUsage;
}

/** One stored upload as its owner sees it (times in ms since epoch). */
export interface UserUpload {
  id: string;
  filename: string;
  size: number;
  contentType: string;
  storedAt: number;
  purpose: Purpose;
  /** When retention removes it; null when no age rule applies. */
  expires: number | null;
}

/** One page of a user's uploads. */
export interface UploadPage {
  uploads: UserUpload[];
  /** The user's stored uploads in all. */
  total: number;
  /** Their bytes in all. */
  bytes: number;
}

/** Bytes a user uses against each quota (undefined limit: none configured). */
export interface QuotaUse {
  stored: { bytes: number; files: number; limit: number | undefined };
  /** Uploaded in the last 24 hours (deleted ones included, as the daily quota counts them). */
  daily: { bytes: number; limit: number | undefined };
}

/** What a removal did. */
export interface RemovalOutcome {
  removed: { id: string; size: number }[];
  /** Ids that are not (or no longer) an upload of the user. */
  missing: string[];
  /** Pending slots of the user forgotten (not uploaded yet; their URLs now refused). */
  forgotten: string[];
  /** Ids whose removal failed (the error is in the item's report). */
  failed: string[];
}

/** One item of a removal as it happens (`slots rm` prints them). */
export interface RemovalItem {
  id: string;
  filename: string | null;
  size: number | null;
  /** A stored upload, or a pending slot not uploaded yet (forgotten, its URL refused). */
  state: 'stored' | 'pending' | null;
  outcome: 'removed' | 'would-remove' | 'not-found' | 'failed';
  error?: string;
}

export interface RemovalOptions {
  /** Change nothing; report what would be removed. */
  dryRun?: boolean;
  /** Called before each item is removed (`slots rm` checks it still holds its lock there). */
  beforeEach?: () => void;
  /** Told about each item. */
  onItem?: (item: RemovalItem) => void;
}

export interface UploadStatistics {
  /** Stored uploads and bytes (the index's usage count); undefined when not known. */
  uploads: number | undefined;
  bytes: number | undefined;
  /** Pending slots' bytes (issued, not uploaded). */
  pendingBytes: number | undefined;
  /** The uploaders with the most bytes stored, most first, at most ten (from the index). */
  topUploaders: { jid: string; uploads: number; bytes: number }[];
  quotas: { user: number | undefined; daily: number | undefined; global: number | undefined };
  /** When the figures were taken (ms); they are kept for a minute. */
  at: number;
}

const isLimit = (v: number | undefined): v is number => v !== undefined && v > 0;
const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** A user's uploads, ids with their times, newest first. */
interface Listed {
  id: string;
  storedAt: number;
  size: number;
}

/** The scan under way on each store: scans run one after the other, however many users ask. */
const scans = new WeakMap<Store, Promise<unknown>>();

async function listed(deps: UploadsDeps, user: string, scan = false): Promise<Listed[]> {
  const s = deps.settings();
  const out: Listed[] = [];
  if (!scan && (isLimit(s.userQuota) || isLimit(s.dailyQuota))) {
    const { stored } = await deps.ledger.userEntries(user);
    for (const e of stored) out.push({ id: e.id, storedAt: e.storedAt, size: e.size });
  } else {
    // A listing of the whole store per request: users asking at once must not multiply it.
    const previous = scans.get(deps.store) ?? Promise.resolve();
    const mine = previous.then(async () => {
      for await (const meta of deps.store.list()) {
        if (meta.uploader !== '' && same(meta.uploader, user))
          out.push({ id: meta.id, storedAt: meta.storedAt, size: meta.size });
      }
    });
    const tail = mine.catch(() => {});
    scans.set(deps.store, tail);
    void tail.then(() => {
      if (scans.get(deps.store) === tail) scans.delete(deps.store);
    });
    await mine;
  }
  return out.sort((a, b) => b.storedAt - a.storedAt || (a.id < b.id ? -1 : 1));
}

function describe(meta: UploadMeta, s: UploadsSettings): UserUpload {
  return {
    id: meta.id,
    filename: meta.filename,
    size: meta.size,
    contentType: meta.contentType,
    storedAt: meta.storedAt,
    purpose: meta.purpose,
    expires: retentionDeadline(meta, s.maxAge, s.maxAgePurposes) ?? null,
  };
}

/**
 * One page of a user's stored uploads, newest first; only the page's uploads are read.
 *
 * @example
 * const { uploads, total } = await userUploads(deps, 'alice@example.org', 0, 50);
 */
export async function userUploads(deps: UploadsDeps, user: string, offset: number, limit: number): Promise<UploadPage> {
  const all = await listed(deps, user);
  const s = deps.settings();
  const page = all.slice(offset, offset + limit);
  const metas = await Promise.all(page.map((e) => deps.store.stat(e.id)));
  const uploads = metas
    .filter((m): m is UploadMeta => m !== undefined && same(m.uploader, user))
    .map((m) => describe(m, s));
  return { uploads, total: all.length, bytes: all.reduce((sum, e) => sum + e.size, 0) };
}

/**
 * What a user uses of the per-user quotas, from the user's index entries (stored bytes from the
 * listing when no per-user quota keeps them).
 *
 * @example
 * const { stored, daily } = await quotaUse(deps, 'alice@example.org');
 */
export async function quotaUse(deps: UploadsDeps, user: string): Promise<QuotaUse> {
  const s = deps.settings();
  const now = (deps.now ?? Date.now)();
  const all = await listed(deps, user);
  const { log } = await deps.ledger.userEntries(user);
  const recent = new Map<string, number>();
  for (const e of all) if (e.storedAt > now - DAY_MS) recent.set(e.id, e.size);
  for (const e of log) if (e.at > now - DAY_MS) recent.set(e.id, e.size);
  return {
    stored: {
      bytes: all.reduce((sum, e) => sum + e.size, 0),
      files: all.length,
      limit: isLimit(s.userQuota) ? s.userQuota : undefined,
    },
    daily: {
      bytes: [...recent.values()].reduce((sum, b) => sum + b, 0),
      limit: isLimit(s.dailyQuota) ? s.dailyQuota : undefined,
    },
  };
}

/**
 * Removes uploads of `user` for good: the ids given (each checked to be the user's: another
 * user's id, an imported one or one that is gone is `missing`), or all of them ('all': also the
 * user's live pending slots, forgotten so that their URLs are refused). A failure of one item is
 * reported and the others go on.
 *
 * @example
 * const { removed, missing } = await removeUserUploads(deps, 'alice@example.org', ['q3W0…']);
 * log.info('uploads removed', { by, ids: removed.map((r) => r.id) });
 */
export async function removeUserUploads(
  deps: UploadsDeps,
  user: string,
  ids: readonly string[] | 'all',
  options: RemovalOptions = {},
): Promise<RemovalOutcome> {
  const now = (deps.now ?? Date.now)();
  const out: RemovalOutcome = { removed: [], missing: [], forgotten: [], failed: [] };
  const { store, ledger } = deps;
  const remove = async (id: string, meta: UploadMeta | undefined, slot: PendingSlot | undefined): Promise<void> => {
    const item = (outcome: RemovalItem['outcome'], error?: string): RemovalItem => ({
      id,
      filename: meta?.filename ?? slot?.filename ?? null,
      size: meta?.size ?? slot?.size ?? null,
      state: meta ? 'stored' : 'pending',
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
    options.beforeEach?.();
    if (options.dryRun) {
      if (meta) out.removed.push({ id, size: meta.size });
      else out.forgotten.push(id);
      options.onItem?.(item('would-remove'));
      return;
    }
    try {
      const gone = await removeForGood(
        { store, ledger, now },
        { id, ...(meta ? { upload: meta } : {}), ...(slot ? { slot } : {}) },
      );
      if (gone) out.removed.push({ id, size: gone.size });
      else if (meta === undefined && slot !== undefined) out.forgotten.push(id);
      else out.missing.push(id);
      options.onItem?.(
        gone || (meta === undefined && slot !== undefined)
          ? item('removed')
          : { id, filename: null, size: null, state: null, outcome: 'not-found' },
      );
    } catch (err) {
      out.failed.push(id);
      options.onItem?.(item('failed', (err as Error).message));
    }
  };
  if (ids === 'all') {
    const slots = new Map<string, PendingSlot>();
    for await (const p of ledger.pendingSlots()) {
      if (p.uploader !== '' && same(p.uploader, user) && p.expiresAt > now && !slots.has(p.id)) slots.set(p.id, p);
    }
    const done = new Set<string>();
    // Slots not uploaded yet first: forgotten, a tombstone refusing their URL.
    for (const slot of slots.values()) {
      if ((await store.stat(slot.id)) !== undefined) continue;
      done.add(slot.id);
      await remove(slot.id, undefined, slot);
    }
    // Scanned, not read from the index: an upload made before a per-user quota was turned on
    // is in the index only from purge's next repair pass, and "all" must not miss one.
    for (const e of await listed(deps, user, true)) {
      if (done.has(e.id)) continue;
      const meta = await store.stat(e.id);
      if (meta === undefined || !same(meta.uploader, user)) continue;
      await remove(e.id, meta, slots.get(e.id));
    }
    return out;
  }
  const unique = [...new Set(ids)];
  const metas = await Promise.all(unique.map((id) => store.stat(id)));
  const mine: UploadMeta[] = [];
  unique.forEach((id, i) => {
    const meta = metas[i];
    if (meta !== undefined && meta.uploader !== '' && same(meta.uploader, user)) mine.push(meta);
    else {
      out.missing.push(id);
      options.onItem?.({ id, filename: null, size: null, state: null, outcome: 'not-found' });
    }
  });
  const slots = await liveSlots(
    ledger,
    mine.map((m) => m.id),
    now,
  );
  for (const meta of mine) await remove(meta.id, meta, slots.get(meta.id));
  return out;
}

const STATISTICS_FOR = 60_000;
const TOP = 10;
const cached = new WeakMap<Ledger, UploadStatistics>();

/**
 * The repository's figures: stored uploads and bytes from the usage count, the top uploaders
 * from the index's per-user `stored/` entries (one listing per user, never the store's; complete
 * under a per-user quota, else as of purge's last repair pass), the configured quotas. Kept for
 * a minute, so asking again costs nothing.
 *
 * @example
 * const { uploads, bytes, topUploaders } = await uploadStatistics(deps);
 */
export async function uploadStatistics(deps: UploadsDeps): Promise<UploadStatistics> {
  const now = (deps.now ?? Date.now)();
  const hit = cached.get(deps.ledger);
  if (hit && now - hit.at < STATISTICS_FOR) return hit;
  const s = deps.settings();
  const usage = deps.usage ? await deps.usage.current() : undefined;
  const users: { key: string; uploads: number; bytes: number; newest: string }[] = [];
  const index = deps.ledger.index;
  for await (const key of userFolders(index)) {
    let uploads = 0;
    let bytes = 0;
    let newest = { at: -1, id: '' };
    for await (const name of index.list(paths.stored(key))) {
      const e = parseStored(name);
      if (!e) continue;
      uploads++;
      bytes += e.size;
      if (e.storedAt > newest.at) newest = { at: e.storedAt, id: e.id };
    }
    if (uploads === 0) continue;
    users.push({ key, uploads, bytes, newest: newest.id });
    // Only the largest TOP are kept while listing: memory stays small with many users.
    if (users.length > TOP * 4) {
      users.sort((a, b) => b.bytes - a.bytes);
      users.length = TOP;
    }
  }
  users.sort((a, b) => b.bytes - a.bytes);
  const topUploaders: UploadStatistics['topUploaders'] = [];
  // The index names users by a hash: the JID is read from one of their uploads.
  for (const u of users.slice(0, TOP)) {
    const meta = await deps.store.stat(u.newest);
    if (meta !== undefined && meta.uploader !== '')
      topUploaders.push({ jid: meta.uploader, uploads: u.uploads, bytes: u.bytes });
  }
  const stats: UploadStatistics = {
    uploads: usage?.storedFiles,
    bytes: usage?.storedBytes,
    pendingBytes: usage?.pendingBytes,
    topUploaders,
    quotas: {
      user: isLimit(s.userQuota) ? s.userQuota : undefined,
      daily: isLimit(s.dailyQuota) ? s.dailyQuota : undefined,
      global: isLimit(s.globalQuota) ? s.globalQuota : undefined,
    },
    at: now,
  };
  cached.set(deps.ledger, stats);
  return stats;
}
