/**
 * The ledger keeps the inventory index (names.ts) in step with slots and uploads, on every node
 * that shares the repository: serve records issued slots and stored uploads, purge and `slots rm`
 * record deletions. Quotas and `slots ls` read it instead of scanning the repository.
 *
 * Every write is idempotent and ordered so a crash leaves at worst a dangling or missing entry,
 * which repair.ts (run by purge) fixes; readers tolerate both. Writes whose order does not matter
 * for that go out concurrently; the cluster-wide pending slots and the usage deltas of stored
 * uploads are group-committed (pending-journal.ts, group-commit.ts): one entry per batch of
 * deltas, and one per batch of slots on S3 — on a folder, slot batches are appended to a
 * segment file sealed every 5 s.
 */
import { randomBytes } from 'node:crypto';
import type { Slot } from '../slots/slot.ts';
import type { UploadMeta } from '../storage/store.ts';
import { GroupCommit } from './group-commit.ts';
import type { IndexStore } from './index-store/store.ts';
import { PendingJournal, type JournalSlot, type PendingSlot } from './pending-journal.ts';
import {
  isUserKey,
  deltaName,
  parseStored,
  parseTimed,
  paths,
  storedName,
  timedName,
  userKey,
  type StoredEntry,
  type TimedEntry,
} from './names.ts';

export type { JournalSlot, PendingSlot } from './pending-journal.ts';

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

/** Options of {@link Ledger.recordUploadStored}. */
export interface UploadStoredOptions {
  /**
   * A per-user quota (userQuota or dailyQuota) is set: write the user's `stored/` entry now and
   * delete the slot's user `pending/` entry (only slots issued under such a quota have one, see
   * recordSlotIssued). Without one, nothing per user is written on the upload path — the entry
   * would only be read by a per-user quota — and purge's repair pass writes the missing entries
   * in bulk instead, so a quota enabled later sees uploads older than the last purge at once and
   * newer ones from the next purge on.
   */
  perUserQuota?: boolean;
}

const storedEntry = (meta: UploadMeta): StoredEntry => {
  const e: StoredEntry = { storedAt: meta.storedAt, id: meta.id, size: meta.size, purpose: meta.purpose };
  if (meta.expireBefore !== undefined) e.expireBefore = meta.expireBefore;
  return e;
};

/**
 * A folder's names, in one call where the index can (one readdir on a folder; S3 pages anyway).
 *
 * @example
 * for (const name of await folderNames(index, paths.stored(user))) parseStored(name);
 */
export async function folderNames(index: IndexStore, folder: string): Promise<Iterable<string>> {
  if (index.names) return index.names(folder);
  const all: string[] = [];
  for await (const n of index.list(folder)) all.push(n);
  return all;
}

/**
 * The index's user folders (userKey() names; anything else there is skipped).
 *
 * @example
 * for await (const user of userFolders(index)) await folderNames(index, paths.stored(user));
 */
