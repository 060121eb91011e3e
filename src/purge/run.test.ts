import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf, testRadosgw } from '../../test/support/radosgw.ts';
import { newSlotId } from '../slots/id.ts';
import { S3Store } from '../storage/s3/index.ts';
import { S3IndexStore } from '../inventory/index-store/s3.ts';
import { Ledger } from '../inventory/ledger.ts';
import { runPurge } from './run.ts';

// One throw-away Ceph + radosgw for the whole file; each test works under its own prefix.
const rgw = testRadosgw();

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

describe('purge on S3 with the index in the bucket', () => {
  test('expired and too old uploads and abandoned slot records go; the rest stays', async () => {
    const store = await rgw.store();
    await store.open();
    try {
      const ledger = new Ledger(new S3IndexStore(store.connection, store.layout.index, { pageSize: 2 }));
      const now = Date.now();
      const up = async (over: Partial<Parameters<S3Store['write']>[0]>) => {
        const m = {
          id: newSlotId(),
          filename: 'f',
          size: 3,
          contentType: 'text/plain',
          uploader: 'a@b',
          issuedAt: now,
          purpose: 'message' as const,
          ...over,
        };
        const stored = await store.write(m, once(Buffer.from('abc')));
        await ledger.recordUploadStored(stored);
        return stored;
      };
      const expired = await up({ purpose: 'ephemeral', expireBefore: now - 1000 });
      const keep = await up({});
      const permanent = await up({ purpose: 'permanent' });
      const abandoned = slotOf({ issuedAt: now - 7_200_000, expiresAt: now - 3_600_000 });
      await store.recordSlot(abandoned);
      const summary = await runPurge({
        store,
        ledger,
        now: now + 10 * 86_400_000,
        policy: {
          maxAge: 86_400_000,
          maxAgePurposes: ['message', 'ephemeral'],
          maxRepoSize: undefined,
          abandonAfter: 300_000,
          sizeGrace: 60_000,
        },
      });
      assert.equal(summary.failed, 0);
      assert.equal(summary.rules.expired.count, 1);
      assert.equal(summary.rules.maxAge.count, 1, 'the message upload is older than maxAge by then');
      assert.equal(summary.rules.abandoned.count, 1);
      assert.equal(await store.stat(expired.id), undefined);
      assert.equal(await store.stat(keep.id), undefined);
      assert.ok(await store.stat(permanent.id), 'permanent uploads are not aged out');
      for await (const p of store.listPartial()) assert.fail(`left: ${p.name}`);
    } finally {
      await store.close();
    }
  });
});
