import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PartialUpload, UploadMeta } from '../storage/store.ts';
import { DEFAULT_MAX_AGE_PURPOSES } from './purposes.ts';
import { diskTarget, planPurge, type Deletion, type PlanOptions, type PlanReport, type RetentionPolicy } from './policy.ts';

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
  const files = [upload(5 * DAY, 100), upload(1 * DAY, 100), upload(3 * DAY, 100), upload(2 * DAY, 100), upload(4 * DAY, 100)];
  const { byRule, report } = await run(files, { policy: policy({ maxRepoSize: 250 }) });
  // 500 bytes, cap 250: the three oldest (5d, 4d, 3d) must go.
  assert.deepEqual(new Set(byRule.maxRepoSize), new Set([files[0]!.id, files[4]!.id, files[2]!.id]));
  assert.equal(report.maxRepoSizeTarget, 250);
});

test('disk: oldest first while the repository is larger than the free space', async () => {
  const files = Array.from({ length: 10 }, (_, i) => upload((10 - i) * DAY, 100));
  // repo 1000 + 100 live temp bytes, free 500: free (1100 - 500) / 2 = 300 bytes → 3 oldest.
  const partials = [{ name: 'live.part', size: 100, modifiedAt: NOW }];
  const { byRule } = await run(files, { freeBytes: 500, partials });
  assert.deepEqual(byRule, { disk: [files[0]!.id, files[1]!.id, files[2]!.id] });
  assert.equal(diskTarget(1100, 500), 300);
  const roomy = await run(files, { freeBytes: 1100, partials });
  assert.deepEqual(roomy.byRule, {});
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
  const eligible = uploads.filter((u) => u.storedAt <= NOW - MIN).sort((a, b) => a.storedAt - b.storedAt || (a.id < b.id ? -1 : 1));
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
  const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const uploads: UploadMeta[] = [];
  // A skewed distribution: a few very old uploads, a dense recent crowd, many same-millisecond ties.
  for (let i = 0; i < 20; i++) uploads.push(upload(Math.floor(rand() * 365 * DAY), 1 + Math.floor(rand() * 1000)));
  for (let i = 0; i < 3000; i++) uploads.push(upload(2 * MIN + Math.floor(rand() * 3600_000), 1 + Math.floor(rand() * 1000)));
  for (let i = 0; i < 200; i++) uploads.push(upload(30 * MIN, 1 + Math.floor(rand() * 1000)));
  const total = uploads.reduce((s, u) => s + u.size, 0);
  for (const [cap, free] of [
    [Math.floor(total * 0.6), total],
    [Math.floor(total * 0.9), Math.floor(total * 0.3)],
    [total, Math.floor(total * 0.5)],
  ] as const) {
    const { out, report } = await run(uploads, { freeBytes: free, policy: policy({ maxRepoSize: cap }), maxBuckets: 16, maxCollect: 100 });
    const got = new Map(out.map((d) => [d.kind === 'upload' ? d.meta.id : '', d.rule]));
    assert.deepEqual(got, reference(uploads, cap, free));
    assert.ok(report.passes > 2, 'crowded buckets were refined by extra passes');
    assert.ok(report.held <= 2 * 200 + 2 * 100, `held ${report.held} entries`);
  }
});
