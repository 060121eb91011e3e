import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { slotOf, testRadosgw } from '../../../test/support/radosgw.ts';
import { Ledger, type JournalSlot } from '../ledger.ts';
import { parseBatch, paths } from '../names.ts';
import { RepositoryUsage, writeTotal } from '../usage.ts';
import { listSlots, type SlotFilter, type SlotRow } from '../listing.ts';
import type { Store, UploadMeta } from '../../storage/store.ts';
import { S3IndexStore } from './s3.ts';

// One throw-away Ceph + radosgw for the whole file; each test works under its own prefix.
const rgw = testRadosgw();

test('the S3 index stores, lists (paged, folders and entries) and deletes entries', async () => {
  const store = await rgw.store();
  try {
    const index = new S3IndexStore(store.connection, store.layout.index, { pageSize: 2 });
    await index.put('users/ab/stored/1.x');
    await index.put('users/ab/stored/2.y', 'data');
    await index.put('users/ab/stored/3.z');
    await index.put('users/cd/stored/1.x');
    await index.put('total', '{"bytes":1}');
    const names = async (folder: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const n of index.list(folder)) out.push(n);
      return out.sort();
    };
    assert.deepEqual(await names('users'), ['ab', 'cd']);
    assert.deepEqual(await names('users/ab/stored'), ['1.x', '2.y', '3.z']);
    assert.deepEqual(await names('nothing'), []);
    assert.equal((await index.get('users/ab/stored/2.y'))?.toString(), 'data');
    assert.equal((await index.get('users/ab/stored/1.x'))?.length, 0);
    assert.equal(await index.get('users/ab/stored/9'), undefined);
    assert.equal(await index.delete('users/ab/stored/2.y'), true);
    assert.equal(await index.delete('users/ab/stored/2.y'), false);
    assert.deepEqual(await names('users/ab/stored'), ['1.x', '3.z']);
    await assert.rejects(index.put('../escape'), RangeError);
    const s3 = await rgw.client();
    try {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.layout.index }));
      assert.ok(
        (out.Contents ?? []).every((o) => o.Key?.startsWith(store.layout.index)),
        'everything under {prefix}index/',
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: `${store.layout.index}total` }));
      assert.equal(head.ContentLength, 11);
    } finally {
      s3.destroy();
    }
  } finally {
    await store.close();
  }
});

