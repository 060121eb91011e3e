/**
 * Quotas at slot time, on top of the ledger (inventory index) — what serve wires in:
 *   policy hook         guard.check({ uploader, size }) → ok | refusal (before a slot is minted)
 *   onSlotIssued        guard.recordSlotIssued(slot)
 *   onUploadFinished    guard.recordUploadStored(meta)
 *   (purge, slots rm)   guard.recordUploadDeleted(meta) — or Ledger.recordUploadDeleted directly
 *
 * A check reads only the requesting user's index folder (and, for the global quota, a cached
 * repository total): never a scan of the repository. Concurrency: on one node, the checks of one
 * user run one after the other (a client sending ten pictures at once gets exactly as many slots
 * as fit). Across nodes, a check first RESERVES the requested bytes (a pending entry), then
 * counts, so simultaneous requests on different nodes see each other; a refused request drops
 * its reservation. Two such requests that would each fit alone may both be refused (the retry
 * answers them), but no burst can push a user past a limit.
 */
import type { Purpose, Slot } from '../slots/slot.ts';
import type { UploadMeta } from '../storage/store.ts';
import { DAY_MS, type Ledger, type Reservation } from '../inventory/ledger.ts';
import { userKey, type TimedEntry } from '../inventory/names.ts';
import type { RepositoryUsage } from '../inventory/usage.ts';
import { retentionDeadline } from '../slots/purposes.ts';
import { inFlightUntil } from '../inventory/in-flight.ts';
import { decideQuota, type QuotaDecision, type QuotaLimits, type QuotaUsage, type Release } from './policy.ts';

/** The settings a quota check reads (a subset of Settings; read on every check, so SIGHUP applies). */
export interface QuotaSettings extends QuotaLimits {
  slotLifetime: number;
  /** Slowest accepted upload rate (bytes/s; ≤ 0 = none): how long a slot's upload may still run after it expires. */
  minUploadRate: number;
  maxAge: number | undefined;
  maxAgePurposes: readonly Purpose[];
  /** How often serve purges; a deleted-by-age upload is gone at most this long after its deadline. */
  purgeInterval: number;
}

/** What the guard needs to know of a slot request. */
export interface QuotaRequest {
  /** Bare JID of the requester. */
  uploader: string;
  size: number;
}

export interface QuotaGuardOptions {
  /** Needed only when a globalQuota is configured. */
  usage?: RepositoryUsage;
  now?: () => number;
}

/**
 * Quota checks and index bookkeeping for serve.
 *
 * @example
 * const guard = new QuotaGuard(ledger, () => settings, { usage });
 * const d = await guard.check({ uploader: 'alice@example.org', size: 1000 });
 * if (!d.ok) return refuse(d.type, d.condition, d.text, d.retryAt);
 */
