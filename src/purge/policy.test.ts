import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PartialUpload, UploadMeta } from '../storage/store.ts';
import { DEFAULT_MAX_AGE_PURPOSES } from '../slots/purposes.ts';
import {
  diskTarget,
  fairLevel,
  planPurge,
  type Deletion,
  type PlanOptions,
  type PlanReport,
  type RetentionPolicy,
} from './policy.ts';

const NOW = Date.parse('2030-06-01T12:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;

let seq = 0;
function upload(ageMs: number, size: number, extra: Partial<UploadMeta> = {}): UploadMeta {
  const n = String(seq++).padStart(4, '0');
  return {
    id: `id${n}`.padEnd(24, 'x'),
    filename: `f${n}.bin`,
    size,
    contentType: 'application/octet-stream',
    uploader: 'alice@example.org',
    issuedAt: NOW - ageMs - 1000,
    storedAt: NOW - ageMs,
    purpose: 'message',
    ...extra,
  };
}

const policy = (p: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  maxAge: undefined,
  maxAgePurposes: DEFAULT_MAX_AGE_PURPOSES,
  maxRepoSize: undefined,
  abandonAfter: 5 * MIN,
  sizeGrace: MIN,
  ...p,
});

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

async function run(
  uploads: UploadMeta[],
  opts: Partial<PlanOptions> & { partials?: PartialUpload[] } = {},
): Promise<{ out: Deletion[]; report: PlanReport; byRule: Record<string, string[]> }> {
  const gen = planPurge(
    { uploads: () => iterate(uploads), partials: () => iterate(opts.partials ?? []) },
    { now: NOW, freeBytes: undefined, policy: policy(), ...opts },
  );
  const out: Deletion[] = [];
  let r = await gen.next();
  while (!r.done) {
    out.push(r.value);
    r = await gen.next();
  }
  const byRule: Record<string, string[]> = {};
  for (const d of out) (byRule[d.rule] ??= []).push(d.kind === 'upload' ? d.meta.id : d.partial.name);
  return { out, report: r.value, byRule };
}

test('expired: an ephemeral upload past expireBefore goes, one not yet due stays', async () => {
  const gone = upload(DAY, 10, { purpose: 'ephemeral', expireBefore: NOW - 1 });
  const due = upload(DAY, 10, { purpose: 'ephemeral', expireBefore: NOW });
  const kept = upload(DAY, 10, { purpose: 'ephemeral', expireBefore: NOW + 1 });
  const { byRule } = await run([gone, due, kept]);
  assert.deepEqual(byRule, { expired: [gone.id, due.id] });
});

test('abandoned: temp files idle longer than the slot lifetime go, live ones stay', async () => {
  const partials: PartialUpload[] = [
    { name: 'old.part', size: 5, modifiedAt: NOW - 6 * MIN },
    { name: 'live.part', size: 5, modifiedAt: NOW - 1000 },
  ];
  const { byRule, report } = await run([], { partials });
  assert.deepEqual(byRule, { abandoned: ['old.part'] });
  assert.equal(report.partials, 2);
});

test('maxAge: old message uploads go; profile and permanent are exempt unless listed', async () => {
  const old = upload(8 * DAY, 10);
  const young = upload(6 * DAY, 10);
  const profile = upload(30 * DAY, 10, { purpose: 'profile' });
  const permanent = upload(30 * DAY, 10, { purpose: 'permanent' });
  const a = await run([old, young, profile, permanent], { policy: policy({ maxAge: 7 * DAY }) });
  assert.deepEqual(a.byRule, { maxAge: [old.id] });
  const b = await run([old, young, profile, permanent], {
    policy: policy({ maxAge: 7 * DAY, maxAgePurposes: ['message', 'profile'] }),
  });
  assert.deepEqual(b.byRule, { maxAge: [old.id, profile.id] });
  const none = await run([old], { policy: policy({ maxAge: undefined }) });
  assert.deepEqual(none.byRule, {});
});

