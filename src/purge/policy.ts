/**
 * The retention policy: which uploads and temp files a purge removes, and under which rule.
 * Pure: it reads the listings it is given and yields decisions; it deletes nothing itself (the
 * executor in run.ts does, or only reports them for --dry-run).
 *
 * Rules, in this order, each seeing what the earlier ones removed:
 *   expired     an upload past its expireBefore (ephemeral purpose)
 *   abandoned   a temp file (unfinished upload) not written to for longer than the slot lifetime
 *   maxAge      an upload stored longer ago than maxAge, if its purpose is in maxAgePurposes
 *   maxRepoSize uploads in the size rules' order until the stored bytes are within the cap
 *   disk        uploads in the size rules' order while the stored uploads are larger than the
 *               free space of their filesystem (the Openfire plugin's only rule)
 *
 * The size rules free room for published uploads only. Temp files of running uploads are not
 * counted as repository, and the space they take is counted as free: they are bytes some user's
 * slot reserved, limited by that user's quotas, and they either become an upload (counted from
 * the next purge on) or are removed — deleting someone's published upload to make room for them
 * would let one user's running uploads push out another user's files.
 *
 * The size rules' order, the same for both (so what maxRepoSize takes is always a prefix of what
 * the disk rule would take, and one rule's attribution never depends on the other):
 *   1. fair share: only uploads of the users holding the most bytes are candidates. The level L
 *      is the highest at which the bytes users hold above it cover the need (Σ max(0, bytes − L)
 *      ≥ need, counting every upload the age rules keep, those still in their grace too, which
 *      are not taken yet); a user holding L or less loses nothing. One user filling the disk
 *      (or the cap) rises above everyone else and is the one the rule takes from; when the
 *      disk fills for other reasons the level drops and more users become candidates. Among
 *      the candidates the order below decides, so one of them may lose more than their bytes
 *      above L (exact per-user shares would need a histogram per user).
 *   2. among the candidates' uploads, `message` and `ephemeral` ones first, oldest first, then
 *      `profile` and `permanent` ones, oldest first: an avatar or a file meant to be kept goes
 *      only when nothing made to be thrown away is left.
 * maxRepoSize follows the same order for the same reasons: the cap is filled by every user's
 * uploads, and a user must not push another's out of it any more than off the disk.
 *
 * Memory stays flat with the number of uploads: the listing is streamed, never collected; what
 * grows is one byte count per user who has uploads.
 *   pass 1  age rules decide each upload on its own (yielded at once); survivors are summed per
 *           user and counted into a bounded histogram over the size rules' order
 *           (oldest-first.ts, with the tier as a far-apart time offset); temp files are checked.
 *   pass 1b only when a size rule must act and the fair level leaves some users out: the
 *           histogram is built again over the candidates.
 *   pass 2  only when a size rule must act: the listing is streamed again; candidates before the
 *           histogram cut are yielded at once, those inside the crossing bucket are held, sorted
 *           and decided exactly. A crowded crossing bucket is first narrowed by extra passes
 *           (refineCut), so at most `maxCollect` entries are ever held.
 * Uploads younger than `sizeGrace` are never taken by size rules: they may be in the middle of
 * being published or fetched by the recipient who was just sent the link.
 */
import type { Purpose } from '../slots/slot.ts';
import type { PartialUpload, UploadMeta } from '../storage/store.ts';
import { ALL, NONE, TimeHistogram, inCrossing, refineCut, type Cut } from './oldest-first.ts';
import { isExpired, maxAgeDeadline } from '../slots/purposes.ts';

/** Rules that remove published uploads. */
export type UploadRule = 'expired' | 'maxAge' | 'maxRepoSize' | 'disk';
/** Every purge rule. */
export type PurgeRule = UploadRule | 'abandoned';
/** The rules in the order they apply. */
export const RULE_ORDER: readonly PurgeRule[] = ['expired', 'abandoned', 'maxAge', 'maxRepoSize', 'disk'];

/** The operator's retention settings, as the policy needs them (sizes in bytes, times in ms). */
export interface RetentionPolicy {
  /** Uploads older than this go (if their purpose is listed); undefined = no age limit. */
  maxAge: number | undefined;
  /** Purposes maxAge applies to. */
  maxAgePurposes: readonly Purpose[];
  /** Cap on the bytes of stored uploads; undefined = none. */
  maxRepoSize: number | undefined;
  /** A temp file not modified for longer than this is abandoned (the slot lifetime). */
  abandonAfter: number;
  /** Size rules skip uploads stored less than this long ago. */
  sizeGrace: number;
}

/** The default grace that protects just-published uploads from size rules. */
export const DEFAULT_SIZE_GRACE = 60_000;

/** What to purge from: listings that can be streamed more than once. */
export interface PurgeSource {
  uploads(): AsyncIterable<UploadMeta>;
  partials(): AsyncIterable<PartialUpload>;
}

export interface PlanOptions {
  /** The instant the purge judges ages against (ms since epoch). */
  now: number;
  /** Free bytes of the repository's filesystem; undefined turns the disk rule off (e.g. S3). */
  freeBytes: number | undefined;
  policy: RetentionPolicy;
  /** Histogram size (memory bound); default 4096. */
  maxBuckets?: number;
  /** Most entries held at once for the exact oldest-first decision; default 10000. */
  maxCollect?: number;
}

