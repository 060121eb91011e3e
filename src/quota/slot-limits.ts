/**
 * Per-user limits on slot requests that need no index: a request rate (token bucket) and a cap
 * on unused slots. Both live in this node's memory and are checked before any quota lookup, so a
 * flood of requests is refused without writing (or even reading) the index.
 *
 *   rate     each user (bare JID) has a bucket of `burst` tokens, refilled at `ratePerMinute`;
 *            a request takes one token, or is refused with the time the next token arrives.
 *   pending  slots this node issued to a user that are neither uploaded (as far as this node
 *            saw) nor expired; at the cap a request is refused until the oldest one expires.
 *
 * Memory is bounded by activity, not by how many users ever asked: a bucket that has filled up
 * again is the same as no bucket, and a user whose slots have all expired or been uploaded holds
 * nothing; both are swept whenever the maps have doubled since the last sweep, and at least once
 * a minute. On a cluster only the node holding the XMPP component sees slot requests: a failover
 * starts afresh, and an upload finished on another node counts here as unused until its slot
 * expires.
 */

/** Limits read on every check (settings; ≤ 0 = unlimited). */
export interface SlotLimitSettings {
  /** Slot requests per user per minute (refill rate); ≤ 0 = unlimited. */
  slotRequestRate: number;
  /** Bucket size: requests one user may make at once. */
  slotRequestBurst: number;
  /** Unused slots one user may hold; ≤ 0 = unlimited. */
  maxPendingSlots: number;
  /** How long a slot stays usable (ms): an issued slot counts as pending until then. */
  slotLifetime: number;
}

export type SlotLimitDecision = { ok: true } | { ok: false; limit: 'rate' | 'pending'; retryAt: number; text: string };

interface Bucket {
  tokens: number;
  at: number;
}

const SWEEP_FLOOR = 1024;
const SWEEP_EVERY = 60_000;

/**
 * A token bucket per key, in memory. Pure apart from the clock passed in.
 *
 * @example
 * const buckets = new TokenBuckets();
 * buckets.take('alice@example.org', now, 60, 20); // { ok: true } twenty times, then { ok: false, retryAt }
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  #sweptAt = 0;
  #sweptSize = 0;

  /** Buckets held (what the sweep bounds). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token of `key`'s bucket (`burst` tokens, refilled at `perMinute`); refused with
   * the instant the next token is there.
   *
   * @example
   * buckets.take('bob@example.org', Date.now(), 60, 20);
   */
  take(key: string, now: number, perMinute: number, burst: number): { ok: true } | { ok: false; retryAt: number } {
    this.#maybeSweep(now, perMinute, burst);
    const perMs = perMinute / 60_000;
    const b = this.#buckets.get(key);
    const tokens = b ? Math.min(burst, b.tokens + Math.max(0, now - b.at) * perMs) : burst;
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.#buckets.set(key, { tokens, at: now });
    // The epsilon keeps float noise (0.999 + 0.001 ≠ 1) from adding a millisecond.
    return { ok: false, retryAt: now + Math.ceil((1 - tokens) / perMs - 1e-6) };
  }

  #maybeSweep(now: number, perMinute: number, burst: number): void {
    const size = this.#buckets.size;
    if (size < Math.max(SWEEP_FLOOR, 2 * this.#sweptSize) && now - this.#sweptAt < SWEEP_EVERY) return;
    const perMs = perMinute / 60_000;
    for (const [key, b] of this.#buckets) {
      // Full again: forgetting it changes nothing (a new bucket starts full).
      if (b.tokens + Math.max(0, now - b.at) * perMs >= burst) this.#buckets.delete(key);
    }
    this.#sweptAt = now;
    this.#sweptSize = this.#buckets.size;
  }
}

/**
 * Unused slots per user: issued (or about to be), not uploaded, not expired.
 *
 * @example
 * const pending = new PendingSlots();
 * pending.hold('alice@example.org', now + lifetime);     // when a request passes
 * pending.issued('alice@example.org', slot.id, slot.expiresAt); // when its slot is minted
 * pending.uploaded('alice@example.org', slot.id);         // when its upload is stored
 */
export class PendingSlots {
  /** user → slot id (or a hold's placeholder) → expiry. */
  readonly #users = new Map<string, Map<string, number>>();
  #holds = 0;
  #sweptAt = 0;
  #sweptSize = 0;

  /** Users with at least one entry (what the sweep bounds). */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Live entries of `user` and the earliest expiry among them.
   *
   * @example
   * pending.count('alice@example.org', Date.now()); // { count: 3, oldestExpiry: 1767225600000 }
   */
  count(user: string, now: number): { count: number; oldestExpiry: number } {
    this.#maybeSweep(now);
    const slots = this.#users.get(user);
    let count = 0;
    let oldestExpiry = Infinity;
    if (!slots) return { count, oldestExpiry };
    for (const [id, expiresAt] of slots) {
      if (expiresAt <= now) {
        slots.delete(id);
        continue;
      }
      count++;
      if (expiresAt < oldestExpiry) oldestExpiry = expiresAt;
    }
    if (slots.size === 0) this.#users.delete(user);
    return { count, oldestExpiry };
  }

