/**
 * Purge as a job: settings → policy, the repository lock, one run; and the timer serve uses to
 * run it every `purgeInterval`. The CLI (`fileupload purge`) and serve share this code.
 */
import type { Settings } from '../config/settings.ts';
import type { Store } from '../storage/store.ts';
import type { Logger } from '../log.ts';
import { LockHeldError, type LockOptions, MAINTENANCE_LOCK, type LockSpace } from '../lock/lock.ts';
import { fsLockSpace } from '../lock/fs.ts';
import type { Ledger } from '../inventory/ledger.ts';
import { inFlightWindow } from '../inventory/in-flight.ts';
import { DEFAULT_SIZE_GRACE, type RetentionPolicy } from './policy.ts';
import { sweepClaims } from './claim-sweep.ts';
import { runPurge, type DeletionRecord, type PurgeProgress, type PurgeSummary } from './run.ts';

/** The settings purge reads. */
export type RetentionSettings = Pick<
  Settings,
  'slotLifetime' | 'maxAge' | 'maxAgePurposes' | 'maxRepoSize' | 'purgeInterval' | 'minUploadRate' | 'maxFileSize'
>;

/**
 * The lock that purge and `slots rm` share, inside the repository (so every node sees it).
 *
 * @example
 * maintenanceLockPath('/srv/upload'); // '/srv/upload/locks/purge.lock'
 */
export function maintenanceLockPath(repo: string): string {
  return fsLockSpace(repo).where(MAINTENANCE_LOCK);
}

/**
 * A temp file is abandoned when nothing was written to it for this long at least, even with a
 * shorter slotLifetime: a running upload touches its temp file every 30 s (also while its first
 * bytes are still gathered in memory), and an idle connection is closed after 120 s.
 */
export const MIN_ABANDON_AFTER = 180_000;

/**
 * The retention policy of a configuration.
 *
 * @example
 * retentionPolicy(settings); // { maxAge: 604800000, maxAgePurposes: ['message','ephemeral'], … }
 */
export function retentionPolicy(settings: RetentionSettings): RetentionPolicy {
  const cap = settings.maxRepoSize;
  return {
    maxAge: settings.maxAge,
    maxAgePurposes: settings.maxAgePurposes,
    maxRepoSize: cap !== undefined && cap >= 0 ? cap : undefined,
    abandonAfter: Math.max(settings.slotLifetime, MIN_ABANDON_AFTER),
    sizeGrace: DEFAULT_SIZE_GRACE,
  };
}

export interface PurgeJobOptions {
  settings: RetentionSettings;
  /** The repository folder: holds the lock, and its filesystem's free space feeds the disk rule. */
  repo: string;
  store: Store;
  ledger?: Ledger;
  dryRun?: boolean;
  onDeletion?: (record: DeletionRecord) => void | Promise<void>;
  onProgress?: (progress: PurgeProgress) => void;
  /** Least time between two onProgress calls (ms); default 200 (run.ts). */
  progressInterval?: number;
  signal?: AbortSignal;
  /** Lock tuning (tests). */
  lock?: Pick<LockOptions, 'lease' | 'heartbeat'>;
  /** Where the maintenance lock is taken (the bucket on S3); default the folder `repo`. */
  locks?: LockSpace;
}

/**
 * Takes the maintenance lock and runs one purge, then sweeps the slot claims nobody can use any
 * more (claim-sweep.ts). Throws LockHeldError when another purge or `slots rm` (on any node)
 * holds the lock. A dry run takes the lock too, so what it reports is not disturbed by a
 * concurrent purge.
 *
 * @example
 * const summary = await purgeOnce({ settings, repo, store, ledger });
 */