export class QuotaGuard {
  readonly ledger: Ledger;
  readonly #settings: () => QuotaSettings;
  readonly #usage: RepositoryUsage | undefined;
  readonly #now: () => number;
  /** Reservations that passed, waiting for their slot: user:size → oldest first. */
  readonly #held = new Map<string, Reservation[]>();
  /** The tail of each user's queue of checks on this node. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(ledger: Ledger, settings: () => QuotaSettings, options: QuotaGuardOptions = {}) {
    this.ledger = ledger;
    this.#settings = settings;
    this.#usage = options.usage;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Decides a slot request against the configured quotas. On ok, the bytes stay reserved until
   * recordSlotIssued (or the slot lifetime passes).
   *
   * @example
   * await guard.check({ uploader: 'alice@example.org', size: 52_428_800 });
   */
  async check(request: QuotaRequest): Promise<QuotaDecision> {
    const key = userKey(request.uploader);
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(
      () => this.#check(request),
      () => this.#check(request),
    );
    const tail = run.catch(() => {});
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  async #check(request: QuotaRequest): Promise<QuotaDecision> {
    const s = this.#settings();
    const perUser = isLimit(s.userQuota) || isLimit(s.dailyQuota);
    const global = isLimit(s.globalQuota);
    if (!perUser && !global) return { ok: true };
    const reservation = perUser ? await this.ledger.reserve(request.uploader, request.size) : undefined;
    let decision: QuotaDecision;
    try {
      const usage: QuotaUsage = {};
      if (perUser) Object.assign(usage, await this.#userUsage(request.uploader, s, reservation));
      if (global) {
        if (!this.#usage) throw new Error('globalQuota is set but the guard has no RepositoryUsage');
        const u = await this.#usage.current();
        usage.global = { bytes: u.storedBytes + u.pendingBytes };
      }
      decision = decideQuota(request.size, usage, s);
    } catch (err) {
      if (reservation) await this.ledger.cancel(reservation).catch(() => {});
      throw err;
    }
    if (!decision.ok) {
      if (reservation) await this.ledger.cancel(reservation).catch(() => {});
      return decision;
    }
    if (reservation) {
      this.#prune(s.slotLifetime);
      const key = `${reservation.user}:${reservation.size}`;
      const list = this.#held.get(key) ?? [];
      list.push(reservation);
      this.#held.set(key, list);
    }
    this.#usage?.note(request.size);
    return decision;
  }

  /** Forgets reservations whose slot never came (refused later in the chain); bounded memory. */
  #prune(lifetime: number): void {
    if (this.#held.size < 1000) return;
    const now = this.#now();
    for (const [key, list] of this.#held) {
      const live = list.filter((r) => r.at + lifetime > now);
      if (live.length === 0) this.#held.delete(key);
      else this.#held.set(key, live);
    }
  }

  async #userUsage(
    uploader: string,
    s: QuotaSettings,
    own: Reservation | undefined,
  ): Promise<Pick<QuotaUsage, 'user' | 'daily'>> {
    const now = this.#now();
    const { stored, log, pending } = await this.ledger.userEntries(uploader);
    const storedIds = new Set(stored.map((e) => e.id));
    // Pending slots whose upload may still be running, except our own reservation and slots
    // already stored.
    const live = pending.filter((p) => p.id !== own?.id && inFlightUntil(p, s) > now && !storedIds.has(p.id));
    const pendingBytes = live.reduce((sum, p) => sum + p.size, 0);
    const out: Pick<QuotaUsage, 'user' | 'daily'> = {};
    if (isLimit(s.userQuota)) {
      const releases: Release[] = [];
      for (const e of stored) {
        const deadline = retentionDeadline(e, s.maxAge, s.maxAgePurposes);
        if (deadline !== undefined) releases.push({ at: Math.max(deadline, now) + s.purgeInterval, bytes: e.size });
      }
      out.user = { bytes: stored.reduce((sum, e) => sum + e.size, 0) + pendingBytes, releases };
    }
    if (isLimit(s.dailyQuota)) {
      // Uploads of the last day: those still stored, and those deleted since (the ledger writes
      // a log entry when it deletes an upload younger than a day). Both may exist for one id
      // after a crash between the two writes; it counts once.
      const recent: TimedEntry[] = [];
      const logged = new Set<string>();
      for (const e of [...stored.map((x) => ({ at: x.storedAt, id: x.id, size: x.size })), ...log]) {
        if (e.at > now - DAY_MS && !logged.has(e.id)) {
          logged.add(e.id);
          recent.push(e);
        }
      }
      const unlogged = live.filter((p) => !logged.has(p.id));
      const releases: Release[] = [
        ...recent.map((e) => ({ at: e.at + DAY_MS, bytes: e.size })),
        // A pending slot counts until a day after its upload, which ends by inFlightUntil.
        ...unlogged.map((p) => ({ at: inFlightUntil(p, s) + DAY_MS, bytes: p.size })),
      ];
      out.daily = {
        bytes: recent.reduce((sum, e) => sum + e.size, 0) + unlogged.reduce((sum, p) => sum + p.size, 0),
        releases,
      };
    }
    return out;
  }

  /**
   * Records an issued slot (turns its reservation, if any, into the slot's pending entry).
   *
   * @example
   * component.onSlotIssued = (slot) => guard.recordSlotIssued(slot);
   */
  async recordSlotIssued(slot: Slot): Promise<void> {
    const key = `${userKey(slot.uploader)}:${slot.size}`;
    const list = this.#held.get(key);
    const lifetime = this.#settings().slotLifetime;
    let reservation: Reservation | undefined;
    while (list && list.length > 0 && !reservation) {
      const r = list.shift() as Reservation;
      if (r.at + lifetime > this.#now()) reservation = r;
    }
    if (list && list.length === 0) this.#held.delete(key);
    await this.ledger.recordSlotIssued(slot, reservation);
  }

  /**
   * Records a published upload in the index. The user's pending entry of the slot exists only
   * when a per-user quota was set at slot time (the reservation became it), so it is deleted only
   * while one is set: otherwise every upload would pay for a pointless deletion. A quota switched
   * off between slot and upload leaves the entry behind; it stops counting after a slot lifetime
   * and purge's repair removes it.
   *
   * @example
   * hooks.onUploadFinished = ({ meta }) => void guard.recordUploadStored(meta).catch(warn);
   */
  async recordUploadStored(meta: UploadMeta): Promise<void> {
    const s = this.#settings();
    await this.ledger.recordUploadStored(meta, { perUserQuota: isLimit(s.userQuota) || isLimit(s.dailyQuota) });
  }

  /**
   * Records a deleted upload in the index.
   *
   * @example
   * if (await store.delete(id)) await guard.recordUploadDeleted(meta);
   */
  async recordUploadDeleted(meta: UploadMeta): Promise<void> {
    await this.ledger.recordUploadDeleted(meta);
    this.#usage?.note(-meta.size);
  }
}

function isLimit(v: number | undefined): v is number {
  return v !== undefined && v > 0;
}