test('maxRepoSize: oldest first until the stored bytes are within the cap', async () => {
  const files = [
    upload(5 * DAY, 100),
    upload(1 * DAY, 100),
    upload(3 * DAY, 100),
    upload(2 * DAY, 100),
    upload(4 * DAY, 100),
  ];
  const { byRule, report } = await run(files, { policy: policy({ maxRepoSize: 250 }) });
  // 500 bytes, cap 250: the three oldest (5d, 4d, 3d) must go.
  assert.deepEqual(new Set(byRule.maxRepoSize), new Set([files[0]!.id, files[4]!.id, files[2]!.id]));
  assert.equal(report.maxRepoSizeTarget, 250);
});

test('disk: oldest first while the stored uploads are larger than the free space', async () => {
  const files = Array.from({ length: 10 }, (_, i) => upload((10 - i) * DAY, 100));
  // uploads 1000, free 400: (1000 - 400) / 2 = 300 bytes → 3 oldest.
  const { byRule } = await run(files, { freeBytes: 400 });
  assert.deepEqual(byRule, { disk: [files[0]!.id, files[1]!.id, files[2]!.id] });
  assert.equal(diskTarget(1000, 400), 300);
  const roomy = await run(files, { freeBytes: 1000 });
  assert.deepEqual(roomy.byRule, {});
});

test('disk: temp files of running uploads never make the rule delete a published upload', async () => {
  const files = Array.from({ length: 10 }, (_, i) => upload((10 - i) * DAY, 100));
  // 1000 stored, 1000 free once the running uploads' 900 temp bytes are counted back: nothing
  // goes, however large the temp files (they take the free space the statfs reports).
  const partials = [{ name: 'live.part', size: 900, modifiedAt: NOW }];
  const { byRule, report } = await run(files, { freeBytes: 100, partials });
  assert.deepEqual(byRule, {});
  assert.equal(report.sizeTarget, 0);
  // An abandoned temp file is removed, and what it frees counts as free.
  const stale = [{ name: 'stale.part', size: 900, modifiedAt: NOW - DAY }];
  const b = await run(files, { freeBytes: 100, partials: stale });
  assert.deepEqual(b.byRule, { abandoned: ['stale.part'] });
});

test('size rules take message and ephemeral uploads first, oldest first, then profile and permanent, oldest first', async () => {
  const avatar = upload(30 * DAY, 100, { purpose: 'profile' });
  const kept = upload(20 * DAY, 100, { purpose: 'permanent' });
  const oldMsg = upload(10 * DAY, 100, { purpose: 'message' });
  const eph = upload(5 * DAY, 100, { purpose: 'ephemeral', expireBefore: NOW + DAY });
  const newMsg = upload(2 * DAY, 100, { purpose: 'message' });
  const all = [avatar, kept, oldMsg, eph, newMsg];
  // Need 300: the three throwaway uploads, oldest first; profile and permanent stay.
  const a = await run(all, { policy: policy({ maxRepoSize: 200 }) });
  assert.deepEqual(a.byRule, { maxRepoSize: [oldMsg.id, eph.id, newMsg.id] });
  // Need 400: then the oldest of the kept ones (the avatar, 30 days).
  const b = await run(all, { policy: policy({ maxRepoSize: 100 }) });
  assert.deepEqual(b.byRule, { maxRepoSize: [oldMsg.id, eph.id, newMsg.id, avatar.id] });
  // The disk rule follows the same order; maxRepoSize takes its prefix.
  const c = await run(all, { freeBytes: -300, policy: policy({ maxRepoSize: 300 }) });
  assert.deepEqual(c.byRule, { maxRepoSize: [oldMsg.id, eph.id], disk: [newMsg.id, avatar.id] });
  // Same with a one-bucket histogram and one held entry at a time (the exact crossing path).
  const d = await run(all, { freeBytes: -300, policy: policy({ maxRepoSize: 300 }), maxBuckets: 2, maxCollect: 1 });
  assert.deepEqual(d.byRule, c.byRule);
});