export async function purgeOnce(options: PurgeJobOptions): Promise<PurgeSummary> {
  const locks = options.locks ?? fsLockSpace(options.repo);
  const lock = await locks.acquire(MAINTENANCE_LOCK, {
    command: options.dryRun ? 'purge --dry-run' : 'purge',
    ...options.lock,
  });
  try {
    const summary = await runPurge({
      store: options.store,
      policy: retentionPolicy(options.settings),
      repo: options.repo,
      lock,
      slotLifetime: options.settings.slotLifetime,
      minUploadRate: options.settings.minUploadRate,
      inFlightWindow: inFlightWindow(options.settings),
      ...(options.ledger ? { ledger: options.ledger } : {}),
      ...(options.dryRun !== undefined ? { dryRun: options.dryRun } : {}),
      ...(options.onDeletion ? { onDeletion: options.onDeletion } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.progressInterval !== undefined ? { progressInterval: options.progressInterval } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const started = Date.now();
    summary.claims = await sweepClaims(locks, {
      lock,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    summary.durationMs += Date.now() - started;
    return summary;
  } finally {
    await lock.release();
  }
}

/** The longest delay a Node timer holds (2^31−1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A running purge timer. */
export interface PurgeSchedule {
  /** Runs a purge now (unless one is running); undefined when the lock was held elsewhere. */
  runNow(): Promise<PurgeSummary | undefined>;
  /** Stops the timer and waits for a running purge to finish (it is asked to stop first). */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  /** Read before every run, so a changed purgeInterval applies without a restart. */
  settings: () => RetentionSettings;
  repo: string;
  store: Store;
  ledger?: Ledger;
  logger: Logger;
  /** Where the maintenance lock is taken; default the folder `repo`. */
  locks?: LockSpace;
  /** Delay before the first run (ms); default min(purgeInterval, 30 s). */
  initialDelay?: number;
  /** Told after every completed run (status and metrics). */
  onSummary?: (summary: PurgeSummary) => void;
}

/**
 * Runs purge every `purgeInterval` inside serve (the Openfire plugin's 5-minute purge). With purgeInterval 0
 * it only looks again once a minute whether it was turned on. Another node (or cron) holding the
 * lock just means this round is skipped.
 *
 * @example
 * const purge = schedulePurge({ settings: () => current, repo, store, ledger, logger });
 * process.on('SIGTERM', () => purge.stop());
 */
export function schedulePurge(options: ScheduleOptions): PurgeSchedule {
  const log = options.logger.child({ component: 'purge' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PurgeSummary | undefined> | undefined;
  let stopped = false;
  const controller = new AbortController();

  const runNow = (): Promise<PurgeSummary | undefined> => {
    running ??= (async () => {
      try {
        const summary = await purgeOnce({
          settings: options.settings(),
          repo: options.repo,
          store: options.store,
          signal: controller.signal,
          ...(options.locks ? { locks: options.locks } : {}),
          ...(options.ledger ? { ledger: options.ledger } : {}),
          onDeletion: (d) => {
            if (d.outcome === 'failed') log.warn('purge could not delete', { id: d.id, rule: d.rule, error: d.error });
            else log.debug('purged', { id: d.id, size: d.size, rule: d.rule });
          },
        });
        log.info('purge done', {
          deleted: summary.deleted,
          deletedBytes: summary.deletedBytes,
          failed: summary.failed,
          uploads: summary.scanned.uploads,
          claimsRemoved: summary.claims?.removed,
          durationMs: summary.durationMs,
        });
        options.onSummary?.(summary);
        return summary;
      } catch (err) {
        if (err instanceof LockHeldError)
          log.debug('purge skipped: lock held', { holder: err.owner?.host, pid: err.owner?.pid });
        else if (!controller.signal.aborted) log.error('purge failed', { error: err });
        return undefined;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const plan = (delay: number): void => {
    const due = Date.now() + delay;
    const arm = (): void => {
      if (stopped) return;
      // A timer cannot hold more than MAX_TIMER_DELAY (longer ones fire at once): re-arm until due.
      timer = setTimeout(
        async () => {
          if (Date.now() < due) return arm();
          const interval = options.settings().purgeInterval;
          if (interval > 0) await runNow();
          plan(interval > 0 ? interval : 60_000);
        },
        Math.min(Math.max(0, due - Date.now()), MAX_TIMER_DELAY),
      );
      timer.unref();
    };
    arm();
  };
  const first = options.settings().purgeInterval;
  plan(options.initialDelay ?? (first > 0 ? Math.min(first, 30_000) : 60_000));

  return {
    runNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller.abort();
      await running;
    },
  };
}
