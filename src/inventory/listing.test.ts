import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FsStore } from '../storage/fs/index.ts';
import { newSlotId } from '../slots/id.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { FsIndexStore } from './index-store/fs.ts';
import { Ledger } from './ledger.ts';
import { listSlots, type ListDeps, type SlotFilter, type SlotRow } from './listing.ts';
import { paths } from './names.ts';

const DAY = 86_400_000;
const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

/** A real fs store and index in a temp folder, every upload recorded as serve does under a per-user quota. */
async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-listing-'));
  const store = new FsStore(dir, { durable: false });
  await store.open();
  const ledger = new Ledger(new FsIndexStore(join(dir, 'index')));
  const now = Date.now();
  // As a repair pass (purge) leaves it: the index may be trusted to list every upload.
  await ledger.index.put(paths.repaired, JSON.stringify({ at: now }) + '\n');
  let at = now - 100_000;
  const put = async (uploader: string, filename: string, size = 10, id = newSlotId()): Promise<UploadMeta> => {
    at += 1000;
    await store.write(
      { id, filename, size, contentType: 'text/plain', uploader, issuedAt: at, purpose: 'message' },
      (async function* () {
        yield new Uint8Array(size);
      })(),
      { storedAt: at },
    );
    const meta = (await store.stat(id))!;
    await ledger.recordUploadStored(meta, { perUserQuota: true });
    return meta;
  };
  /** The same store, except that a listing of it (a scan of the repository) fails. */
  const noScan = {
    stat: (id: string) => store.stat(id),
    list: () => {
      throw new Error('the repository was scanned');
    },
  } as unknown as Store;
  const deps = (s: Store, indexed: boolean): ListDeps => ({
    store: s,
    ledger,
    now,
    maxAge: 30 * DAY,
    maxAgePurposes: ['message'],
    indexed,
  });
  const rows = async (d: ListDeps, filter: SlotFilter): Promise<SlotRow[]> => {
    const out: SlotRow[] = [];
    for await (const line of listSlots(d, filter)) out.push(JSON.parse(line) as SlotRow);
    return out;
  };
  /** Rows read from the index (no scan allowed), checked against the scan's rows. */
  const same = async (filter: SlotFilter): Promise<SlotRow[]> => {
    const fromIndex = await rows(deps(noScan, true), filter);
    assert.deepEqual(fromIndex, await rows(deps(store, false), filter), JSON.stringify(filter));
    return fromIndex;
  };
  const cleanup = async () => {
    await ledger.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { store, ledger, now, put, deps, noScan, rows, same, cleanup };
}