test('fair share: the size rules take only from the users holding the most bytes', async () => {
  const bob = { uploader: 'bob@example.org' };
  const victim = [
    upload(30 * DAY, 100, { ...bob, purpose: 'message' }),
    upload(29 * DAY, 100, { ...bob, purpose: 'profile' }),
    upload(28 * DAY, 100, { ...bob, purpose: 'permanent' }),
  ];
  // alice's uploads are newer and all "permanent": without the fair share bob's message (and
  // then his oldest files) would go first.
  const attacker = Array.from({ length: 10 }, (_, i) => upload((10 - i) * DAY, 100, { purpose: 'permanent' }));
  const { byRule, report } = await run([...victim, ...attacker], { freeBytes: 300 });
  // 1300 stored, 300 free: 500 to free, all from alice (1000 held; level 500 > bob's 300).
  assert.equal(report.sizeTarget, 500);
  assert.equal(report.fairLevel, 500);
  assert.deepEqual(byRule, { disk: attacker.slice(0, 5).map((u) => u.id) });
  // When the need is larger than alice's excess alone, the level drops below bob's bytes and
  // both are candidates, taken in the tiered oldest-first order.
  const big = await run([...victim, ...attacker], { freeBytes: -900 });
  assert.equal(big.report.sizeTarget, 1100);
  assert.equal(big.report.fairLevel, 100);
  assert.deepEqual(big.byRule, { disk: [...victim.map((u) => u.id), ...attacker.slice(0, 8).map((u) => u.id)] });
});

test("fair share: uploads younger than the grace count for their user, so a burst of fresh uploads takes no one else's files", async () => {
  const bob = { uploader: 'bob@example.org' };
  const victim = [
    upload(30 * DAY, 100, { ...bob }),
    upload(29 * DAY, 100, { ...bob, purpose: 'profile' }),
    upload(28 * DAY, 100, { ...bob, purpose: 'permanent' }),
  ];
  // alice fills the disk within the last half minute: none of her uploads may be taken yet.
  const burst = Array.from({ length: 10 }, (_, i) => upload(30_000 - i * 1000, 100, { purpose: 'permanent' }));
  const { byRule, report } = await run([...victim, ...burst], { freeBytes: 300 });
  assert.equal(report.sizeTarget, 500);
  assert.equal(report.fairLevel, 500);
  assert.deepEqual(byRule, {}, 'bob holds less than the level: nothing of his goes');
  assert.equal(report.shortfall, 500);
  // A minute later her uploads are past the grace and are the ones taken.
  const later = await run([...victim, ...burst], { freeBytes: 300, now: NOW + 2 * MIN });
  assert.deepEqual(later.byRule, { disk: burst.slice(0, 5).map((u) => u.id) });
});

test('fairLevel: the highest level whose excess covers the need', () => {
  assert.equal(fairLevel([100, 10, 10], 50), 50);
  assert.equal(fairLevel([30, 30, 10], 20), 20);
  assert.equal(fairLevel([30, 30, 10], 50), 6); // 24 + 24 + 4 ≥ 50
  assert.equal(fairLevel([30, 30, 10], 70), 0);
  assert.equal(fairLevel([30, 30, 10], 1000), 0);
  assert.equal(fairLevel([], 10), 0);
});

