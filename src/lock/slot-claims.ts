/**
 * "One upload per slot at a time" across the nodes of a cluster: the node that receives a PUT
 * takes a claim on the slot id in the shared place (a lease lock per slot: an O_EXCL file under
 * `{repository}/claims/`, or a conditional object under `{s3Prefix}claims/`), holds it with the
 * lock's heartbeat while the body arrives, and gives it back when the upload ends. A PUT of the
 * same slot on another node finds the claim held and is refused (409). A node that crashed
 * mid-upload leaves a claim that goes stale (dead pid on the same machine at once, otherwise
 * after CLAIM_LEASE) and is taken over, so the client can retry.
 *
 * Each claim carries its slot's expiry (LockOwner.until): after it no PUT of the slot passes the
 * token check, so nobody claims the slot again, and purge's sweep removes what is left (a
 * released claim on S3, which is never deleted on release; a crashed node's claim anywhere).
 *
 * A single node needs none of this (its in-process registry, src/http/gate.ts, is enough and
 * costs no I/O): serve uses claims only in cluster mode.
 */
import { LockHeldError, type LockSpace } from './lock.ts';

/** Where the claims live in the lock space. */
export const CLAIMS_FOLDER = 'claims';
/** A claim without a heartbeat for this long is stale (ms); renewed every quarter of it. */
export const CLAIM_LEASE = 60_000;

/** A held claim on one slot. */
export interface SlotClaim {
  /** Gives the claim back (once the upload has ended and its temp file is gone). Idempotent. */
  release(): Promise<void>;
  /**
   * Aborts when the claim is lost: this node was paused longer than the lease and another took
   * the slot over (or the sweep removed the claim of an expired slot), or the shared place could
   * not be reached to renew it for half the lease. The upload must stop.
   */
  readonly signal: AbortSignal;
}

/** Claims on slot ids, shared by every node. */
export interface SlotClaims {
  /**
   * The claim on slot `id`, or undefined when an upload of it runs somewhere (answer 409).
   * `until`: the slot's expiry, after which nobody can claim it again (the sweep's cue).
   */
  claim(id: string, until?: number): Promise<SlotClaim | undefined>;
}

/**
 * Slot claims as lease locks in `locks` (the repository folder or the bucket). `id` must be a
 * slot id (the HTTP layer only passes verified ones): it becomes part of a path or key.
 *
 * @example
 * const claims = sharedSlotClaims(storage.locks);
 * const claim = await claims.claim(slot.id, slot.expiresAt);
 * if (!claim) return reply(409, 'upload in progress');
 * try { await store.write(...); } finally { await claim.release(); }
 */
export function sharedSlotClaims(locks: LockSpace, options: { lease?: number } = {}): SlotClaims {
  const lease = options.lease ?? CLAIM_LEASE;
  return {
    async claim(id, until) {
      try {
        const held = await locks.acquire(`${CLAIMS_FOLDER}/${id}.claim`, {
          command: 'upload',
          lease,
          ...(until !== undefined ? { until } : {}),
        });
        let releasing: Promise<void> | undefined;
        return { release: () => (releasing ??= held.release()), signal: held.signal };
      } catch (err) {
        if (err instanceof LockHeldError) return undefined;
        throw err;
      }
    },
  };
}
