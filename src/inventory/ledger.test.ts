import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Slot } from '../slots/slot.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { FsIndexStore } from './index-store/fs.ts';
import { type IndexStore } from './index-store/store.ts';
import { Ledger } from './ledger.ts';
import { forgottenName, openSegmentName, parseBatch, parseDelta, parseOpenSegment, paths, userKey } from './names.ts';
import { IndexRepair } from './repair.ts';
import { RepositoryUsage, writeTotal } from './usage.ts';

const T0 = Date.parse('2030-06-01T12:00:00Z');
const LIFETIME = 300_000;
const ALICE = 'alice@example.org';
const USER = userKey(ALICE);

/**
 * A real index in a temp folder, whose operations are counted. Without `append` it writes like
 * S3 (an entry per batch of slots); with it, like a folder (appended segments).
 */
async function setup(now = () => T0, options: { append?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-test-'));
  const fs = new FsIndexStore(dir);
  const ops = { put: [] as string[], delete: [] as string[] };
  const index: IndexStore = {
    put: (key, data) => (ops.put.push(key), fs.put(key, data)),
    get: (key) => fs.get(key),
    delete: (key) => (ops.delete.push(key), fs.delete(key)),
    list: (folder) => fs.list(folder),
    ...(options.append
      ? {
          append: (key: string, data: Uint8Array) => fs.append(key, data),
          closeAppend: (key: string) => fs.closeAppend(key),
          rename: (a: string, b: string) => fs.rename(a, b),
        }
      : {}),
  };
  const ledger = new Ledger(index, { now });
  return {
    dir,
    index,
    ops,
    ledger,
    ls: (...p: string[]) => readdir(join(dir, ...p)).catch(() => [] as string[]),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

let n = 0;
const slot = (size: number, at = T0, over: Partial<Slot> = {}): Slot => ({
  id: `id${String(n++).padStart(22, '0')}`,
  filename: 'f.bin',
  size,
  uploader: ALICE,
  issuedAt: at,
  expiresAt: at + LIFETIME,
  purpose: 'message',
  ...over,
});
const meta = (s: Slot, storedAt: number): UploadMeta => ({
  id: s.id,
  filename: s.filename,
  size: s.size,
  contentType: 'application/octet-stream',
  uploader: s.uploader,
  issuedAt: s.issuedAt,
  storedAt,
  purpose: s.purpose,
});
const noScan = {
  kind: 'fs',
  list() {
    throw new Error('scanned the repository');
  },
} as unknown as Store;

test('without a per-user quota, slots and uploads write nothing per user', async () => {
  const t = await setup();
  try {
    const s = slot(100);
    await t.ledger.recordSlotIssued(s);
    assert.deepEqual(await t.ls('users'), [], 'no users/ folder at all');
    assert.equal((await t.ls('pending')).length, 1);
    assert.deepEqual(t.ops.delete, []);
    await t.ledger.recordUploadStored(meta(s, T0 + 1000));
    assert.deepEqual(t.ops.delete, [], 'no pointless deletion per upload');
    assert.deepEqual(await t.ls('users'), [], 'no stored or log entry on the upload path');
    assert.equal((await t.ls('usage', 'delta')).length, 1, 'the usage delta is written');
  } finally {
    await t.cleanup();
  }
});

test("with a reservation, the slot becomes the user's pending entry; the upload removes it when asked", async () => {
  const t = await setup();
  try {
    const r = await t.ledger.reserve(ALICE, 100);
    const s = slot(100);
    await t.ledger.recordSlotIssued(s, r);
    assert.deepEqual(
      (await t.ls('users', USER, 'pending')).map((x) => x.split('.')[1]),
      [s.id],
      'reservation replaced by the slot',
    );
    await t.ledger.recordUploadStored(meta(s, T0 + 1000), { perUserQuota: true });
    assert.deepEqual(await t.ls('users', USER, 'pending'), []);
    assert.equal((await t.ls('users', USER, 'stored')).length, 1);
    assert.deepEqual(await t.ls('users', USER, 'log'), [], 'no log entry while the upload is stored');
    assert.equal((await t.ls('pending')).length, 1, 'the cluster-wide batch is left to expire');
  } finally {
    await t.cleanup();
  }
});

test('concurrent slots share batch entries; concurrent uploads share delta entries that count every file', async () => {
  const t = await setup();
  try {
    const slots = Array.from({ length: 200 }, (_, i) => slot(10 + i));
    await Promise.all(slots.map((s) => t.ledger.recordSlotIssued(s)));
    const batches = (await t.ls('pending')).map((x) => parseBatch(x));
    assert.ok(batches.length < 20, `${batches.length} batch entries for 200 slots`);
    assert.equal(
      batches.reduce((sum, b) => sum + (b?.count ?? 0), 0),
      200,
    );
    const ids = new Set<string>();
    for await (const p of t.ledger.pendingSlots()) ids.add(p.id);
    assert.equal(ids.size, 200);

    await Promise.all(slots.map((s, i) => t.ledger.recordUploadStored(meta(s, T0 + 1000 + i), { perUserQuota: true })));
    const deltas = (await t.ls('usage', 'delta')).map((x) => parseDelta(x));
    assert.ok(deltas.length < 20, `${deltas.length} delta entries for 200 uploads`);
    assert.equal(
      deltas.reduce((sum, d) => sum + (d?.count ?? 0), 0),
      200,
    );
    assert.equal(
      deltas.reduce((sum, d) => sum + (d?.size ?? 0), 0),
      slots.reduce((sum, s) => sum + s.size, 0),
    );
    assert.equal((await t.ls('users', USER, 'stored')).length, 200, 'stored entries stay one per upload');
    await t.ledger.recordUploadDeleted(meta(slots[0] as Slot, T0 + 1000));

    await writeTotal(t.index, { bytes: 1000, files: 7, at: T0 });
    const usage = new RepositoryUsage(noScan, t.index, { now: () => T0 + 2000, slotLifetime: () => LIFETIME });
    const u = await usage.current();
    assert.equal(u.storedFiles, 7 + 200 - 1);
    assert.equal(u.storedBytes, 1000 + slots.reduce((sum, s) => sum + s.size, 0) - 10);
    assert.equal(u.pendingBytes, 0, 'every pending slot was uploaded');
  } finally {
    await t.cleanup();
  }
});

test('usage: pending bytes are the live batches minus the uploads of the last slot lifetime', async () => {
  let now = T0;
  const t = await setup(() => now);
  try {
    await writeTotal(t.index, { bytes: 0, files: 0, at: T0 - 60_000 });
    const usage = () => new RepositoryUsage(noScan, t.index, { now: () => now, slotLifetime: () => LIFETIME });
    const [a, b, c] = [slot(400), slot(300), slot(200)];
    await Promise.all([a, b, c].map((s) => t.ledger.recordSlotIssued(s)));
    assert.equal((await usage().current()).pendingBytes, 900);
    now = T0 + 10_000;
    await t.ledger.recordUploadStored(meta(a, now));
    const u = await usage().current();
    assert.equal(u.pendingBytes, 500, 'the stored upload no longer counts as pending');
    assert.equal(u.storedBytes, 400);
    now = T0 + LIFETIME + 1;
    assert.equal((await usage().current()).pendingBytes, 0, 'the batch expired');
    // An upload within the last lifetime is taken off even when its slot's batch is gone: floor 0.
    await t.ledger.recordUploadStored(meta(b, now));
    assert.equal((await usage().current()).pendingBytes, 0);
  } finally {
    await t.cleanup();
  }
});

for (const append of [false, true]) {
  test(`forgetPending (${append ? 'folder' : 'S3-like'}): tombstones hide the slots, the user's entries go, the batch stays`, async () => {
    const t = await setup(() => T0, { append });
    try {
      const [a, b] = [slot(1), slot(2)];
      const [ra, rb] = [await t.ledger.reserve(ALICE, 1), await t.ledger.reserve(ALICE, 2)];
      await Promise.all([t.ledger.recordSlotIssued(a, ra), t.ledger.recordSlotIssued(b, rb)]);
      const batches = await t.ls('pending');
      assert.equal(batches.length, 1);
      const body = await t.index.get(`pending/${batches[0]}`);
      await t.ledger.forgetPending([{ ...a, contentType: undefined }]);
      assert.deepEqual(
        (await t.ls('users', USER, 'pending')).map((x) => x.split('.')[1]),
        [b.id],
      );
      const left: string[] = [];
      for await (const p of t.ledger.pendingSlots()) left.push(p.id);
      assert.deepEqual(left, [b.id]);
      await t.ledger.forgetPending([{ ...b, contentType: undefined }]);
      left.length = 0;
      for await (const p of t.ledger.pendingSlots()) left.push(p.id);
      assert.deepEqual(left, []);
      assert.deepEqual(await t.ls('users', USER, 'pending'), []);
      assert.deepEqual(await t.ls('pending'), batches, 'the batch entry is untouched');
      assert.deepEqual(await t.index.get(`pending/${batches[0]}`), body);
      assert.equal((await t.ls('pending-forgotten')).length, 2);
      await t.ledger.close();
    } finally {
      await t.cleanup();
    }
  });
}

test('usage on a folder: the live slots of open segments count, expired ones do not', async () => {
  let now = T0;
  const t = await setup(() => now, { append: true });
  try {
    await writeTotal(t.index, { bytes: 0, files: 0, at: T0 - 60_000 });
    const usage = () => new RepositoryUsage(noScan, t.index, { now: () => now, slotLifetime: () => LIFETIME });
    const short = slot(50, T0, { expiresAt: T0 + 1000 });
    await Promise.all([slot(400), slot(300), short].map((s) => t.ledger.recordSlotIssued(s)));
    const names = await t.ls('pending');
    assert.deepEqual(
      names.map((n) => parseOpenSegment(n) !== undefined),
      [true],
      'one open segment, no batch name to read bytes from',
    );
    assert.equal((await usage().current()).pendingBytes, 750);
    now = T0 + 2000;
    assert.equal((await usage().current()).pendingBytes, 700, 'an expired slot of the segment no longer counts');
    await t.ledger.close();
    assert.ok(parseBatch((await t.ls('pending'))[0] ?? ''));
    assert.equal(
      (await usage().current()).pendingBytes,
      750,
      'sealed: the name counts, whole, until its newest slot expires',
    );
  } finally {
    await t.cleanup();
  }
});

test('repair drops pending batches past the slot lifetime and keeps deltas of the last lifetime', async () => {
  const t = await setup();
  try {
    const old = slot(5, T0 - 2 * 3_600_000);
    const live = slot(6, T0 - 60_000);
    await t.ledger.recordSlotIssued(old);
    await t.ledger.recordSlotIssued(live);
    await t.ledger.recordUploadStored(meta(slot(7), T0 - 2 * 3_600_000));
    await t.ledger.recordUploadStored(meta(slot(8), T0 - 12 * 60_000)); // older than margin, within lifetime
    const store = { kind: 'fs', stat: async () => ({}) } as unknown as Store;
    const repair = new IndexRepair(t.ledger, store, { now: T0, slotLifetime: 15 * 60_000, margin: 10 * 60_000 });
    await repair.before();
    await repair.after({ bytes: 15, files: 2 });
    const ids: string[] = [];
    for await (const p of t.ledger.pendingSlots()) ids.push(p.id);
    assert.deepEqual(ids, [live.id]);
    assert.deepEqual(
      (await t.ls('usage', 'delta')).map((x) => parseDelta(x)?.size),
      [8],
    );
    assert.ok(await t.index.get(paths.total));
    assert.deepEqual(
      JSON.parse(String(await t.index.get(paths.repaired))),
      { at: T0 },
      'listings may trust the index from now on',
    );
  } finally {
    await t.cleanup();
  }
});

test("repair drops open segments (a dead node's) and tombstones once past their lifetime, not before", async () => {
  const t = await setup(() => T0, { append: true });
  try {
    const lifetime = 15 * 60_000;
    const margin = 10 * 60_000;
    const old = T0 - margin;
    const line = (at: number) => JSON.stringify(slot(1, at)) + '\n';
    // firstAt + 5 s + lifetime decides: the second one is past firstAt + lifetime but not past + 5 s.
    const dead = openSegmentName({ firstAt: old - lifetime - 5_001, id: 'dead' });
    const young = openSegmentName({ firstAt: old - lifetime - 4_000, id: 'young' });
    await t.index.put(`pending/${dead}`, line(old - lifetime - 5_001));
    await t.index.put(`pending/${young}`, line(old - lifetime - 1_000));
    const staleTomb = forgottenName({ expiresAt: old - 1, id: 'stale' });
    const liveTomb = forgottenName({ expiresAt: old + 1, id: 'live' });
    await t.index.put(`pending-forgotten/${staleTomb}`);
    await t.index.put(`pending-forgotten/${liveTomb}`);
    const dropped: string[] = [];
    const store = {
      kind: 'fs',
      stat: async () => ({}),
      dropTombstone: async (id: string) => dropped.push(id) > 0,
    } as unknown as Store;
    const repair = new IndexRepair(t.ledger, store, { now: T0, slotLifetime: lifetime, margin });
    await repair.before();
    const report = await repair.after({ bytes: 0, files: 0 });
    assert.deepEqual(await t.ls('pending'), [young]);
    assert.deepEqual(await t.ls('pending-forgotten'), [liveTomb]);
    assert.deepEqual(dropped, ['stale'], "the store's tombstone goes with the index's");
    assert.equal(report.expired, 2);
  } finally {
    await t.cleanup();
  }
});

test('repair keeps a tombstone while an upload of its slot may still be running (the in-flight window)', async () => {
  const t = await setup(() => T0);
  try {
    const lifetime = 15 * 60_000;
    const margin = 10 * 60_000;
    const window = lifetime + 60 * 60_000;
    const old = T0 - margin;
    // Issued a lifetime before expiresAt: uploads of the slot may run until issue + window.
    const running = forgottenName({ expiresAt: old - 1, id: 'running' });
    const over = forgottenName({ expiresAt: old - (window - lifetime) - 1, id: 'over' });
    await t.index.put(`pending-forgotten/${running}`);
    await t.index.put(`pending-forgotten/${over}`);
    const dropped: string[] = [];
    const store = { kind: 'fs', dropTombstone: async (id: string) => dropped.push(id) > 0 } as unknown as Store;
    const repair = new IndexRepair(t.ledger, store, {
      now: T0,
      slotLifetime: lifetime,
      inFlightWindow: window,
      margin,
    });
    await repair.before();
    await repair.after({ bytes: 0, files: 0 });
    assert.deepEqual(await t.ls('pending-forgotten'), [running]);
    assert.deepEqual(dropped, ['over']);
  } finally {
    await t.cleanup();
  }
});

test('deleting an upload younger than a day leaves a log entry for the daily quota; an older one does not', async () => {
  const t = await setup();
  try {
    const young = slot(10);
    const old = slot(20);
    await t.ledger.recordUploadStored(meta(young, T0 + 1000), { perUserQuota: true });
    await t.ledger.recordUploadStored(meta(old, T0 - 2 * 86_400_000), { perUserQuota: true });
    await t.ledger.recordUploadDeleted(meta(young, T0 + 1000));
    await t.ledger.recordUploadDeleted(meta(old, T0 - 2 * 86_400_000));
    assert.deepEqual(await t.ls('users', USER, 'stored'), []);
    assert.deepEqual(
      (await t.ls('users', USER, 'log')).map((x) => x.split('.')[1]),
      [young.id],
    );
  } finally {
    await t.cleanup();
  }
});

test('usage with an in-flight window: a batch counts until its uploads can no longer run, uploads of the window are taken off', async () => {
  let now = T0;
  const t = await setup(() => now);
  try {
    await writeTotal(t.index, { bytes: 0, files: 0, at: T0 - 60_000 });
    const flight = { slotLifetime: LIFETIME, minUploadRate: 4096, window: LIFETIME + 600_000 };
    const usage = () =>
      new RepositoryUsage(noScan, t.index, { now: () => now, slotLifetime: () => LIFETIME, inFlight: () => flight });
    const [a, b] = [slot(400), slot(300)];
    await Promise.all([a, b].map((s) => t.ledger.recordSlotIssued(s)));
    now = T0 + LIFETIME + 1;
    assert.equal((await usage().current()).pendingBytes, 700, 'expired slots may still have their upload running');
    await t.ledger.recordUploadStored(meta(a, now));
    assert.equal((await usage().current()).pendingBytes, 300);
    now = T0 + LIFETIME + 600_001;
    assert.equal((await usage().current()).pendingBytes, 0, 'past the window');
  } finally {
    await t.cleanup();
  }
});

test("usage on a folder with an in-flight window: an open segment's slot counts until its own upload deadline", async () => {
  let now = T0;
  const t = await setup(() => now, { append: true });
  try {
    await writeTotal(t.index, { bytes: 0, files: 0, at: T0 - 60_000 });
    const flight = { slotLifetime: LIFETIME, minUploadRate: 4096, window: LIFETIME + 3_600_000 };
    const usage = () =>
      new RepositoryUsage(noScan, t.index, { now: () => now, slotLifetime: () => LIFETIME, inFlight: () => flight });
    // 4 MiB at 4 KiB/s: 1024 s of upload after the lifetime; 1000 bytes: the 60 s floor.
    await Promise.all([slot(4 * 1024 * 1024), slot(1000)].map((s) => t.ledger.recordSlotIssued(s)));
    now = T0 + LIFETIME + 59_000;
    assert.equal((await usage().current()).pendingBytes, 4 * 1024 * 1024 + 1000);
    now = T0 + LIFETIME + 61_000;
    assert.equal((await usage().current()).pendingBytes, 4 * 1024 * 1024, 'the small slot can no longer be uploading');
    now = T0 + LIFETIME + 1_025_000;
    assert.equal((await usage().current()).pendingBytes, 0);
    await t.ledger.close();
  } finally {
    await t.cleanup();
  }
});

test("repair keeps a user's pending entry while its upload may still run, and drops it after", async () => {
  const t = await setup();
  try {
    const margin = 10 * 60_000;
    // 1 MiB at 4 KiB/s: 256 s after the 300 s lifetime.
    const running = slot(1024 * 1024, T0 - margin - LIFETIME - 200_000);
    const over = slot(1024 * 1024, T0 - margin - LIFETIME - 300_000);
    for (const s of [running, over]) await t.ledger.recordSlotIssued(s, await t.ledger.reserve(ALICE, s.size));
    const store = { kind: 'fs', stat: async () => ({}) } as unknown as Store;
    const repair = new IndexRepair(t.ledger, store, {
      now: T0,
      slotLifetime: LIFETIME,
      margin,
      minUploadRate: 4096,
      inFlightWindow: LIFETIME + 256_000,
    });
    await repair.before();
    await repair.after({ bytes: 0, files: 0 });
    assert.deepEqual(
      (await t.ls('users', USER, 'pending')).map((x) => x.split('.')[1]),
      [running.id],
    );
  } finally {
    await t.cleanup();
  }
});

test('repair writes missing entries many at a time; one that fails fails the repair once the others have ended', async () => {
  const t = await setup();
  try {
    const store = { kind: 'fs', stat: async () => ({}) } as unknown as Store;
    const uploads = Array.from({ length: 200 }, (_, i) => meta(slot(i + 1), T0 - 3_600_000));
    const repair = new IndexRepair(t.ledger, store, { now: T0, slotLifetime: LIFETIME });
    await repair.before();
    for (const m of uploads) await repair.seen(m);
    const report = await repair.after({ bytes: 0, files: uploads.length });
    assert.equal(report.added, 200);
    assert.equal((await t.ls('users', USER, 'stored')).length, 200);

    // The index refuses entries (a full disk): the repair fails with that error, not before
    // the writes already started have ended.
    const broken = new Ledger(
      {
        ...t.index,
        put: async (key: string, data?: string | Uint8Array) => {
          if (key.includes('/stored/')) throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
          return t.index.put(key, data);
        },
      },
      { now: () => T0 },
    );
    await rm(join(t.dir, 'users'), { recursive: true });
    await t.index.delete(paths.repaired);
    const failing = new IndexRepair(broken, store, { now: T0, slotLifetime: LIFETIME });
    await failing.before();
    await assert.rejects(async () => {
      for (const m of uploads) await failing.seen(m);
      await failing.after({ bytes: 0, files: uploads.length });
    }, /ENOSPC/);
    assert.equal(await t.index.get(paths.repaired), undefined, 'a failed repair does not mark the index complete');
  } finally {
    await t.cleanup();
  }
});
