/**
 * Carries out a purge: streams the policy's decisions (policy.ts) and deletes each one through
 * the Store, keeping the inventory index in step (ledger + repair). The caller holds the lock
 * (job.ts does it for the CLI and for serve); every deletion first checks the lock is still held.
 */
import { statfs } from 'node:fs/promises';
import type { PartialUpload, Store, UploadMeta } from '../storage/store.ts';
import type { HeldLock } from '../lock/lock.ts';
import type { Ledger } from '../inventory/ledger.ts';
import { IndexRepair, type RepairReport } from '../inventory/repair.ts';
import type { ClaimSweepReport } from './claim-sweep.ts';
import { planPurge, RULE_ORDER, type PlanReport, type PurgeRule, type RetentionPolicy } from './policy.ts';

/** One deletion as reported to the caller (and printed by `purge --json`). */
export interface DeletionRecord {
  kind: 'upload' | 'partial';
  /** Upload id (for a temp file: the id of the slot it belongs to, when recognisable). */
  id: string;
  /** The upload's filename; null for temp files. */
  filename: string | null;
  size: number;
  /** Age in ms: since it was stored (uploads) or last written (temp files). */
  age: number;
  rule: PurgeRule;
  /** deleted | gone (someone else removed it first) | failed | planned (dry run). */
  outcome: 'deleted' | 'gone' | 'failed' | 'planned';
  error?: string;
}

/** Counts so far, for progress output: uploads the first pass listed, deletions (planned for a dry run). */
export interface PurgeProgress {
  listed: number;
  deleted: number;
}

/** Count and bytes per rule. */
export type RuleTotals = Record<PurgeRule, { count: number; bytes: number }>;

/** The result of a purge run. */
export interface PurgeSummary {
  dryRun: boolean;
  startedAt: number;
  durationMs: number;
  /** What the first pass listed. */
  scanned: { uploads: number; bytes: number; partials: number; partialBytes: number };
  /** Deleted (or, for a dry run, planned) per rule. */
  rules: RuleTotals;
  deleted: number;
  deletedBytes: number;
  failed: number;
  /** Free bytes of the repository's filesystem before the run (undefined: not a filesystem). */
  freeBytesBefore: number | undefined;
  /** Stored uploads after the run (estimated for a dry run): those scanned less those deleted. */
  repoUploadsAfter: number;
  /** Stored upload bytes after the run (estimated for a dry run). */
  repoBytesAfter: number;
  /** Bytes the size rules wanted but could not take (only uploads within the grace were left). */
  shortfall: number;
  passes: number;
  /** Index maintenance (absent for dry runs and runs without an index). */
  index?: RepairReport;
  /** The sweep of slot claims (claim-sweep.ts; absent when it did not run). */
  claims?: ClaimSweepReport;
}

export interface RunPurgeOptions {
  store: Store;
  policy: RetentionPolicy;
  dryRun?: boolean;
  /** Judges ages against this instant; default now. */
  now?: number;
  /** Free bytes of the repository's filesystem; default statfs(`repo`) when `repo` is given. */
  freeBytes?: number;
  /** The repository folder (fs): its filesystem's free space feeds the disk rule. */
  repo?: string;
  /** Index to keep in step (recommended); without it the quotas drift until the next repair. */
  ledger?: Ledger;
  /** Held lock: checked before every deletion. */
  lock?: HeldLock;
  /** Called after each deletion (or planned deletion); a returned promise is awaited (output backpressure). */
  onDeletion?: (record: DeletionRecord) => void | Promise<void>;
  /** Called now and then with counts so far. */
  onProgress?: (progress: PurgeProgress) => void;
  /** Least time between two onProgress calls (ms); 0 calls it for every upload listed and every deletion. Default 200. */
  progressInterval?: number;
  /** Stops the run between deletions. */
  signal?: AbortSignal;
  /** Slot lifetime for the index repair (pending entries); default policy.abandonAfter. */
  slotLifetime?: number;
  /** For the index repair: pending entries stay while their upload may run (inventory/in-flight.ts). */
  minUploadRate?: number;
  inFlightWindow?: number;
}

/**
 * Free bytes available to unprivileged users on the filesystem holding `path` (what the Openfire plugin
 * calls usable space).
 *
 * @example
 * await freeSpace('/var/lib/fileupload'); // 1234567890
 */
export async function freeSpace(path: string): Promise<number> {
  const s = await statfs(path);
  return Number(s.bavail) * Number(s.bsize);
}

const emptyTotals = (): RuleTotals =>
  Object.fromEntries(RULE_ORDER.map((r) => [r, { count: 0, bytes: 0 }])) as RuleTotals;

