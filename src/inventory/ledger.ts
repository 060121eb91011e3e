/**
 * The ledger keeps the inventory index (names.ts) in step with slots and uploads, on every node
 * that shares the repository: serve records issued slots and stored uploads, purge and `slots rm`
 * record deletions. Quotas and `slots ls` read it instead of scanning the repository.
 *
 * Every write is idempotent and ordered so a crash leaves at worst a dangling or missing entry,
 * which repair.ts (run by purge) fixes; readers tolerate both.
 */
import { randomBytes } from 'node:crypto';
import type { Purpose, Slot } from '../slots/slot.ts';
import type { UploadMeta } from '../storage/store.ts';
import type { IndexStore } from './index-store.ts';
import {
  deltaName,
  parsePending,
  parseStored,
  parseTimed,
  paths,
  pendingName,
  storedName,
  timedName,
  userKey,
  type PendingEntry,
  type StoredEntry,
  type TimedEntry,
} from './names.ts';

/** A slot issued (or being issued) and not uploaded yet, as `slots ls` shows it. */
export interface PendingSlot {
  id: string;
  filename: string;
  size: number;
  contentType: string | undefined;
  uploader: string;
  issuedAt: number;
  expiresAt: number;
  purpose: Purpose;
  expireBefore?: number;
}

/** A quota's hold on bytes while a slot is being decided (see quota/guard.ts). */
export interface Reservation {
  user: string;
  id: string;
  at: number;
  size: number;
}

/** Everything the index knows about one user (bounded by that user's uploads, not the repository). */
export interface UserEntries {
  stored: StoredEntry[];
  log: TimedEntry[];
  pending: TimedEntry[];
}

/** The day the daily quota looks back on, and log entries are kept for. */
export const DAY_MS = 86_400_000;

export interface LedgerOptions {
  now?: () => number;
}

const storedEntry = (meta: UploadMeta): StoredEntry => {
  const e: StoredEntry = { storedAt: meta.storedAt, id: meta.id, size: meta.size, purpose: meta.purpose };
  if (meta.expireBefore !== undefined) e.expireBefore = meta.expireBefore;
  return e;
};

/**
 * Writes and reads the inventory index.
 *
 * @example
 * const ledger = new Ledger(new FsIndexStore(join(repo, 'index')));
 * await ledger.recordSlotIssued(slot);
 * await ledger.recordUploadStored(meta);
 */
export class Ledger {
  readonly index: IndexStore;
  readonly #now: () => number;