export async function* userFolders(index: IndexStore): AsyncGenerator<string> {
  for await (const user of index.list(paths.users)) if (isUserKey(user)) yield user;
}

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
  readonly #pending: PendingJournal;
  /**
   * Stored uploads' usage deltas: one `add` entry per batch, dated at its newest storedAt. A
   * batch spans milliseconds; should a usage scan begin inside one, its older uploads count twice
   * (scan and delta) until the next scan — the global quota errs on the full side, never over.
   */
  readonly #deltas: GroupCommit<{ at: number; size: number }>;

  constructor(index: IndexStore, options: LedgerOptions = {}) {
    this.index = index;
    this.#now = options.now ?? Date.now;
    this.#pending = new PendingJournal(index, { now: this.#now });
    this.#deltas = new GroupCommit({
      write: async (uploads) => {
        let at = 0;
        let size = 0;
        for (const u of uploads) {
          at = Math.max(at, u.at);
          size += u.size;
        }
        const id = randomBytes(12).toString('base64url');
        await index.put(`${paths.delta}/${deltaName({ at, id, size, kind: 'add', count: uploads.length })}`);
      },
    });
  }

  /**
   * Holds `size` bytes for a user before a slot exists (quota check under concurrency: reserve
   * first, then count, so two simultaneous requests can never both slip under the limit).
   *
   * @example
   * const r = await ledger.reserve('alice@example.org', 1000);
   */
  async reserve(uploader: string, size: number): Promise<Reservation> {
    const r: Reservation = {
      user: userKey(uploader),
      id: `r${randomBytes(17).toString('base64url')}`,
      at: this.#now(),
      size,
    };
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
   * Records an issued slot: in the cluster-wide pending journal (for `slots ls` and the global
   * quota) and, when a quota reservation was made for it, as the user's pending entry replacing
   * the reservation. Resolves once both are written: the slot is on record before its client
   * gets it.
   *
   * Without a reservation (no per-user quota) nothing is written per user: the entry would only
   * be read by a per-user quota, and one older than a slot lifetime no longer counts anyway — so
   * a quota enabled later undercounts for at most one slot lifetime, which does not justify a
   * file creation per slot and a deletion per upload.
   *
   * @example
   * await ledger.recordSlotIssued(slot, reservation);
   */
  async recordSlotIssued(slot: Slot, reservation?: Reservation): Promise<void> {
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
    const journal = this.#pending.record(details);
    if (!reservation) return journal;
    // The user's bytes never drop out between reservation and slot entry: a rename where the
    // index has one (one operation instead of a creation and a deletion on the slot path),
    // else the slot's entry before the reservation goes.
    const user = (async () => {
      const entry = `${paths.userPending(userKey(slot.uploader))}/${timedName({ at: slot.issuedAt, id: slot.id, size: slot.size })}`;
      if (this.index.rename && reservation.user === userKey(slot.uploader)) {
        if (!(await this.index.rename(`${paths.userPending(reservation.user)}/${timedName(reservation)}`, entry)))
          await this.index.put(entry);
        return;
      }
      await this.index.put(entry);
      await this.cancel(reservation);
    })();
    await Promise.all([journal, user]);
  }

  /**
   * Records a published upload: the usage delta (group-committed with other uploads' deltas)
   * and, under a per-user quota, the user's stored entry; then, under such a quota, the user's
   * pending entry of the slot goes — only after the stored entry exists, so the quota never
   * loses sight of the bytes. No `log/` entry: an upload still stored counts for the daily quota
   * through its stored entry; the log entry is written when it is deleted within the day
   * (recordUploadDeleted). The cluster-wide pending batch is left alone (it expires with the
   * slot lifetime; `slots ls` and `slots rm` skip slots whose upload exists).
   *
   * @example
   * hooks.onUploadFinished = ({ meta }) => void ledger.recordUploadStored(meta, { perUserQuota: true }).catch(log.warn);
   */
  async recordUploadStored(meta: UploadMeta, options: UploadStoredOptions = {}): Promise<void> {
    const delta = this.#deltas.add({ at: meta.storedAt, size: meta.size });
    if (!options.perUserQuota) return delta;
    const user = userKey(meta.uploader);
    await Promise.all([this.index.put(`${paths.stored(user)}/${storedName(storedEntry(meta))}`), delta]);
    await this.index.delete(
      `${paths.userPending(user)}/${timedName({ at: meta.issuedAt, id: meta.id, size: meta.size })}`,
    );
  }

  /**
   * Records a deleted upload: a usage delta; a log entry when the upload is younger than a day
   * (the daily quota keeps counting it until then); then its stored entry goes — after the log
   * entry, so the daily quota never loses sight of it.
   *
   * @example
   * if (await store.delete(meta.id)) await ledger.recordUploadDeleted(meta);
   */
  async recordUploadDeleted(meta: UploadMeta): Promise<void> {
    const user = userKey(meta.uploader);
    const now = this.#now();
    await this.index.put(
      `${paths.delta}/${deltaName({ at: now, id: meta.id, size: meta.size, kind: 'del', count: 1 })}`,
    );
    if (meta.storedAt > now - DAY_MS)
      await this.index.put(`${paths.log(user)}/${timedName({ at: meta.storedAt, id: meta.id, size: meta.size })}`);
    await this.index.delete(`${paths.stored(user)}/${storedName(storedEntry(meta))}`);
  }

  /**
   * Forgets pending slots as pendingSlots() listed them (`slots rm`, under the maintenance
   * lock): a tombstone each hides them from pendingSlots() (their batches stay as written), then
   * their users' pending entries go, if any — in that order, so a crash between leaves the
   * quota counting them, never a listed slot that no quota counts.
   *
   * @example
   * const mine = []; for await (const p of ledger.pendingSlots()) if (p.uploader === jid) mine.push(p);
   * await ledger.forgetPending(mine);
   */
  async forgetPending(slots: readonly PendingSlot[]): Promise<void> {
    await this.#pending.forget(slots);
    await Promise.all(
      slots.map((p) =>
        this.index.delete(
          `${paths.userPending(userKey(p.uploader))}/${timedName({ at: p.issuedAt, id: p.id, size: p.size })}`,
        ),
      ),
    );
  }

  /**
   * Waits for the slot records under way and seals the pending journal's open segment (see
   * pending-journal.ts). Call it on shutdown, after the last recordSlotIssued.
   *
   * @example
   * await ledger.close();
   */
  close(): Promise<void> {
    return this.#pending.close();
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
    // Kept whole anyway: read in one call where the index can (on every slot request).
    const names = (folder: string): AsyncIterable<string> | Promise<string[]> =>
      this.index.names?.(folder) ?? this.index.list(folder);
    await Promise.all([
      collect(names(paths.stored(user)), parseStored, stored),
      collect(names(paths.log(user)), parseTimed, log),
      collect(names(paths.userPending(user)), parseTimed, pending),
    ]);
    return { stored, log, pending };
  }

  /**
   * Cluster-wide pending slots with their details and the name of their batch, streamed
   * (damaged lines and forgotten slots are skipped). Expired and uploaded slots are included:
   * the caller decides.
   *
   * @example
   * for await (const p of ledger.pendingSlots()) console.log(p.id, p.filename, p.batch);
   */
  pendingSlots(): AsyncIterable<JournalSlot> {
    return this.#pending.slots();
  }
}

async function collect<T>(
  names: AsyncIterable<string> | Promise<string[]>,
  parse: (n: string) => T | undefined,
  into: T[],
): Promise<void> {
  for await (const n of names instanceof Promise ? await names : names) {
    const e = parse(n);
    if (e) into.push(e);
  }
}