  /** Counts a request that passed until its slot is issued (or `expiresAt`, should it never be). */
  hold(user: string, expiresAt: number): void {
    this.#entries(user).set(`\0hold${this.#holds++}`, expiresAt);
  }

  /** Drops one hold of the user (its request was refused further on). */
  release(user: string): void {
    const slots = this.#users.get(user);
    if (!slots) return;
    for (const key of slots.keys()) {
      if (key.startsWith('\0hold')) {
        slots.delete(key);
        break;
      }
    }
    if (slots.size === 0) this.#users.delete(user);
  }

  /** Replaces the user's oldest hold by the issued slot. */
  issued(user: string, id: string, expiresAt: number): void {
    const slots = this.#entries(user);
    for (const key of slots.keys()) {
      if (key.startsWith('\0hold')) {
        slots.delete(key);
        break;
      }
    }
    slots.set(id, expiresAt);
  }

  /** The slot's upload is stored: it no longer counts. */
  uploaded(user: string, id: string): void {
    const slots = this.#users.get(user);
    if (!slots) return;
    slots.delete(id);
    if (slots.size === 0) this.#users.delete(user);
  }

  /** Forgets everything (the cap was switched off). */
  clear(): void {
    this.#users.clear();
  }

  #entries(user: string): Map<string, number> {
    let slots = this.#users.get(user);
    if (!slots) {
      slots = new Map();
      this.#users.set(user, slots);
    }
    return slots;
  }

  #maybeSweep(now: number): void {
    const size = this.#users.size;
    if (size < Math.max(SWEEP_FLOOR, 2 * this.#sweptSize) && now - this.#sweptAt < SWEEP_EVERY) return;
    for (const [user, slots] of this.#users) {
      for (const [id, expiresAt] of slots) if (expiresAt <= now) slots.delete(id);
      if (slots.size === 0) this.#users.delete(user);
    }
    this.#sweptAt = now;
    this.#sweptSize = this.#users.size;
  }
}

/** Whole seconds, rounded up: a retry at the XEP-0082 stamp is never early. */
const toStamp = (at: number): number => Math.ceil(at / 1000) * 1000;

/**
 * The rate and pending-slot limits of one node.
 *
 * @example
 * const limits = new SlotLimits(() => settings);
 * const d = limits.check('alice@example.org', Date.now());
 * if (!d.ok) return refuse(quotaExceeded(d.text, d.retryAt));
 * // …slot minted: limits.issued(slot); upload stored: limits.uploaded(meta)
 */
export class SlotLimits {
  readonly #settings: () => SlotLimitSettings;
  readonly buckets = new TokenBuckets();
  readonly pending = new PendingSlots();

  constructor(settings: () => SlotLimitSettings) {
    this.#settings = settings;
  }

  /**
   * Decides one request of `user` (bare JID); on ok it counts as a pending slot from now on.
   *
   * @example
   * limits.check('alice@example.org', Date.now()); // { ok: false, limit: 'rate', retryAt, text }
   */
  check(user: string, now: number): SlotLimitDecision {
    const s = this.#settings();
    if (s.slotRequestRate > 0) {
      const burst = Math.max(1, s.slotRequestBurst);
      const t = this.buckets.take(user, now, s.slotRequestRate, burst);
      if (!t.ok) {
        return {
          ok: false,
          limit: 'rate',
          retryAt: toStamp(t.retryAt),
          text: `too many slot requests (at most ${s.slotRequestRate} a minute, ${burst} at once)`,
        };
      }
    }
    if (s.maxPendingSlots > 0) {
      const { count, oldestExpiry } = this.pending.count(user, now);
      if (count >= s.maxPendingSlots) {
        return {
          ok: false,
          limit: 'pending',
          retryAt: toStamp(oldestExpiry),
          text: `too many unused slots (at most ${s.maxPendingSlots}); upload or wait until one expires`,
        };
      }
      this.pending.hold(user, now + s.slotLifetime);
    } else if (this.pending.size > 0) this.pending.clear();
    return { ok: true };
  }

  /** A request that passed check() was refused further on (a quota): it holds no slot. */
  refused(user: string): void {
    this.pending.release(user);
  }

  /** A slot was minted for a request that passed check(). */
  issued(slot: { uploader: string; id: string; expiresAt: number }): void {
    if (this.#settings().maxPendingSlots > 0) this.pending.issued(slot.uploader, slot.id, slot.expiresAt);
  }

  /** A slot's upload was stored on this node. */
  uploaded(meta: { uploader: string; id: string }): void {
    this.pending.uploaded(meta.uploader, meta.id);
  }
}
