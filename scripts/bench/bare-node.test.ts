import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBareNode } from './bare-node.ts';
import { putMany } from './http-client.ts';

test('the bare node server stores each PUT body whole under its own name and answers 201', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bench-bare-test-'));
  const bare = await startBareNode(root);
  try {
    const urls = Array.from({ length: 40 }, (_, i) => `http://127.0.0.1:${bare.port}/f${i}`);
    const r = await putMany(urls, 70_000, 8, AbortSignal.timeout(10_000));
    assert.deepEqual(
      { ok: r.ok, failed: r.failed, statuses: r.statuses },
      { ok: 40, failed: 0, statuses: { 201: 40 } },
    );
    const names = readdirSync(root).sort();
    assert.equal(names.length, 40, 'one file per upload, no temporary file left');
    assert.ok(names.every((n) => !n.startsWith('.')));
    assert.deepEqual(readFileSync(join(root, names[0]!)), Buffer.alloc(70_000, 0x63));
  } finally {
    await bare.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('the bare node server refuses what is not a PUT, and a store it cannot write answers 500', async () => {
  const root = join(mkdtempSync(join(tmpdir(), 'bench-bare-test-')), 'missing');
  const bare = await startBareNode(root);
  try {
    const get = await fetch(`http://127.0.0.1:${bare.port}/x`);
    assert.equal(get.status, 405);
    const put = await fetch(`http://127.0.0.1:${bare.port}/x`, { method: 'PUT', body: 'abc' });
    assert.equal(put.status, 500);
  } finally {
    await bare.stop();
    rmSync(join(root, '..'), { recursive: true, force: true });
  }
});
