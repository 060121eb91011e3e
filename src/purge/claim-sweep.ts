/**
 * The sweep of slot claims (src/lock/slot-claims.ts): what is left under `claims/` once nobody
 * can use it. On S3 every claimed slot leaves a "released" claim object (a release never deletes:
 * an unconditional DELETE could remove a claim another node has just taken); anywhere a node
 * killed mid-upload leaves its claim. Without the sweep one object per upload stays for ever.
 *
 * The rule (claimVerdict, pure) removes a claim only when nobody can take it again:
 *   - a claim held with a fresh heartbeat is live: never removed, whatever its age;
 *   - a released, stale or damaged claim whose slot has expired (LockOwner.until) more than
 *     CLAIM_SWEEP_MARGIN ago: no PUT of that slot passes the token check any more, so no node is
 *     about to claim it, and the DELETE (without a precondition) cannot hit a new claim;
 *   - one that names no expiry (damaged, a `.break` file left by a contender that died while
 *     breaking a lock, a claim written without one): once unchanged for ORPHAN_CLAIM_AGE.
 * The margin covers clocks that differ between nodes and the moment between a PUT's token check
 * and its claim (a brief wait for an abandoned upload, a slow store).
 *
 * sweepClaims() is the executor: it lists the folder (streamed), reads each entry, applies the
 * rule and removes, a few entries at a time, checking the maintenance lock before every removal. purge runs it after the
 * retention rules (job.ts).
 */
import { LockLostError, type HeldLock, type LockEntry, type LockSpace } from '../lock/lock.ts';
import { CLAIM_LEASE, CLAIMS_FOLDER } from '../lock/slot-claims.ts';

/** How long after its slot's expiry a claim that nobody holds is kept (ms). */
export const CLAIM_SWEEP_MARGIN = 10 * 60_000;
/** How long an entry without an expiry is kept after its last change (ms). */
export const ORPHAN_CLAIM_AGE = 24 * 60 * 60_000;
/** Claims looked at (and removed) at once. */
const SWEEP_CONCURRENCY = 16;

/** Why a claim goes or stays. */
export type ClaimVerdict =
  { remove: true; why: 'released' | 'stale' | 'orphan' } | { remove: false; why: 'live' | 'slot valid' | 'recent' };

/**
 * Whether the sweep removes a claim, judged at `now`.
 *
 * @example
 * claimVerdict({ state: 'released', owner, stale: false, modified }, Date.now()); // { remove: true, why: 'released' } once owner.until + 10 min has passed
 */
export function claimVerdict(entry: LockEntry, now: number): ClaimVerdict {
  if (entry.state === 'held' && !entry.stale) return { remove: false, why: 'live' };
  const until = entry.owner?.until;
  if (until !== undefined) {
    if (now - until <= CLAIM_SWEEP_MARGIN) return { remove: false, why: 'slot valid' };
    return { remove: true, why: entry.state === 'released' ? 'released' : entry.state === 'held' ? 'stale' : 'orphan' };
  }
  if (entry.modified === undefined || now - entry.modified <= ORPHAN_CLAIM_AGE) return { remove: false, why: 'recent' };
  return { remove: true, why: 'orphan' };
}

/** What a sweep did. */
export interface ClaimSweepReport {
  /** Entries listed under claims/. */
  listed: number;
  /** Removed (a dry run: would be removed). */
  removed: number;
  /** Removals or reads that failed (left for the next sweep). */
  failed: number;
}

/**
 * Sweeps `claims/` of `locks` (the repository folder or the bucket). The caller holds the
 * maintenance lock (`lock`, checked before each removal) so two sweeps do not race each other.
 *
 * @example
 * const report = await sweepClaims(storage.locks, { lock, dryRun: false });
 */
export async function sweepClaims(
  locks: LockSpace,
  options: { now?: () => number; dryRun?: boolean; lock?: HeldLock; signal?: AbortSignal; concurrency?: number } = {},
): Promise<ClaimSweepReport> {
  const now = options.now ?? Date.now;
  const report: ClaimSweepReport = { listed: 0, removed: 0, failed: 0 };
  let lost: unknown;
  const one = async (name: string): Promise<void> => {
    try {
      const entry = await locks.inspect(name, CLAIM_LEASE);
      if (!entry || !claimVerdict(entry, now()).remove) return;
      options.lock?.assertHeld();
      if (options.dryRun || (await locks.remove(name))) report.removed++;
    } catch (err) {
      if (err instanceof LockLostError) lost ??= err;
      else report.failed++;
    }
  };
  // A few claims at a time: on S3 each costs a GET (and a DELETE) of a round trip or two, one
  // after the other a busy cluster's claims would take longer than the purge interval.
  const running = new Set<Promise<void>>();
  const limit = Math.max(1, options.concurrency ?? SWEEP_CONCURRENCY);
  try {
    for await (const name of locks.list(CLAIMS_FOLDER)) {
      options.signal?.throwIfAborted();
      if (lost !== undefined) break;
      report.listed++;
      const p: Promise<void> = one(name).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= limit) await Promise.race(running);
    }
  } catch (err) {
    // A listing that fails (the store unreachable) leaves the rest for the next sweep; the purge
    // that ran before keeps its result.
    if (options.signal?.aborted) throw err;
    report.failed++;
  } finally {
    // Nothing of this sweep outlives it (the caller releases the lock next).
    await Promise.all(running);
  }
  if (lost !== undefined) throw lost;
  return report;
}
