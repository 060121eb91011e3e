/**
 * Ephemeral uploads end to end over the real HTTP endpoint: served before expire-before, 410
 * after it, then deleted by purge (404). The upload hook keeps the inventory index in step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startKit } from '../support/http-kit.ts';
import { userKey } from '../../src/inventory/names.ts';
import { makeRepo } from './fixtures.ts';

test('ephemeral: served until expire-before, then 410, then purged', async () => {
  const repo = await makeRepo();
  const recorded: Promise<void>[] = [];
  const kit = await startKit({
    dir: repo.dir,
    hooks: {
      onUploadFinished: ({ meta }) => void recorded.push(repo.ledger.recordUploadStored(meta, { perUserQuota: true })),
    },
  });
  try {
    const expireBefore = Date.now() + 1500;
    const slot = kit.slot({ purpose: 'ephemeral', expireBefore, size: 5 });
    const put = await fetch(slot.put, { method: 'PUT', body: 'hello' });
    assert.equal(put.status, 201);
    await Promise.all(recorded);
    const stored = await readdir(join(repo.dir, 'index', 'users', userKey('alice@example.org'), 'stored'));
    assert.equal(stored.length, 1);
    assert.match(
      stored[0] ?? '',
      new RegExp(`^\\d{13}\\.${slot.id}\\.5\\.ephemeral\\.${String(expireBefore).padStart(13, '0')}$`),
    );

    const before = await fetch(slot.get);
    assert.equal(before.status, 200);
    assert.equal(await before.text(), 'hello');

    while (Date.now() <= expireBefore) await new Promise((r) => setTimeout(r, 100));
    const gone = await fetch(slot.get);
    assert.equal(gone.status, 410);
    await gone.arrayBuffer();

    const r = await repo.cli('--json', 'purge');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).deletions.map((d: { id: string; rule: string }) => [d.id, d.rule]),
      [[slot.id, 'expired']],
    );
    const after = await fetch(slot.get);
    assert.equal(after.status, 404);
    await after.arrayBuffer();
    assert.deepEqual(await readdir(join(repo.dir, 'index', 'users', userKey('alice@example.org'), 'stored')), []);
  } finally {
    await kit.stop();
    await repo.remove();
  }
});
