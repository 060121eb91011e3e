import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsIndexStore } from '../inventory/index-store/fs.ts';
import { DAY_MS, Ledger } from '../inventory/ledger.ts';
import { userKey } from '../inventory/names.ts';
import { RepositoryUsage, writeTotal } from '../inventory/usage.ts';
import type { Slot } from '../slots/slot.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { QuotaGuard, type QuotaSettings } from './guard.ts';

const T0 = Date.parse('2030-06-01T12:00:00Z');
const ALICE = 'alice@example.org';

async function setup(over: Partial<QuotaSettings>, now = () => T0) {
  const dir = await mkdtemp(join(tmpdir(), 'quota-test-'));
  const index = new FsIndexStore(dir);
  const ledger = new Ledger(index, { now });
  const settings: QuotaSettings = {
    userQuota: undefined,
    dailyQuota: undefined,
    globalQuota: undefined,
    slotLifetime: 300_000,
    minUploadRate: 4096,
    maxAge: undefined,
    maxAgePurposes: ['message', 'ephemeral'],
    purgeInterval: 300_000,
    ...over,
  };
  // A scan of the repository is not what a quota check may do (total.json exists in the tests).
  const emptyStore = {
    kind: 'fs',
    list() {
      throw new Error('scanned the repository');
    },
  } as unknown as Store;
  const usage = new RepositoryUsage(emptyStore, index, { now, slotLifetime: () => settings.slotLifetime });
  const guard = new QuotaGuard(ledger, () => settings, { usage, now });
  return { dir, index, ledger, guard, settings, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let n = 0;
const id = () => `id${String(n++).padStart(22, '0')}`;
const slot = (size: number, at = T0, over: Partial<Slot> = {}): Slot => ({
  id: id(),
  filename: 'f.bin',
  size,
  uploader: ALICE,
  issuedAt: at,
  expiresAt: at + 300_000,
  purpose: 'message',
  ...over,
});
const meta = (s: Slot, storedAt: number, over: Partial<UploadMeta> = {}): UploadMeta => ({
  id: s.id,
  filename: s.filename,
  size: s.size,
  contentType: 'application/octet-stream',
  uploader: s.uploader,
  issuedAt: s.issuedAt,
  storedAt,
  purpose: s.purpose,
  ...over,
});

test('no quota configured: ok without touching the index', async () => {
  const t = await setup({});
  try {
    assert.deepEqual(await t.guard.check({ uploader: ALICE, size: 10 ** 12 }), { ok: true });
    assert.deepEqual(await readdir(t.dir), []);
  } finally {
    await t.cleanup();
  }
});

test('daily quota: stored uploads of the last 24 h count; the retry stamp is when enough ages out', async () => {
  const t = await setup({ dailyQuota: 1000 });
  try {
    const s1 = slot(400, T0 - 20 * 3600_000);
    const s2 = slot(400, T0 - 2 * 3600_000);
    await t.ledger.recordUploadStored(meta(s1, T0 - 20 * 3600_000), { perUserQuota: true });
    await t.ledger.recordUploadStored(meta(s2, T0 - 2 * 3600_000), { perUserQuota: true });
    const old = slot(900, T0 - 30 * 3600_000);
    await t.ledger.recordUploadStored(meta(old, T0 - 30 * 3600_000), { perUserQuota: true }); // outside the window
    assert.deepEqual(await t.guard.check({ uploader: ALICE, size: 200 }), { ok: true });
    const d = await t.guard.check({ uploader: ALICE, size: 300 });
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.type, 'wait');
      assert.equal(d.condition, 'resource-constraint');
      // used 800 + pending 200 + 300 > 1000: 300 must age out → s1 (400) leaves at its storedAt + 24 h.
      assert.equal(d.retryAt, T0 - 20 * 3600_000 + DAY_MS);
    }
    // Deleting an upload does not give back daily quota (it was uploaded today all the same).
    await t.ledger.recordUploadDeleted(meta(s2, T0 - 2 * 3600_000));
    assert.equal((await t.guard.check({ uploader: ALICE, size: 300 })).ok, false);
  } finally {
    await t.cleanup();
  }
});