/** One thing to delete and why. */
export type Deletion =
  | { kind: 'upload'; rule: UploadRule; meta: UploadMeta }
  | { kind: 'partial'; rule: 'abandoned'; partial: PartialUpload };

/** What the plan saw and aimed for (returned when the generator finishes). */
export interface PlanReport {
  /** Published uploads listed in pass 1, and their bytes. */
  uploads: number;
  uploadBytes: number;
  /** Temp files listed, and their bytes. */
  partials: number;
  partialBytes: number;
  /** Bytes the maxRepoSize rule had to free after the age rules (0 = within the cap). */
  maxRepoSizeTarget: number;
  /** Bytes the size rules together had to free (max of the maxRepoSize and disk targets). */
  sizeTarget: number;
  /** Bytes the size rules could not free because only younger (grace) uploads were left. */
  shortfall: number;
  /** The fair-share level of the size rules (bytes): users holding no more lose nothing; undefined when they did not act. */
  fairLevel: number | undefined;
  /** Streamed passes over the upload listing. */
  passes: number;
  /** Most uploads held in memory at once for the exact oldest-first decision. */
  held: number;
}

/**
 * The age rules for one upload: 'expired', 'maxAge', or undefined when it stays.
 *
 * @example
 * ageRule(meta, Date.now(), policy); // 'maxAge'
 */
export function ageRule(meta: UploadMeta, now: number, policy: RetentionPolicy): 'expired' | 'maxAge' | undefined {
  if (isExpired(meta, now)) return 'expired';
  const deadline = maxAgeDeadline(meta, policy.maxAge, policy.maxAgePurposes);
  if (deadline !== undefined && deadline < now) return 'maxAge';
  return undefined;
}

/**
 * Bytes the disk rule must free. Deleting b bytes shrinks the repository by b and grows the free
 * space by b, so the rule "repository > free" holds until (repo − freed) ≤ (free + freed).
 *
 * @example
 * diskTarget(5_000_000, 3_000_000); // 1000000
 */
export function diskTarget(repoBytes: number, freeBytes: number): number {
  return Math.max(0, Math.ceil((repoBytes - freeBytes) / 2));
}

/**
 * Offset of the second tier on the size rules' time axis: beyond any real storedAt (ms since
 * 1970; 2^50 is the year 37,000), and small enough that the sum stays an exact integer.
 */
const TIER_OFFSET = 2 ** 50;

/** Purposes the size rules take first. */
const FIRST_TIER: readonly Purpose[] = ['message', 'ephemeral'];

/**
 * An upload's place in the size rules' order: message/ephemeral by storedAt, then
 * profile/permanent by storedAt (see the module comment).
 *
 * @example
 * sizeOrderKey({ storedAt: 5, purpose: 'permanent' }) > sizeOrderKey({ storedAt: 9, purpose: 'message' }); // true
 */
export function sizeOrderKey(meta: Pick<UploadMeta, 'storedAt' | 'purpose'>): number {
  return meta.storedAt + (FIRST_TIER.includes(meta.purpose) ? 0 : TIER_OFFSET);
}