describe('slots ls from the index', () => {
  it('scans while no repair pass has filled the index (a lost index, or one never built)', async () => {
    const t = await setup();
    try {
      const a1 = await t.put(ALICE, 'one.txt', 10);
      // An upload the index lacks: stored without a per-user quota, or the index lost since.
      const a2 = await t.store.write(
        {
          id: newSlotId(),
          filename: 'unindexed.txt',
          size: 3,
          contentType: 'text/plain',
          uploader: ALICE,
          issuedAt: 1,
          purpose: 'message',
        },
        (async function* () {
          yield new Uint8Array(3);
        })(),
      );
      await t.ledger.index.delete(paths.repaired);
      await assert.rejects(t.rows(t.deps(t.noScan, true), { user: ALICE }), /scanned/);
      for (const filter of [{ user: ALICE }, { limit: 5 }]) {
        assert.deepEqual(
          (await t.rows(t.deps(t.store, true), filter)).map((r) => r.id).sort(),
          [a1.id, a2.id].sort(),
          JSON.stringify(filter),
        );
      }
    } finally {
      await t.cleanup();
    }
  });

  it('lists one user’s uploads and pending slots without scanning, the same rows as a scan', async () => {
    const t = await setup();
    try {
      const a1 = await t.put(ALICE, 'one.txt', 10);
      await t.put(BOB, 'bob.txt', 5);
      const a2 = await t.put(ALICE, 'two.txt', 20);
      await t.ledger.recordSlotIssued({
        id: newSlotId(),
        filename: 'pending.png',
        size: 7,
        contentType: 'image/png',
        uploader: ALICE,
        issuedAt: t.now - 500,
        expiresAt: t.now + 60_000,
        purpose: 'message',
      });
      const rows = await t.same({ user: 'Alice@Example.org' });
      assert.deepEqual(
        rows.map((r) => r.filename),
        ['pending.png', 'two.txt', 'one.txt'],
      );
      assert.equal(rows[1]!.contentType, 'text/plain');
      assert.equal(rows[1]!.expires, a2.storedAt + 30 * DAY);
      assert.deepEqual(
        (await t.same({ user: ALICE, state: 'stored', order: 'oldest', limit: 1 })).map((r) => r.id),
        [a1.id],
      );
      assert.deepEqual(
        (await t.same({ user: ALICE, state: 'stored', before: a2.storedAt })).map((r) => r.id),
        [a1.id],
      );
      assert.deepEqual(await t.same({ user: 'carol@example.org' }), []);
    } finally {
      await t.cleanup();
    }
  });

  it('lists the newest (or oldest) N of every user without scanning, the same rows as a scan', async () => {
    const t = await setup();
    try {
      const all: UploadMeta[] = [];
      for (let i = 0; i < 12; i++) all.push(await t.put(i % 3 === 0 ? BOB : ALICE, `f${i}.txt`, i + 1));
      const newest = all.map((m) => m.id).reverse();
      assert.deepEqual(
        (await t.same({ limit: 5 })).map((r) => r.id),
        newest.slice(0, 5),
      );
      assert.deepEqual(
        (await t.same({ limit: 3, order: 'oldest' })).map((r) => r.id),
        newest.slice(-3).reverse(),
      );
      assert.deepEqual(
        (await t.same({ limit: 50, since: all[8]!.storedAt })).map((r) => r.id),
        newest.slice(0, 4),
      );
      assert.deepEqual(await t.same({ limit: 5, state: 'imported' }), []);
      // Imported from the Openfire plugin: no uploader, indexed under the empty one.
      const imported = await t.put('', 'imported.bin', 3, randomUUID());
      const rows = await t.same({ limit: 2, state: 'stored' });
      assert.deepEqual(
        rows.map((r) => [r.id, r.state]),
        [
          [imported.id, 'imported'],
          [newest[0], 'stored'],
        ],
      );
      assert.deepEqual(
        (await t.same({ limit: 5, state: 'imported' })).map((r) => r.id),
        [imported.id],
      );
    } finally {
      await t.cleanup();
    }
  });

  it('keeps only the first N while walking many entries, in either order', async () => {
    const t = await setup();
    try {
      const all: UploadMeta[] = [];
      for (let i = 0; i < 150; i++) all.push(await t.put(`user${i % 7}@example.org`, `f${i}.txt`));
      const newest = all.map((m) => m.id).reverse();
      assert.deepEqual(
        (await t.same({ limit: 3 })).map((r) => r.id),
        newest.slice(0, 3),
      );
      assert.deepEqual(
        (await t.same({ limit: 2, order: 'oldest' })).map((r) => r.id),
        [all[0]!.id, all[1]!.id],
      );
      assert.deepEqual(
        (await t.same({ limit: 2, before: all[100]!.storedAt })).map((r) => r.id),
        [all[99]!.id, all[98]!.id],
      );
    } finally {
      await t.cleanup();
    }
  });

  it('skips index entries whose upload is gone and still fills the limit from older ones', async () => {
    const t = await setup();
    try {
      const all: UploadMeta[] = [];
      for (let i = 0; i < 8; i++) all.push(await t.put(ALICE, `f${i}.txt`));
      // Removed behind the index's back (by hand, or a crash before the index write).
      for (const m of all.slice(5)) assert.ok(await t.store.delete(m.id));
      const rows = await t.same({ limit: 2 });
      assert.deepEqual(
        rows.map((r) => r.id),
        [all[4]!.id, all[3]!.id],
      );
      assert.deepEqual(
        (await t.same({ user: ALICE, limit: 2 })).map((r) => r.id),
        [all[4]!.id, all[3]!.id],
      );
    } finally {
      await t.cleanup();
    }
  });

  it('scans the repository when the index does not list every upload, or for the whole listing', async () => {
    const t = await setup();
    try {
      await t.put(ALICE, 'one.txt');
      await assert.rejects(t.rows(t.deps(t.noScan, false), { user: ALICE }), /scanned/);
      await assert.rejects(t.rows(t.deps(t.noScan, false), { limit: 1 }), /scanned/);
      await assert.rejects(t.rows(t.deps(t.noScan, true), {}), /scanned/);
      assert.deepEqual(await t.rows(t.deps(t.noScan, true), { state: 'pending' }), []);
    } finally {
      await t.cleanup();
    }
  });
});
