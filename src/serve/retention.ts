/**
 * Everything serve plugs in for retention, quotas and the inventory, in one object:
 *
 *   const retention = createRetention({ settings: () => current, repo, store, logger });
 *   component: purposes: retention.purposes,
 *              policies: [retention.quotaPolicy], onSlotIssued: retention.onSlotIssued
 *   http:      hooks: { onUploadFinished: retention.onUploadFinished }
 *   shutdown:  await retention.stop()
 *
 * The types below are structural twins of the XMPP layer's SlotPolicy / SlotRefusal, so this
 * module does not depend on it.
 */
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import { PURPOSES, type Purpose, type Slot } from '../slots/slot.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { schedulePurge, type PurgeSchedule } from '../purge/job.ts';
import type { PurgeSummary } from '../purge/run.ts';
import { QuotaGuard } from '../quota/guard.ts';
import { SlotLimits } from '../quota/slot-limits.ts';
import { inFlightWindow } from '../inventory/in-flight.ts';
import { type IndexStore } from '../inventory/index-store/store.ts';
import { Ledger } from '../inventory/ledger.ts';
import type { LockSpace } from '../lock/lock.ts';
import { RepositoryUsage } from '../inventory/usage.ts';

/** What a slot policy sees of a request (a subset of the XMPP layer's SlotRequestContext). */
export interface QuotaPolicyContext {
  requester: { bare: string };
  request: { size: number };
}

/** A policy decision in the XMPP layer's shape. */
export type QuotaPolicyDecision =
  | { ok: true }
  | {
      ok: false;
      refusal: {
        type: 'wait' | 'modify';
        condition: 'resource-constraint' | 'not-acceptable';
        text: string;
        retryAt?: number;
        slotLimit?: 'rate' | 'pending';
      };
    };

export interface Retention {
  /** The purposes to accept and advertise in disco (all four of XEP-0363 §purpose). */
  readonly purposes: readonly Purpose[];
  /**
   * The slot policy: the per-user request rate and unused-slot cap (memory only, so a flood is
   * refused before any index I/O), then the quotas.
   */
  quotaPolicy(ctx: QuotaPolicyContext): Promise<QuotaPolicyDecision>;
  /** Records an issued slot (pending in `slots ls` on every node, counted by quotas). */
  onSlotIssued(slot: Slot): Promise<void>;
  /** For the HTTP hook: records a published upload; never throws (errors are logged). */
  onUploadFinished(e: { meta: UploadMeta }): void;
  readonly guard: QuotaGuard;
  readonly limits: SlotLimits;
  readonly ledger: Ledger;
  /** Bytes stored and pending in the repository (cached; no scan per call). */
  readonly usage: RepositoryUsage;
  /** The purge timer (undefined when `schedule` was false). */
  readonly purge: PurgeSchedule | undefined;
  /** Stops the purge timer, waits for index writes in flight, seals the pending journal's open segment. */
  stop(): Promise<void>;
}

export interface RetentionOptions {
  /** Current settings (read on every use, so reloaded values apply). */
  settings: () => Settings;
  /** The repository folder (fileRepo, or serve's private temp folder). */
  repo: string;
  store: Store;
  logger: Logger;
  /** Run purge every purgeInterval (default true). */
  schedule?: boolean;
  /** The inventory index (src/repository/open.ts opens it beside the store). */
  index: IndexStore;
  /** Where purge takes its cross-node lock: the folder, or the bucket on S3. */
  locks: LockSpace;
  /** Told after every completed scheduled purge (status and metrics). */
  onPurge?: (summary: PurgeSummary) => void;
}

/**
 * Builds the retention parts for serve.
 *
 * @example
 * const retention = createRetention({ settings: () => settings, repo, store, index, locks, logger });
 * const component = startComponent({ …, purposes: retention.purposes,
 *   hooks: { policies: [retention.quotaPolicy], onSlotIssued: retention.onSlotIssued } });
 */
export function createRetention(options: RetentionOptions): Retention {
  const log = options.logger.child({ component: 'retention' });
  const { index } = options;
  const ledger = new Ledger(index);
  const usage = new RepositoryUsage(options.store, index, {
    slotLifetime: () => options.settings().slotLifetime,
    inFlight: () => {
      const s = options.settings();
      return { slotLifetime: s.slotLifetime, minUploadRate: s.minUploadRate, window: inFlightWindow(s) };
    },
  });
  const guard = new QuotaGuard(ledger, options.settings, { usage });
  const limits = new SlotLimits(options.settings);
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>, what: string, fields: Record<string, unknown>): void => {
    const q = p
      .catch((err: unknown) => log.warn(`index update failed: ${what}`, { ...fields, error: err }))
      .finally(() => inflight.delete(q));
    inflight.add(q);
  };
  const purge =
    options.schedule === false
      ? undefined
      : schedulePurge({
          settings: options.settings,
          repo: options.repo,
          store: options.store,
          ledger,
          logger: options.logger,
          locks: options.locks,
          ...(options.onPurge ? { onSummary: options.onPurge } : {}),
        });
  return {
    purposes: PURPOSES,
    guard,
    limits,
    ledger,
    usage,
    purge,
    async quotaPolicy({ requester, request }) {
      const l = limits.check(requester.bare, Date.now());
      if (!l.ok) {
        log.debug('slot refused by limit', { uploader: requester.bare, limit: l.limit, retryAt: l.retryAt });
        return {
          ok: false,
          refusal: {
            type: 'wait',
            condition: 'resource-constraint',
            text: l.text,
            retryAt: l.retryAt,
            slotLimit: l.limit,
          },
        };
      }
      let d: Awaited<ReturnType<QuotaGuard['check']>>;
      try {
        d = await guard.check({ uploader: requester.bare, size: request.size });
      } catch (err) {
        limits.refused(requester.bare);
        throw err;
      }
      if (d.ok) return { ok: true };
      limits.refused(requester.bare);
      log.info('slot refused by quota', {
        uploader: requester.bare,
        size: request.size,
        quota: d.quota,
        used: d.used,
        limit: d.limit,
        retryAt: d.retryAt,
      });
      return {
        ok: false,
        refusal: {
          type: d.type,
          condition: d.condition,
          text: d.text,
          ...(d.retryAt !== undefined ? { retryAt: d.retryAt } : {}),
        },
      };
    },
    async onSlotIssued(slot) {
      limits.issued(slot);
      const p = guard.recordSlotIssued(slot);
      track(p, 'slot issued', { id: slot.id });
      await p.catch(() => {});
    },
    onUploadFinished({ meta }) {
      limits.uploaded(meta);
      track(guard.recordUploadStored(meta), 'upload stored', { id: meta.id });
    },
    async stop() {
      await purge?.stop();
      await Promise.all(inflight);
      // Sealed, the segment says by its name what it holds; left open it stays readable and
      // repair drops it after its lifetime — so a failure here is worth a warning, not a failed stop.
      await ledger
        .close()
        .catch((err: unknown) => log.warn('could not seal the pending journal segment', { error: err }));
    },
  };
}
