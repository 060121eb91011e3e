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
import { parseBatch, parseOpenSegment } from './names.ts';
import { createRetention } from './retention.ts';

test('stop() seals the pending journal segment serve was appending to', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'retention-stop-'));
  const store = new FsStore(repo, { durable: false });
  await store.open();
  try {
    const settings = settingsFromLayers([defaultsLayer()]);
    const retention = createRetention({ settings: () => settings, repo, store, logger: silentLogger, schedule: false });
    const now = Date.now();
    const slots = [1, 2, 3].map((size) => ({
      id: newSlotId(), filename: 'f.bin', size, contentType: 'application/octet-stream', uploader: 'alice@example.org',
      issuedAt: now, expiresAt: now + settings.slotLifetime, purpose: 'message' as const,
    }));
    await Promise.all(slots.map((s) => retention.onSlotIssued(s)));
    const pending = join(repo, 'index', 'pending');
    assert.ok((await readdir(pending)).every((n) => parseOpenSegment(n)), 'appended to an open segment while running');
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
