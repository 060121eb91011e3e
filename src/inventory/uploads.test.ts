import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../storage/fs/index.ts';
import { newSlotId } from '../slots/id.ts';
import type { UploadMeta } from '../storage/store.ts';
import { FsIndexStore } from './index-store/fs.ts';
import { Ledger } from './ledger.ts';
import { quotaUse, removeUserUploads, uploadStatistics, userUploads, type UploadsSettings } from './uploads.ts';

const DAY = 86_400_000;
const ALICE = 'alice@example.org';
const CAROL = 'carol@example.org';

/** A real fs store and index in a temp folder; `perUser` turns on a per-user quota (the index path). */
async function setup(perUser: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-uploads-'));
  const store = new FsStore(dir, { durable: false });
  await store.open();
  const ledger = new Ledger(new FsIndexStore(join(dir, 'index')));
  const settings: UploadsSettings = {
    maxAge: 30 * DAY,
    maxAgePurposes: ['message'],
    userQuota: perUser ? 1_000_000 : undefined,
    dailyQuota: undefined,
    globalQuota: undefined,
  };
  const deps = { store, ledger, settings: () => settings };
  let at = Date.now() - 10_000;
  const put = async (uploader: string, filename: string, size = 10): Promise<UploadMeta> => {
    const id = newSlotId();
    at += 1000;
    await store.write(
      { id, filename, size, contentType: 'text/plain', uploader, issuedAt: at, purpose: 'message' },
      (async function* () {
        yield new Uint8Array(size);
      })(),
      { storedAt: at },
    );
    const meta = (await store.stat(id))!;
    await ledger.recordUploadStored(meta, { perUserQuota: perUser });
    return meta;
  };
  const cleanup = async () => {
    await ledger.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { deps, store, ledger, put, cleanup };
}

for (const perUser of [true, false]) {
  describe(`a user's uploads (${perUser ? 'listed by the index' : 'scanned from the store'})`, () => {
    it('lists only the user’s uploads, newest first, a page at a time, with expiry', async () => {
      const t = await setup(perUser);
      try {
        const a1 = await t.put(ALICE, 'one.txt', 10);
        await t.put(CAROL, 'carol.txt', 5);
        const a2 = await t.put(ALICE, 'two.txt', 20);
        const a3 = await t.put(ALICE, 'three.txt', 30);
        const first = await userUploads(t.deps, 'Alice@Example.org'.toLowerCase(), 0, 2);
        assert.deepEqual(
          first.uploads.map((u) => u.filename),
          ['three.txt', 'two.txt'],
        );
        assert.equal(first.total, 3);
        assert.equal(first.bytes, 60);
        assert.equal(first.uploads[0]!.expires, a3.storedAt + 30 * DAY);
        const second = await userUploads(t.deps, ALICE, 2, 2);
        assert.deepEqual(
          second.uploads.map((u) => u.id),
          [a1.id],
        );
        const use = await quotaUse(t.deps, ALICE);
        assert.deepEqual(use.stored, { bytes: 60, files: 3, limit: perUser ? 1_000_000 : undefined });
        assert.equal(use.daily.bytes, 60);
        assert.ok(a2);
      } finally {
        await t.cleanup();
      }
    });

    it('removes only the user’s own uploads: another user’s id is missing and stays', async () => {
      const t = await setup(perUser);
      try {
        const mine = await t.put(ALICE, 'mine.txt');
        const theirs = await t.put(CAROL, 'theirs.txt');
        const out = await removeUserUploads(t.deps, ALICE, [mine.id, theirs.id, newSlotId()]);
        assert.deepEqual(
          out.removed.map((r) => r.id),
          [mine.id],
        );
        assert.equal(out.missing.length, 2);
        assert.equal(await t.store.stat(mine.id), undefined);
        assert.ok(await t.store.stat(theirs.id));
        assert.equal((await userUploads(t.deps, ALICE, 0, 10)).total, 0);
        // Deleted within the day: still counted by the daily quota, no longer stored.
        const use = await quotaUse(t.deps, ALICE);
        assert.equal(use.stored.bytes, 0);
        assert.equal(use.daily.bytes, 10);
      } finally {
        await t.cleanup();
      }
    });

    it('removes all of a user’s uploads and nobody else’s', async () => {
      const t = await setup(perUser);
      try {
        await t.put(ALICE, 'a.txt');
        await t.put(ALICE, 'b.txt');
        const theirs = await t.put(CAROL, 'c.txt');
        const out = await removeUserUploads(t.deps, ALICE, 'all');
        assert.equal(out.removed.length, 2);
        assert.equal((await userUploads(t.deps, ALICE, 0, 10)).total, 0);
        assert.ok(await t.store.stat(theirs.id));
      } finally {
        await t.cleanup();
      }
    });
  });
}

describe('upload statistics', () => {
  it('names the top uploaders from the index, most bytes first', async () => {
    const t = await setup(true);
    try {
      await t.put(ALICE, 'a.txt', 10);
      await t.put(CAROL, 'c.txt', 50);
      await t.put(CAROL, 'd.txt', 50);
      const s = await uploadStatistics(t.deps);
      assert.deepEqual(s.topUploaders, [
        { jid: CAROL, uploads: 2, bytes: 100 },
        { jid: ALICE, uploads: 1, bytes: 10 },
      ]);
      assert.deepEqual(s.quotas, { user: 1_000_000, daily: undefined, global: undefined });
    } finally {
      await t.cleanup();
    }
  });
});

describe('removing all of a user’s uploads', () => {
  it('forgets her pending slots too (their URLs refused), reported apart from the uploads', async () => {
    const t = await setup(true);
    try {
      const stored = await t.put(ALICE, 'stored.txt');
      const id = newSlotId();
      const now = Date.now();
      await t.ledger.recordSlotIssued({
        id,
        filename: 'pending.txt',
        size: 7,
        contentType: undefined,
        uploader: ALICE,
        issuedAt: now,
        expiresAt: now + 300_000,
        purpose: 'message',
      });
      await t.ledger.close();
      const items: string[] = [];
      const out = await removeUserUploads(t.deps, ALICE, 'all', {
        onItem: (i) => items.push(`${i.state} ${i.outcome} ${i.filename}`),
      });
      assert.deepEqual(
        out.removed.map((r) => r.id),
        [stored.id],
      );
      assert.deepEqual(out.forgotten, [id]);
      assert.deepEqual(items.sort(), ['pending removed pending.txt', 'stored removed stored.txt']);
      await assert.rejects(
        t.store.write(
          {
            id,
            filename: 'pending.txt',
            size: 1,
            contentType: 'text/plain',
            uploader: ALICE,
            issuedAt: now,
            purpose: 'message',
          },
          (async function* () {
            yield new Uint8Array(1);
          })(),
        ),
        (err: Error) => err.name === 'UploadRemovedError',
      );
    } finally {
      await t.cleanup();
    }
  });
});
