/**
 * Quota decisions, pure. Three limits (bytes; undefined = none):
 *   userQuota   bytes a bare JID has stored (plus its pending slots)
 *   dailyQuota  bytes a bare JID uploaded in the last 24 hours (plus its pending slots)
 *   globalQuota bytes in the repository (plus all pending slots)
 * Over a limit → XEP-0363 `wait`/`resource-constraint`, with a retry time when one can be
 * computed from the times at which counted bytes leave the count ("releases"). A request larger
 * than a limit by itself can never succeed → `modify`/`not-acceptable`.
 */
import { formatSize } from '../config/units.ts';

/** The configured limits (bytes). */
export interface QuotaLimits {
  userQuota: number | undefined;
  dailyQuota: number | undefined;
  globalQuota: number | undefined;
}

/** Bytes that leave a count at a known time. */
export interface Release {
  at: number;
  bytes: number;
}

/** What counts against each limit now. Releases may be omitted when unknown. */
export interface QuotaUsage {
  user?: { bytes: number; releases: Release[] };
  daily?: { bytes: number; releases: Release[] };
  global?: { bytes: number; releases?: Release[] };
}

export type QuotaName = 'user' | 'daily' | 'global';

/** A slot refused for quota reasons, ready to become an XMPP error. */
export interface QuotaRefusal {
  ok: false;
  quota: QuotaName;
  /** XMPP error type and condition. */
  type: 'wait' | 'modify';
  condition: 'resource-constraint' | 'not-acceptable';
  /** When a retry will succeed (if nothing else is uploaded meanwhile); XEP-0363 `<retry stamp/>`. */
  retryAt?: number;
  /** Human-readable error text. */
  text: string;
  limit: number;
  used: number;
}

export type QuotaDecision = { ok: true } | QuotaRefusal;

/**
 * The earliest time at which at least `need` bytes of `releases` are gone; undefined when they
 * never free that much.
 *
 * @example
 * releaseTime([{ at: 5, bytes: 10 }, { at: 2, bytes: 10 }], 15); // 5
 */
export function releaseTime(releases: readonly Release[], need: number): number | undefined {
  if (need <= 0) return undefined;
  const sorted = [...releases].sort((a, b) => a.at - b.at);
  let freed = 0;
  for (const r of sorted) {
    freed += r.bytes;
    if (freed >= need) return r.at;
  }
  return undefined;
}

const LABEL: Record<QuotaName, string> = {
  user: 'storage quota',
  daily: 'daily upload quota',
  global: 'repository quota',
};

/**
 * Decides whether a slot of `size` bytes fits every configured limit.
 *
 * @example
 * decideQuota(1000, { daily: { bytes: 9500, releases: [{ at: t, bytes: 800 }] } }, { dailyQuota: 10_000, userQuota: undefined, globalQuota: undefined });
 * // { ok: false, quota: 'daily', type: 'wait', condition: 'resource-constraint', retryAt: t, … }
 */
export function decideQuota(size: number, usage: QuotaUsage, limits: QuotaLimits): QuotaDecision {
  const checks: Array<[QuotaName, number | undefined, { bytes: number; releases?: Release[] } | undefined]> = [
    ['daily', limits.dailyQuota, usage.daily],
    ['user', limits.userQuota, usage.user],
    ['global', limits.globalQuota, usage.global],
  ];
  const refusals: QuotaRefusal[] = [];
  for (const [quota, limit, used] of checks) {
    if (limit === undefined || limit <= 0 || used === undefined) continue;
    if (size > limit) {
      refusals.push({
        ok: false,
        quota,
        type: 'modify',
        condition: 'not-acceptable',
        text: `the file (${formatSize(size)}) is larger than the ${LABEL[quota]} of ${formatSize(limit)}`,
        limit,
        used: used.bytes,
      });
      continue;
    }
    if (used.bytes + size <= limit) continue;
    const releasedAt = used.releases ? releaseTime(used.releases, used.bytes + size - limit) : undefined;
    // Stamps go out in whole seconds (XEP-0082): round up, so a retry at the stamp is not early.
    const retryAt = releasedAt === undefined ? undefined : Math.ceil(releasedAt / 1000) * 1000;
    refusals.push({
      ok: false,
      quota,
      type: 'wait',
      condition: 'resource-constraint',
      ...(retryAt !== undefined ? { retryAt } : {}),
      text: `${LABEL[quota]} of ${formatSize(limit)} exceeded (${formatSize(used.bytes)} in use)`,
      limit,
      used: used.bytes,
    });
  }
  if (refusals.length === 0) return { ok: true };
  const never = refusals.find((r) => r.type === 'modify');
  if (never) return never;
  // Retry when every exceeded limit has room again: the latest time, or none if any is unknown.
  if (refusals.some((r) => r.retryAt === undefined)) {
    const r = refusals.find((x) => x.retryAt === undefined) as QuotaRefusal;
    return r;
  }
  return refusals.reduce((a, b) => ((b.retryAt ?? 0) > (a.retryAt ?? 0) ? b : a));
}
