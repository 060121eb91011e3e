import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsFromLayers } from '../config/load.ts';
import { defaultsLayer } from '../config/resolve.ts';
import { silentLogger } from '../log.ts';
import { newSlotId } from '../slots/id.ts';
import { FsStore } from '../storage/fs/index.ts';
import { parseBatch, parseOpenSegment } from '../inventory/names.ts';
import { FsIndexStore } from '../inventory/index-store/fs.ts';
import { fsLockSpace } from '../lock/fs.ts';
import { createRetention } from './retention.ts';

test('stop() seals the pending journal segment serve was appending to', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'retention-stop-'));
  const store = new FsStore(repo, { durable: false });
  await store.open();
  try {
    const settings = settingsFromLayers([defaultsLayer()]);
    const retention = createRetention({
      settings: () => settings,
      repo,
      store,
      index: new FsIndexStore(join(repo, 'index')),
      locks: fsLockSpace(repo),
      logger: silentLogger,
      schedule: false,
    });
    const now = Date.now();
    const slots = [1, 2, 3].map((size) => ({
      id: newSlotId(),
      filename: 'f.bin',
      size,
      contentType: 'application/octet-stream',
      uploader: 'alice@example.org',
      issuedAt: now,
      expiresAt: now + settings.slotLifetime,
      purpose: 'message' as const,
    }));
    await Promise.all(slots.map((s) => retention.onSlotIssued(s)));
    const pending = join(repo, 'index', 'pending');
    assert.ok(
      (await readdir(pending)).every((n) => parseOpenSegment(n)),
      'appended to an open segment while running',
    );
    await retention.stop();
    const names = await readdir(pending);
    assert.equal(names.length, 1, names.join(', '));
    const sealed = parseBatch(names[0] as string);
    assert.ok(sealed, `sealed under a batch name: ${names[0]}`);
    assert.deepEqual([sealed.bytes, sealed.count], [6, 3]);
  } finally {
    await store.close();
    await rm(repo, { recursive: true, force: true });
  }
});

test('the default settings: the daily quota is on, and a flood past the request rate is refused before any index write', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'retention-flood-'));
  const store = new FsStore(repo, { durable: false });
  await store.open();
  try {
    const settings = settingsFromLayers([defaultsLayer()]);
    assert.equal(settings.dailyQuota, 10 * settings.maxFileSize, 'daily quota by default');
    const retention = createRetention({
      settings: () => settings,
      repo,
      store,
      index: new FsIndexStore(join(repo, 'index')),
      locks: fsLockSpace(repo),
      logger: silentLogger,
      schedule: false,
    });
    const ctx = { requester: { bare: 'alice@example.org' }, request: { size: 1000 } };
    const userDir = join(repo, 'index', 'users');
    for (let i = 0; i < settings.slotRequestBurst; i++)
      assert.ok((await retention.quotaPolicy(ctx)).ok, `request ${i} of the burst`);
    // Under the daily quota every granted request went through the index (a reservation).
    assert.equal((await readdir(userDir)).length, 1);
    const before = JSON.stringify(
      await readdir(join(userDir, (await readdir(userDir))[0] as string), { recursive: true }),
    );
    const t0 = Date.now();
    for (let i = 0; i < 1000; i++) {
      const d = await retention.quotaPolicy(ctx);
      assert.ok(!d.ok);
      assert.deepEqual(
        [d.refusal.type, d.refusal.condition, d.refusal.slotLimit],
        ['wait', 'resource-constraint', 'rate'],
      );
      assert.ok(
        d.refusal.retryAt !== undefined && d.refusal.retryAt > t0 && d.refusal.retryAt <= Date.now() + 2000,
        'retry when the next token is there',
      );
    }
    assert.equal(
      JSON.stringify(await readdir(join(userDir, (await readdir(userDir))[0] as string), { recursive: true })),
      before,
      'refused requests wrote nothing',
    );
    await retention.stop();
  } finally {
    await store.close();
    await rm(repo, { recursive: true, force: true });
  }
});