const partialId = (p: PartialUpload): string => p.name.split('.')[0] ?? p.name;

/**
 * Runs one purge. Throws LockLostError (from lock.assertHeld) when the lock is lost midway.
 *
 * @example
 * const summary = await runPurge({ store, policy, repo, ledger, lock, dryRun: false });
 */
export async function runPurge(options: RunPurgeOptions): Promise<PurgeSummary> {
  const { store, policy, ledger, lock, signal } = options;
  const dryRun = options.dryRun ?? false;
  const startedAt = Date.now();
  const now = options.now ?? startedAt;
  const freeBytes =
    options.freeBytes ??
    (options.repo !== undefined && store.kind === 'fs' ? await freeSpace(options.repo) : undefined);
  const repair =
    ledger && !dryRun
      ? new IndexRepair(ledger, store, {
          now,
          slotLifetime: options.slotLifetime ?? policy.abandonAfter,
          ...(options.minUploadRate !== undefined ? { minUploadRate: options.minUploadRate } : {}),
          ...(options.inFlightWindow !== undefined ? { inFlightWindow: options.inFlightWindow } : {}),
        })
      : undefined;
  await repair?.before();

  let listed = 0;
  let deleted = 0;
  let lastProgress = 0;
  const progressInterval = options.progressInterval ?? 200;
  const progress = (force = false): void => {
    if (!options.onProgress) return;
    const t = Date.now();
    if (!force && t - lastProgress < progressInterval) return;
    lastProgress = t;
    options.onProgress({ listed, deleted });
  };

  // The first listing pass feeds the repair; later passes (size rules) are plain listings.
  let firstPass = true;
  const uploads = async function* (): AsyncGenerator<UploadMeta> {
    const tap = firstPass;
    firstPass = false;
    for await (const meta of store.list()) {
      if (tap) {
        listed++;
        await repair?.seen(meta);
        progress();
      }
      yield meta;
    }
  };

  const rules = emptyTotals();
  let failed = 0;
  let deletedBytes = 0;
  let deletedUploads = 0;
  const plan = planPurge({ uploads, partials: () => store.listPartial() }, { now, freeBytes, policy });
  let step = await plan.next();
  while (!step.done) {
    const d = step.value;
    signal?.throwIfAborted();
    lock?.assertHeld();
    const record: DeletionRecord =
      d.kind === 'upload'
        ? {
            kind: 'upload',
            id: d.meta.id,
            filename: d.meta.filename,
            size: d.meta.size,
            age: now - d.meta.storedAt,
            rule: d.rule,
            outcome: 'planned',
          }
        : {
            kind: 'partial',
            id: partialId(d.partial),
            filename: null,
            size: d.partial.size,
            age: now - d.partial.modifiedAt,
            rule: d.rule,
            outcome: 'planned',
          };
    if (!dryRun) {
      try {
        const existed = d.kind === 'upload' ? await store.delete(d.meta.id) : await store.deletePartial(d.partial.name);
        record.outcome = existed ? 'deleted' : 'gone';
        if (existed && d.kind === 'upload') await ledger?.recordUploadDeleted(d.meta);
      } catch (err) {
        record.outcome = 'failed';
        record.error = err instanceof Error ? err.message : String(err);
      }
    }
    if (record.outcome === 'failed') failed++;
    else {
      rules[d.rule].count++;
      rules[d.rule].bytes += record.size;
      deleted++;
      deletedBytes += record.size;
      if (d.kind === 'upload') deletedUploads++;
    }
    await options.onDeletion?.(record);
    progress();
    step = await plan.next();
  }
  const report: PlanReport = step.value;
  progress(true);

  const removedUploadBytes = RULE_ORDER.filter((r) => r !== 'abandoned').reduce((s, r) => s + rules[r].bytes, 0);
  const summary: PurgeSummary = {
    dryRun,
    startedAt,
    durationMs: 0,
    scanned: {
      uploads: report.uploads,
      bytes: report.uploadBytes,
      partials: report.partials,
      partialBytes: report.partialBytes,
    },
    rules,
    deleted,
    deletedBytes,
    failed,
    freeBytesBefore: freeBytes,
    repoUploadsAfter: Math.max(0, report.uploads - deletedUploads),
    repoBytesAfter: Math.max(0, report.uploadBytes - removedUploadBytes),
    shortfall: report.shortfall,
    passes: report.passes,
  };
  if (repair) summary.index = await repair.after({ bytes: report.uploadBytes, files: report.uploads });
  summary.durationMs = Date.now() - startedAt;
  return summary;
}
