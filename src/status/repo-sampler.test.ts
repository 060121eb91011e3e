import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveState } from './live.ts';
import { filesystemFigures, startRepoSampler } from './repo-sampler.ts';

test('measures the filesystem and the usage into the live state; a failure keeps the last figures', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-sampler-'));
  const live = new LiveState();
  let fail = false;
  const errors: unknown[] = [];
  const sampler = startRepoSampler({
    live,
    repo: dir,
    usage: async () => {
      if (fail) throw new Error('index unreadable');
      return { bytes: 1234, files: 5 };
    },
    onError: (err) => errors.push(err),
  });
  try {
    await sampler.sample();
    const fs = await filesystemFigures(dir);
    const r = live.snapshot().repo;
    assert.equal(r.bytes, 1234);
    assert.equal(r.files, 5);
    assert.ok(r.freeBytes !== null && r.freeBytes > 0 && Math.abs(r.freeBytes - fs.freeBytes) < 64 << 20);
    assert.equal(r.totalBytes, fs.totalBytes);
    assert.ok(r.updatedAt !== null);
    fail = true;
    await sampler.sample();
    assert.equal(errors.length, 1);
    assert.equal(live.snapshot().repo.bytes, 1234);
  } finally {
    sampler.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('without usage (or off a filesystem) the unknown figures stay null', async () => {
  const live = new LiveState();
  const sampler = startRepoSampler({ live, usage: async () => ({ bytes: 10 }) });
  await sampler.sample();
  sampler.stop();
  assert.deepEqual(
    { ...live.snapshot().repo, updatedAt: 0 },
    { bytes: 10, files: null, freeBytes: null, totalBytes: null, updatedAt: 0 },
  );
});
