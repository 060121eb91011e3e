import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireS3Lock, s3LockInfo, s3LockSpace } from './s3.ts';
import { LockHeldError, LockLostError, MAINTENANCE_LOCK } from './lock.ts';
import { MemoryConditionalObjects, S3ConditionalObjects, type ConditionalObjects } from '../storage/s3/conditional.ts';
import { testRadosgw } from '../../test/support/radosgw.ts';

const KEY = 'fu/locks/purge.lock';

describe('S3 lock (in-memory conditional objects)', () => {
  test('one holder; a second acquirer gets LockHeldError naming the holder; release lets the next one in', async () => {
    const objects = new MemoryConditionalObjects();
    const a = await acquireS3Lock(objects, KEY, { command: 'purge' });
    await assert.rejects(
      acquireS3Lock(objects, KEY, { command: 'slots rm' }),
      (err: unknown) => err instanceof LockHeldError && err.owner?.command === 'purge',
    );
    assert.equal((await s3LockInfo(objects, KEY))?.owner?.command, 'purge');
    await a.release();
    assert.equal(await s3LockInfo(objects, KEY), undefined, 'a released lock is free');
    const b = await acquireS3Lock(objects, KEY, { command: 'slots rm' });
    assert.equal(b.owner.command, 'slots rm');
    await b.release();
  });

  test('a lock whose heartbeat is older than the lease is taken over, and its old holder learns it lost it', async () => {
    const objects = new MemoryConditionalObjects();
    let clock = 1_000_000;
    const now = () => clock;
    const a = await acquireS3Lock(objects, KEY, { command: 'a', lease: 1000, heartbeat: 50, now });
    // Same machine and a live pid: only the heartbeat's age makes it stale.
    clock += 1500;
    const b = await acquireS3Lock(objects, KEY, { command: 'b', lease: 1000, heartbeat: 50, now });
    assert.throws(() => a.assertHeld(), LockLostError, 'a paused holder refuses to go on');
    // a's next renewal is refused (the object has b's version): its signal aborts.
    clock += 10;
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(a.signal.aborted);
    assert.doesNotThrow(() => b.assertHeld());
    await a.release(); // must not release b's lock
    assert.equal((await s3LockInfo(objects, KEY, 1000))?.owner?.command, 'b');
    await b.release();
  });

  test('renewals keep a holder fresh across many leases', async () => {
    const objects = new MemoryConditionalObjects();
    const a = await acquireS3Lock(objects, KEY, { command: 'a', lease: 200, heartbeat: 20 });
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotThrow(() => a.assertHeld());
    await assert.rejects(acquireS3Lock(objects, KEY, { command: 'b', lease: 200 }), LockHeldError);
    await a.release();
  });

  test('a damaged lock object counts as held until it is older than the lease', async () => {
    const objects = new MemoryConditionalObjects();
    objects.objects.set(KEY, { text: 'garbage', etag: '"x"', lastModified: Date.now() });
    await assert.rejects(acquireS3Lock(objects, KEY, { lease: 60_000 }), LockHeldError);
    objects.objects.set(KEY, { text: 'garbage', etag: '"x"', lastModified: Date.now() - 120_000 });
    const l = await acquireS3Lock(objects, KEY, { lease: 60_000 });
    await l.release();
  });
});

describe('S3 lock on a real radosgw', () => {
  const rgw = testRadosgw();
  let objects: ConditionalObjects;
  before(async () => {
    const store = await rgw.store({ prefix: 'fu' });
    objects = new S3ConditionalObjects(store.connection);
  });

  test('of 12 concurrent acquirers exactly one wins (If-None-Match: *)', async () => {
    const key = 'fu/locks/race.lock';
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => acquireS3Lock(objects, key, { command: `c${i}` })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof LockHeldError));
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireS3Lock>>>).value.release();
  });

  test('a stale lock is taken over by exactly one of 12 contenders (If-Match on the ETag read)', async () => {
    const key = 'fu/locks/stale.lock';
    let clock = Date.now();
    const old = await acquireS3Lock(objects, key, { command: 'old', lease: 1000, heartbeat: 60_000, now: () => clock });
    clock += 5000; // old's heartbeat is now 5 s behind: stale for everyone judging with this clock
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        acquireS3Lock(objects, key, { command: `c${i}`, lease: 1000, heartbeat: 60_000, now: () => clock }),
      ),
    );
    const won = results.filter(
      (r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof acquireS3Lock>>> => r.status === 'fulfilled',
    );
    assert.equal(
      won.length,
      1,
      results.map((r) => (r.status === 'fulfilled' ? 'won' : (r.reason as Error).message)).join('\n'),
    );
    const info = await s3LockInfo(objects, key, 60_000);
    assert.equal(info?.owner?.command, won[0]!.value.owner.command);
    await old.release(); // refused: the object is no longer old's version
    assert.equal((await s3LockInfo(objects, key, 60_000))?.owner?.command, won[0]!.value.owner.command);
    await won[0]!.value.release();
    assert.equal(await s3LockInfo(objects, key), undefined);
  });

  test('renewal by If-Match works on radosgw (its ETag must be sent unquoted) and a LockSpace names the key', async () => {
    const locks = s3LockSpace(objects, 'fu/');
    assert.equal(locks.where(MAINTENANCE_LOCK), `s3://${(await rgw.server()).bucket}/fu/locks/purge.lock`);
    const l = await locks.acquire(MAINTENANCE_LOCK, { command: 'renew', lease: 600, heartbeat: 50 });
    await new Promise((r) => setTimeout(r, 900));
    assert.doesNotThrow(() => l.assertHeld(), 'renewed beyond the lease');
    assert.ok(!l.signal.aborted);
    await assert.rejects(locks.acquire(MAINTENANCE_LOCK, { lease: 600 }), LockHeldError);
    await l.release();
    const again = await locks.acquire(MAINTENANCE_LOCK);
    await again.release();
  });
});

test('renewals that keep failing (store unreachable) abort the signal after half the lease', async () => {
  const objects = new MemoryConditionalObjects();
  const key = 'fu/claims/x.claim';
  const lock = await acquireS3Lock(objects, key, { command: 'upload', lease: 400, heartbeat: 40 });
  const putIfMatch = objects.putIfMatch.bind(objects);
  objects.putIfMatch = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  };
  try {
    for (let i = 0; i < 100 && !lock.signal.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(lock.signal.aborted, 'the holder learns it can no longer count on the lock');
    assert.throws(() => lock.assertHeld(), LockLostError);
  } finally {
    objects.putIfMatch = putIfMatch;
    await lock.release();
  }
});