test('a burst of slot requests gets exactly what fits: reservations count until the slot expires', async () => {
  const t = await setup({ userQuota: 1000 });
  try {
    const results = await Promise.all(Array.from({ length: 8 }, () => t.guard.check({ uploader: ALICE, size: 300 })));
    const granted = results.filter((r) => r.ok).length;
    assert.equal(granted, 3, `granted ${granted} × 300 bytes against a 1000-byte quota`);
    // Refused requests left no reservation behind.
    const pending = await readdir(join(t.dir, 'users', userKey(ALICE), 'pending'));
    assert.equal(pending.length, granted);
    // Two nodes (two guards on one index) checking at the same time never exceed the quota.
    const t2 = await setup({ userQuota: 1000 });
    try {
      const nodeB = new QuotaGuard(t2.ledger, () => t2.settings, { now: () => T0 });
      const both = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? nodeB : t2.guard).check({ uploader: ALICE, size: 300 })),
      );
      assert.ok(both.filter((r) => r.ok).length <= 3);
    } finally {
      await t2.cleanup();
    }
  } finally {
    await t.cleanup();
  }
});

test("recordSlotIssued turns the reservation into the slot's pending entry; the upload turns it into a stored entry", async () => {
  let now = T0;
  const t = await setup({ userQuota: 1000 }, () => now);
  try {
    assert.ok((await t.guard.check({ uploader: ALICE, size: 600 })).ok);
    const s = slot(600);
    await t.guard.recordSlotIssued(s);
    const userPending = await readdir(join(t.dir, 'users', userKey(ALICE), 'pending'));
    assert.deepEqual(
      userPending.map((x) => x.split('.')[1]),
      [s.id],
    );
    assert.equal((await readdir(join(t.dir, 'pending'))).length, 1);
    assert.equal((await t.guard.check({ uploader: ALICE, size: 600 })).ok, false, 'the pending slot counts');
    now += 1000;
    await t.guard.recordUploadStored(meta(s, now));
    assert.deepEqual(await readdir(join(t.dir, 'users', userKey(ALICE), 'pending')), []);
    // The cluster-wide batch stays until it expires (slots ls skips uploaded slots).
    assert.equal((await readdir(join(t.dir, 'pending'))).length, 1);
    assert.equal((await t.guard.check({ uploader: ALICE, size: 600 })).ok, false, 'now the stored upload counts');
    await t.guard.recordUploadDeleted(meta(s, now));
    assert.equal((await t.guard.check({ uploader: ALICE, size: 600 })).ok, true, 'deletion gives storage quota back');
  } finally {
    await t.cleanup();
  }
});

test('no per-user quota: slots write no user pending entry, uploads delete none', async () => {
  const t = await setup({ globalQuota: 10 ** 9 });
  try {
    await writeTotal(t.index, { bytes: 0, files: 0, at: T0 - 60_000 });
    const deletes: string[] = [];
    const del = t.index.delete.bind(t.index);
    t.index.delete = (key) => (deletes.push(key), del(key));
    assert.ok((await t.guard.check({ uploader: ALICE, size: 600 })).ok);
    const s = slot(600);
    await t.guard.recordSlotIssued(s);
    assert.deepEqual(await readdir(t.dir).then((d) => d.sort()), ['pending', 'usage']);
    await t.guard.recordUploadStored(meta(s, T0 + 1000));
    assert.deepEqual(
      await readdir(t.dir).then((d) => d.sort()),
      ['pending', 'usage'],
      'nothing per user on the upload path',
    );
    assert.deepEqual(deletes, [], 'nothing to delete per upload');
    // Switching a per-user quota on: the upload's slot entry is deleted from then on.
    t.settings.userQuota = 10_000;
    assert.ok((await t.guard.check({ uploader: ALICE, size: 700 })).ok);
    const s2 = slot(700);
    await t.guard.recordSlotIssued(s2);
    assert.deepEqual(
      (await readdir(join(t.dir, 'users', userKey(ALICE), 'pending'))).map((x) => x.split('.')[1]),
      [s2.id],
    );
    await t.guard.recordUploadStored(meta(s2, T0 + 2000));
    assert.deepEqual(await readdir(join(t.dir, 'users', userKey(ALICE), 'pending')), []);
  } finally {
    await t.cleanup();
  }
});

test('a pending slot counts while its upload may run: slot lifetime + upload deadline, then stops', async () => {
  let now = T0;
  // 400 KiB at 4 KiB/s: a 100 s deadline, so in flight until T0 + 300 s + 100 s.
  const size = 400 * 1024;
  const t = await setup({ userQuota: size + 1000, dailyQuota: 10 * size }, () => now);
  try {
    // As serve does it: the check reserves, the issued slot takes the reservation's place.
    assert.ok((await t.guard.check({ uploader: ALICE, size })).ok);
    await t.guard.recordSlotIssued(slot(size));
    assert.equal((await t.guard.check({ uploader: ALICE, size: 2000 })).ok, false);
    // The slot has expired, but an upload started just before may still be running.
    now = T0 + 301_000;
    assert.equal((await t.guard.check({ uploader: ALICE, size: 2000 })).ok, false, 'counted after expiry');
    now = T0 + 399_000;
    assert.equal((await t.guard.check({ uploader: ALICE, size: 2000 })).ok, false, 'counted until the upload deadline');
    now = T0 + 401_000;
    assert.equal((await t.guard.check({ uploader: ALICE, size: 2000 })).ok, true, 'no longer counted');
  } finally {
    await t.cleanup();
  }
});