test('rules combine in order, each seeing what the earlier ones freed', async () => {
  const expired = upload(1 * DAY, 300, { purpose: 'ephemeral', expireBefore: NOW - 1 });
  const aged = upload(40 * DAY, 200);
  const keep = Array.from({ length: 6 }, (_, i) => upload((20 - i) * DAY, 100));
  const partials = [{ name: 'gone.part', size: 50, modifiedAt: NOW - DAY }];
  // After expired (300), abandoned (50) and maxAge (200): 600 stored. Cap 450 → 2 oldest (maxRepoSize).
  // Then 400 stored, free 0 + 550 freed → no disk deletions needed.
  const a = await run([expired, aged, ...keep], {
    partials,
    freeBytes: 0,
    policy: policy({ maxAge: 30 * DAY, maxRepoSize: 450 }),
  });
  assert.deepEqual(a.byRule, {
    expired: [expired.id],
    maxAge: [aged.id],
    abandoned: ['gone.part'],
    maxRepoSize: [keep[0]!.id, keep[1]!.id],
  });
  // With less free space the disk rule continues past the cap, oldest first.
  // 600 stored, free -350+550=200 → disk target (600-200)/2 = 200 ≥ cap target 150.
  const b = await run([expired, aged, ...keep], {
    partials,
    freeBytes: -350,
    policy: policy({ maxAge: 30 * DAY, maxRepoSize: 450 }),
  });
  assert.deepEqual(b.byRule.maxRepoSize, [keep[0]!.id, keep[1]!.id]);
  assert.equal(b.byRule.disk, undefined);
  const c = await run([expired, aged, ...keep], {
    partials,
    freeBytes: -550,
    policy: policy({ maxAge: 30 * DAY, maxRepoSize: 450 }),
  });
  // disk target (600 - 0) / 2 = 300: two for the cap, the third one for the disk rule.
  assert.deepEqual(c.byRule.maxRepoSize, [keep[0]!.id, keep[1]!.id]);
  assert.deepEqual(c.byRule.disk, [keep[2]!.id]);
});

test('size rules never take uploads younger than the grace, and report the shortfall', async () => {
  const old = upload(DAY, 100);
  const fresh = upload(1000, 100);
  const { byRule, report } = await run([old, fresh], { policy: policy({ maxRepoSize: 0 }) });
  assert.deepEqual(byRule, { maxRepoSize: [old.id] });
  assert.equal(report.shortfall, 100);
});

/** The obvious (memory-hungry) implementation, as the reference for the bounded one. */
function reference(uploads: UploadMeta[], cap: number, freeBytes: number): Map<string, string> {
  const eligible = uploads
    .filter((u) => u.storedAt <= NOW - MIN)
    .sort((a, b) => a.storedAt - b.storedAt || (a.id < b.id ? -1 : 1));
  const total = uploads.reduce((s, u) => s + u.size, 0);
  const needRepo = Math.max(0, total - cap);
  const needAll = Math.max(needRepo, diskTarget(total, freeBytes));
  const out = new Map<string, string>();
  let cum = 0;
  for (const u of eligible) {
    if (cum >= needAll) break;
    out.set(u.id, cum < needRepo ? 'maxRepoSize' : 'disk');
    cum += u.size;
  }
  return out;
}

test('bounded selection equals a full sort, with refinement passes for crowded buckets', async () => {
  let state = 42;
  const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const uploads: UploadMeta[] = [];
  // A skewed distribution: a few very old uploads, a dense recent crowd, many same-millisecond ties.
  for (let i = 0; i < 20; i++) uploads.push(upload(Math.floor(rand() * 365 * DAY), 1 + Math.floor(rand() * 1000)));
  for (let i = 0; i < 3000; i++)
    uploads.push(upload(2 * MIN + Math.floor(rand() * 3600_000), 1 + Math.floor(rand() * 1000)));
  for (let i = 0; i < 200; i++) uploads.push(upload(30 * MIN, 1 + Math.floor(rand() * 1000)));
  const total = uploads.reduce((s, u) => s + u.size, 0);
  for (const [cap, free] of [
    [Math.floor(total * 0.6), total],
    [Math.floor(total * 0.9), Math.floor(total * 0.3)],
    [total, Math.floor(total * 0.5)],
  ] as const) {
    const { out, report } = await run(uploads, {
      freeBytes: free,
      policy: policy({ maxRepoSize: cap }),
      maxBuckets: 16,
      maxCollect: 100,
    });
    const got = new Map(out.map((d) => [d.kind === 'upload' ? d.meta.id : '', d.rule]));
    assert.deepEqual(got, reference(uploads, cap, free));
    assert.ok(report.passes > 2, 'crowded buckets were refined by extra passes');
    assert.ok(report.held <= 2 * 200 + 2 * 100, `held ${report.held} entries`);
  }
});