const bySizeOrder = (a: UploadMeta, b: UploadMeta): number =>
  sizeOrderKey(a) - sizeOrderKey(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The fair-share level: the highest whole number L with Σ max(0, held − L) ≥ need, i.e. the
 * users holding more than L can cover `need` from their bytes above L. 0 when everything is
 * needed (or more).
 *
 * @example
 * fairLevel([100, 10, 10], 50); // 50: only the user with 100 loses uploads
 * fairLevel([30, 30, 10], 20);  // 20: the two users with 30
 */
export function fairLevel(held: Iterable<number>, need: number): number {
  const sorted = [...held].sort((a, b) => b - a);
  let sum = 0;
  for (let k = 1; k <= sorted.length; k++) {
    sum += sorted[k - 1] as number;
    const level = (sum - need) / k;
    if (level >= (sorted[k] ?? 0)) return Math.max(0, Math.floor(level));
  }
  return 0;
}

/**
 * Streams the purge decisions for a repository (see the module comment for rules and memory).
 * Deleting each decision as it arrives is safe: later passes simply no longer list it.
 *
 * @example
 * const plan = planPurge({ uploads: () => store.list(), partials: () => store.listPartial() },
 *                        { now: Date.now(), freeBytes, policy });
 * for (let r = await plan.next(); !r.done; r = await plan.next()) await remove(r.value);
 */
export async function* planPurge(
  source: PurgeSource,
  options: PlanOptions,
): AsyncGenerator<Deletion, PlanReport, void> {
  const { now, policy } = options;
  const maxBuckets = options.maxBuckets ?? 4096;
  const maxCollect = options.maxCollect ?? 10_000;
  const newest = now - policy.sizeGrace;
  const report: PlanReport = {
    uploads: 0,
    uploadBytes: 0,
    partials: 0,
    partialBytes: 0,
    maxRepoSizeTarget: 0,
    sizeTarget: 0,
    shortfall: 0,
    fairLevel: undefined,
    passes: 1,
    held: 0,
  };

  // Pass 1: age rules, totals, histogram of what size rules may take.
  let hist = new TimeHistogram(maxBuckets);
  /** Bytes per user of the uploads kept by the age rules (the fair share's input). */
  const perUser = new Map<string, number>();
  let freed = 0;
  let keptBytes = 0;
  for await (const meta of source.uploads()) {
    report.uploads++;
    report.uploadBytes += meta.size;
    // Age rules judge each upload alone, so they can decide while streaming; they never compete
    // for an upload (expired wins), so interleaving them in the output changes no attribution.
    const rule = ageRule(meta, now, policy);
    if (rule) {
      freed += meta.size;
      yield { kind: 'upload', rule, meta };
      continue;
    }
    keptBytes += meta.size;
    // Uploads in their grace count for their user's share though they cannot be taken yet:
    // otherwise a user who fills the disk in one burst would hold nothing and leave the level
    // to everyone else's older uploads.
    perUser.set(meta.uploader, (perUser.get(meta.uploader) ?? 0) + meta.size);
    if (meta.storedAt <= newest) hist.add(sizeOrderKey(meta), meta.size);
  }
  let livePartialBytes = 0;
  for await (const partial of source.partials()) {
    report.partials++;
    report.partialBytes += partial.size;
    if (now - partial.modifiedAt > policy.abandonAfter) {
      freed += partial.size;
      yield { kind: 'partial', rule: 'abandoned', partial };
    } else {
      livePartialBytes += partial.size;
    }
  }

  const cap = policy.maxRepoSize;
  const needRepo = cap !== undefined && cap >= 0 ? Math.max(0, keptBytes - cap) : 0;
  // Running uploads' temp files neither count as repository nor take free space (module comment).
  const needDisk =
    options.freeBytes !== undefined ? diskTarget(keptBytes, options.freeBytes + livePartialBytes + freed) : 0;
  const needAll = Math.max(needRepo, needDisk);
  report.maxRepoSizeTarget = needRepo;
  report.sizeTarget = needAll;
  report.shortfall = Math.max(0, needAll - hist.bytes);
  if (needAll <= 0) return report;

  // Candidates: uploads the size rules may take, of users above the fair level.
  const level = fairLevel(perUser.values(), needAll);
  report.fairLevel = level;
  const everyone = [...perUser.values()].every((b) => b > level);
  const eligible = async function* (): AsyncGenerator<UploadMeta> {
    for await (const meta of source.uploads()) {
      if (meta.storedAt > newest || ageRule(meta, now, policy) !== undefined) continue;
      if (everyone || (perUser.get(meta.uploader) ?? 0) > level) yield meta;
    }
  };
  const times = async function* (): AsyncGenerator<{ time: number; bytes: number }> {
    for await (const m of eligible()) yield { time: sizeOrderKey(m), bytes: m.size };
  };
  if (!everyone) {
    report.passes++;
    hist = new TimeHistogram(maxBuckets);
    for await (const e of times()) hist.add(e.time, e.bytes);
    // What the candidates cannot cover: the rest is held by users at or below the level, or by
    // the candidates' uploads still in their grace.
    report.shortfall = Math.max(0, needAll - hist.bytes);
  }
  const narrow = async (need: number): Promise<Cut> => {
    let cut = hist.cut(need);
    while (cut.count > maxCollect && cut.to - cut.from > 1) {
      report.passes++;
      cut = await refineCut(cut, need, times(), maxBuckets);
    }
    return cut;
  };
  const cutRepo = needRepo > 0 ? await narrow(needRepo) : NONE;
  const cutAll = needAll === needRepo ? cutRepo : await narrow(needAll);

  // Pass 2: everything before the cuts goes at once; the crossing buckets are decided exactly.
  report.passes++;
  const held: UploadMeta[] = [];
  for await (const meta of eligible()) {
    const t = sizeOrderKey(meta);
    if (inCrossing(cutRepo, t) || inCrossing(cutAll, t)) held.push(meta);
    else if (t < cutRepo.from) yield { kind: 'upload', rule: 'maxRepoSize', meta };
    else if (t < cutAll.from) yield { kind: 'upload', rule: 'disk', meta };
  }
  report.held = held.length;
  held.sort(bySizeOrder);
  let cumRepo = cutRepo.bytesBefore;
  let cumAll = cutAll.bytesBefore;
  for (const meta of held) {
    const t = sizeOrderKey(meta);
    let forRepo = t < cutRepo.from;
    if (inCrossing(cutRepo, t)) {
      forRepo = cumRepo < needRepo;
      cumRepo += meta.size;
    }
    let forAll = t < cutAll.from || cutAll === ALL;
    if (inCrossing(cutAll, t)) {
      forAll = cumAll < needAll;
      cumAll += meta.size;
    }
    if (forRepo) yield { kind: 'upload', rule: 'maxRepoSize', meta };
    else if (forAll) yield { kind: 'upload', rule: 'disk', meta };
  }
  return report;
}