test('daily quota: a pending slot counts a day after its upload could end at the latest', async () => {
  const now = T0;
  const t = await setup({ dailyQuota: 1000 }, () => now);
  try {
    assert.ok((await t.guard.check({ uploader: ALICE, size: 900 })).ok);
    await t.guard.recordSlotIssued(slot(900));
    const d = await t.guard.check({ uploader: ALICE, size: 200 });
    assert.equal(d.ok, false);
    // 900 bytes: the 60 s floor of the deadline.
    if (!d.ok) assert.equal(d.retryAt, T0 + 300_000 + 60_000 + DAY_MS);
  } finally {
    await t.cleanup();
  }
});

test('without an upload deadline (minUploadRate ≤ 0) a pending slot counts for a day after it expires', async () => {
  let now = T0;
  const t = await setup({ userQuota: 1000, minUploadRate: -1 }, () => now);
  try {
    assert.ok((await t.guard.check({ uploader: ALICE, size: 900 })).ok);
    await t.guard.recordSlotIssued(slot(900));
    now = T0 + 300_000 + DAY_MS - 1000;
    assert.equal((await t.guard.check({ uploader: ALICE, size: 200 })).ok, false);
    now = T0 + 300_000 + DAY_MS + 1000;
    assert.equal((await t.guard.check({ uploader: ALICE, size: 200 })).ok, true);
  } finally {
    await t.cleanup();
  }
});

test('0 or less is no quota: nothing is reserved', async () => {
  const t = await setup({ userQuota: -1, dailyQuota: -1 });
  try {
    assert.ok((await t.guard.check({ uploader: ALICE, size: 5000 })).ok);
    assert.deepEqual(await readdir(t.dir).catch(() => []), []);
  } finally {
    await t.cleanup();
  }
});

test('user quota retry stamp: when maxAge (or expire-before) removes enough, plus a purge interval', async () => {
  const t = await setup({ userQuota: 1000, maxAge: 7 * DAY_MS });
  try {
    const a = slot(500, T0 - 6 * DAY_MS);
    await t.ledger.recordUploadStored(meta(a, T0 - 6 * DAY_MS), { perUserQuota: true });
    const p = slot(500, T0 - DAY_MS, { purpose: 'permanent' });
    await t.ledger.recordUploadStored(meta(p, T0 - DAY_MS, { purpose: 'permanent' }), { perUserQuota: true });
    const d = await t.guard.check({ uploader: ALICE, size: 100 });
    assert.ok(!d.ok && d.retryAt === T0 + DAY_MS + 300_000, `retry at ${!d.ok ? d.retryAt : ''}`);
  } finally {
    await t.cleanup();
  }
});

test('global quota: total.json + deltas from every node + pending slots; not a scan per request', async () => {
  let now = T0;
  const t = await setup({ globalQuota: 10_000 }, () => now);
  try {
    await writeTotal(t.index, { bytes: 9000, files: 3, at: T0 - 60_000 });
    assert.ok((await t.guard.check({ uploader: ALICE, size: 400 })).ok);
    await t.guard.recordSlotIssued(slot(400, T0));
    // Another node issues a slot of 500 and stores its upload (a delta), and issues a slot of 100.
    const other = new Ledger(t.index, { now: () => now });
    const uploaded = slot(500, T0);
    await other.recordSlotIssued(uploaded);
    await other.recordUploadStored(meta(uploaded, T0 + 1000));
    await other.recordSlotIssued(slot(100, T0, { uploader: 'bob@example.org' }));
    now += 11_000; // past the snapshot cache
    // 9000 + 400 (pending here) + 500 (stored there, no longer pending) + 100 (pending there)
    // = 10000: nothing fits.
    const d = await t.guard.check({ uploader: ALICE, size: 1 });
    assert.ok(!d.ok && d.quota === 'global' && d.used === 10_000, JSON.stringify(d));
    // A deletion anywhere gives room back at the next refresh.
    await other.recordUploadDeleted(meta(slot(300, T0 - DAY_MS), T0 - DAY_MS));
    now += 11_000;
    assert.ok((await t.guard.check({ uploader: ALICE, size: 300 })).ok);
  } finally {
    await t.cleanup();
  }
});