describe('the inventory ledger in the bucket (batched pending slots and deltas)', () => {
  test('slots recorded together share a batch object (one per batch, no open segment); listing pages through batches; forget adds tombstones, batches untouched', async () => {
    const store = await rgw.store();
    await store.open();
    try {
      const index = new S3IndexStore(store.connection, store.layout.index, { pageSize: 2 });
      assert.equal('append' in index, false, 'S3 has no append: the journal writes an object per batch');
      const ledger = new Ledger(index);
      const together = Array.from({ length: 5 }, () => slotOf({ size: 100 }));
      await Promise.all(together.map((s) => ledger.recordSlotIssued(s)));
      const alone = [slotOf({ size: 100 }), slotOf({ size: 100 })];
      for (const s of alone) await ledger.recordSlotIssued(s);
      const batchNames = async (): Promise<string[]> => {
        const out: string[] = [];
        for await (const n of index.list('pending')) out.push(n);
        return out.sort();
      };
      const batches = await batchNames();
      assert.equal(batches.length, 3, '5 slots at once + 2 one by one: 3 batch objects');
      assert.ok(
        batches.every((n) => parseBatch(n)),
        `sealed batch names only: ${batches.join(', ')}`,
      );
      const listed = new Map<string, JournalSlot>();
      for await (const p of ledger.pendingSlots()) listed.set(p.id, p);
      assert.deepEqual(
        [...listed.keys()].sort(),
        [...together, ...alone].map((s) => s.id).sort(),
        'three listing pages of 2',
      );
      const sharedBody = await index.get(`pending/${listed.get(together[0]!.id)!.batch}`);

      await ledger.forgetPending([listed.get(together[0]!.id)!, listed.get(together[1]!.id)!]);
      const after: string[] = [];
      for await (const p of ledger.pendingSlots()) after.push(p.id);
      assert.equal(after.length, 5);
      assert.ok(!after.includes(together[0]!.id) && !after.includes(together[1]!.id));
      await ledger.forgetPending([listed.get(alone[0]!.id)!]);
      after.length = 0;
      for await (const p of ledger.pendingSlots()) after.push(p.id);
      assert.ok(!after.includes(alone[0]!.id));
      assert.deepEqual(await batchNames(), batches, 'batch objects untouched, even the one with nothing left');
      assert.deepEqual(await index.get(`pending/${listed.get(together[0]!.id)!.batch}`), sharedBody);
      const tombstones: string[] = [];
      for await (const n of index.list('pending-forgotten')) tombstones.push(n);
      assert.equal(tombstones.length, 3, 'one tombstone object per forgotten slot');
      await ledger.close(); // nothing to seal on S3

      // Uploads of two of the slots: one delta object for both, and they no longer count as pending.
      const now = Date.now();
      await writeTotal(index, { bytes: 0, files: 0, at: now - 60_000 });
      await Promise.all(
        [together[2]!, together[3]!].map((s) =>
          ledger.recordUploadStored({
            id: s.id,
            filename: s.filename,
            size: s.size,
            contentType: 'application/octet-stream',
            uploader: s.uploader,
            issuedAt: s.issuedAt,
            storedAt: now,
            purpose: 'message',
          }),
        ),
      );
      const deltas: string[] = [];
      for await (const n of index.list('usage/delta')) deltas.push(n);
      assert.equal(deltas.length, 1);
      const usage = await new RepositoryUsage(store, index, { slotLifetime: () => 300_000 }).current();
      assert.equal(usage.storedFiles, 2);
      assert.equal(usage.storedBytes, 200);
      // 700 recorded − 200 uploaded: batches keep their names, so forgotten slots (whose URLs
      // still work) count until their batch expires.
      assert.equal(usage.pendingBytes, 500);
    } finally {
      await store.close();
    }
  });
});

test('slots ls on S3 lists one user’s and the newest uploads from the index (paged) without listing the bucket’s uploads', async () => {
  const store = await rgw.store();
  try {
    const ledger = new Ledger(new S3IndexStore(store.connection, store.layout.index, { pageSize: 2 }));
    const now = Date.now();
    // As a repair pass (purge) leaves it: the index may be trusted to list every upload.
    await ledger.index.put(paths.repaired, JSON.stringify({ at: now }) + '\n');
    const metas: UploadMeta[] = [];
    for (let i = 0; i < 6; i++) {
      const s = slotOf({ size: 10 + i, uploader: i % 2 === 0 ? 'alice@example.org' : 'bob@example.org' });
      const meta = await store.write(
        { ...s, contentType: 'text/plain' },
        (async function* () {
          yield new Uint8Array(s.size);
        })(),
        { storedAt: now - 10_000 + i * 1000 },
      );
      await ledger.recordUploadStored(meta, { perUserQuota: true });
      metas.push(meta);
    }
    const noScan = {
      stat: (id: string) => store.stat(id),
      list: () => {
        throw new Error('the repository was scanned');
      },
    } as unknown as Store;
    const rows = async (filter: SlotFilter): Promise<string[]> => {
      const out: string[] = [];
      const deps = { store: noScan, ledger, now, maxAge: undefined, maxAgePurposes: [], indexed: true };
      for await (const line of listSlots(deps, filter)) out.push((JSON.parse(line) as SlotRow).id);
      return out;
    };
    const ids = metas.map((m) => m.id).reverse();
    assert.deepEqual(await rows({ user: 'Alice@example.org' }), [ids[1], ids[3], ids[5]]);
    assert.deepEqual(await rows({ limit: 3 }), ids.slice(0, 3));
    assert.deepEqual(await rows({ limit: 2, order: 'oldest' }), [ids[5], ids[4]]);
  } finally {
    await store.close();
  }
});
