import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsLockSpace } from './fs.ts';
import { sharedSlotClaims, CLAIMS_FOLDER } from './slot-claims.ts';
import { newSlotId } from '../slots/id.ts';

const dir = mkdtempSync(join(tmpdir(), 'fileupload-claims-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('one claim per slot: a second is refused until the first is released', async () => {
  // Two "nodes": two claim sets over the same folder.
  const a = sharedSlotClaims(fsLockSpace(dir));
  const b = sharedSlotClaims(fsLockSpace(dir));
  const id = newSlotId();
  const first = await a.claim(id);
  assert.ok(first);
  assert.equal(await b.claim(id), undefined);
  assert.equal(await a.claim(id), undefined);
  const other = await b.claim(newSlotId());
  assert.ok(other, 'another slot is independent');
  await first.release();
  await first.release(); // idempotent
  const again = await b.claim(id);
  assert.ok(again, 'free again after the release');
  await again.release();
  await other.release();
  assert.deepEqual(readdirSync(join(dir, CLAIMS_FOLDER)), [], 'released claims leave no file');
});

test('a claim left by a crashed node is taken over once stale', async () => {
  const id = newSlotId();
  mkdirSync(join(dir, CLAIMS_FOLDER), { recursive: true });
  const crashed = {
    host: 'gone',
    machine: 'another-machine',
    pid: 1,
    command: 'upload',
    started: 0,
    heartbeat: Date.now() - 120_000,
    token: 'x',
  };
  writeFileSync(join(dir, CLAIMS_FOLDER, `${id}.claim`), JSON.stringify(crashed).padEnd(1024));
  const claim = await sharedSlotClaims(fsLockSpace(dir), { lease: 60_000 }).claim(id);
  assert.ok(claim, 'stale claim taken over');
  await claim.release();
});

test('a fresh claim of another node is respected', async () => {
  const id = newSlotId();
  mkdirSync(join(dir, CLAIMS_FOLDER), { recursive: true });
  const alive = {
    host: 'other',
    machine: 'another-machine',
    pid: 1,
    command: 'upload',
    started: Date.now(),
    heartbeat: Date.now(),
    token: 'y',
  };
  writeFileSync(join(dir, CLAIMS_FOLDER, `${id}.claim`), JSON.stringify(alive).padEnd(1024));
  assert.equal(await sharedSlotClaims(fsLockSpace(dir)).claim(id), undefined);
});