  constructor(index: IndexStore, options: LedgerOptions = {}) {
    this.index = index;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Holds `size` bytes for a user before a slot exists (quota check under concurrency: reserve
   * first, then count, so two simultaneous requests can never both slip under the limit).
   *
   * @example
   * const r = await ledger.reserve('alice@example.org', 1000);
   */
  async reserve(uploader: string, size: number): Promise<Reservation> {
    const r: Reservation = { user: userKey(uploader), id: `r${randomBytes(17).toString('base64url')}`, at: this.#now(), size };
    await this.index.put(`${paths.userPending(r.user)}/${timedName(r)}`);
    return r;
  }

  /**
   * Drops a reservation (the slot was refused).
   *
   * @example
   * await ledger.cancel(reservation);
   */
  async cancel(r: Reservation): Promise<void> {
    await this.index.delete(`${paths.userPending(r.user)}/${timedName(r)}`);
  }

  /**
   * Records an issued slot: the user's pending entry (replacing its reservation, if any) and the
   * cluster-wide pending entry with the slot's details for `slots ls`.
   *
   * @example
   * await ledger.recordSlotIssued(slot, reservation);
   */
  async recordSlotIssued(slot: Slot, reservation?: Reservation): Promise<void> {
    const user = userKey(slot.uploader);
    const timed: TimedEntry = { at: slot.issuedAt, id: slot.id, size: slot.size };
    await this.index.put(`${paths.userPending(user)}/${timedName(timed)}`);
    const details: PendingSlot = {
      id: slot.id,
      filename: slot.filename,
      size: slot.size,
      contentType: slot.contentType,
      uploader: slot.uploader,
      issuedAt: slot.issuedAt,
      expiresAt: slot.expiresAt,
      purpose: slot.purpose,
      ...(slot.expireBefore !== undefined ? { expireBefore: slot.expireBefore } : {}),
    };
    await this.index.put(`${paths.pending}/${pendingName({ ...timed, user })}`, JSON.stringify(details));
    if (reservation) await this.cancel(reservation);
  }

  /**
   * Records a published upload: stored and log entries, a usage delta; then the pending entries
   * of its slot go.
   *
   * @example
   * hooks.onUploadFinished = ({ meta }) => void ledger.recordUploadStored(meta).catch(log.warn);
   */
  async recordUploadStored(meta: UploadMeta): Promise<void> {
    const user = userKey(meta.uploader);
    await this.index.put(`${paths.stored(user)}/${storedName(storedEntry(meta))}`);
    await this.index.put(`${paths.log(user)}/${timedName({ at: meta.storedAt, id: meta.id, size: meta.size })}`);
    await this.index.put(`${paths.delta}/${deltaName({ at: meta.storedAt, id: meta.id, size: meta.size, kind: 'add' })}`);
    await this.forgetPending({ at: meta.issuedAt, id: meta.id, size: meta.size, user });
  }

  /**
   * Records a deleted upload: its stored entry goes (the log entry stays for the daily window)
   * and a usage delta is written.
   *
   * @example
   * if (await store.delete(meta.id)) await ledger.recordUploadDeleted(meta);
   */
  async recordUploadDeleted(meta: UploadMeta): Promise<void> {
    const user = userKey(meta.uploader);
    await this.index.put(`${paths.delta}/${deltaName({ at: this.#now(), id: meta.id, size: meta.size, kind: 'del' })}`);
    await this.index.delete(`${paths.stored(user)}/${storedName(storedEntry(meta))}`);
  }

  /**
   * Removes a slot's pending entries (both the user's and the cluster-wide one).
   *
   * @example
   * await ledger.forgetPending(entry);
   */
  async forgetPending(e: PendingEntry): Promise<void> {
    await this.index.delete(`${paths.pending}/${pendingName(e)}`);
    await this.index.delete(`${paths.userPending(e.user)}/${timedName(e)}`);
  }

  /**
   * The index entries of one user (what a quota check reads).
   *
   * @example
   * const { stored, log, pending } = await ledger.userEntries('alice@example.org');
   */
  async userEntries(uploader: string): Promise<UserEntries> {
    const user = userKey(uploader);
    const stored: StoredEntry[] = [];
    const log: TimedEntry[] = [];
    const pending: TimedEntry[] = [];
    await Promise.all([
      collect(this.index.list(paths.stored(user)), parseStored, stored),
      collect(this.index.list(paths.log(user)), parseTimed, log),
      collect(this.index.list(paths.userPending(user)), parseTimed, pending),
    ]);
    return { stored, log, pending };
  }

  /**
   * Cluster-wide pending slots with their details, streamed (entries without readable details,
   * e.g. written by an older version or half-deleted, are skipped).
   *
   * @example
   * for await (const p of ledger.pendingSlots()) console.log(p.id, p.filename);
   */
  async *pendingSlots(): AsyncIterable<PendingSlot & { entry: PendingEntry }> {
    for await (const name of this.index.list(paths.pending)) {
      const entry = parsePending(name);
      if (!entry) continue;
      const data = await this.index.get(`${paths.pending}/${name}`);
      if (!data) continue;
      try {
        const p = JSON.parse(data.toString('utf8')) as PendingSlot;
        if (typeof p.id === 'string' && typeof p.uploader === 'string') yield { ...p, entry };
      } catch {
        // damaged entry: repair removes it once it is past the slot lifetime
      }
    }
  }
}

async function collect<T>(names: AsyncIterable<string>, parse: (n: string) => T | undefined, into: T[]): Promise<void> {
  for await (const n of names) {
    const e = parse(n);
    if (e) into.push(e);
  }
}
