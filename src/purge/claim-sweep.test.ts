import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimVerdict, CLAIM_SWEEP_MARGIN, ORPHAN_CLAIM_AGE, sweepClaims } from './claim-sweep.ts';
import { purgeOnce } from './job.ts';
import { fsLockSpace } from '../lock/fs.ts';
import { type LockSpace, LockLostError, type HeldLock, type LockEntry, type LockOwner } from '../lock/lock.ts';
import { s3LockSpace } from '../lock/s3.ts';
import { CLAIMS_FOLDER, sharedSlotClaims } from '../lock/slot-claims.ts';
import { MemoryConditionalObjects, S3ConditionalObjects } from '../storage/s3/conditional.ts';
import { FsStore } from '../storage/fs/index.ts';
import { S3Store } from '../storage/s3/index.ts';
import { newSlotId } from '../slots/id.ts';
import { testRadosgw } from '../../test/support/radosgw.ts';

const NOW = 1_800_000_000_000;
const owner = (over: Partial<LockOwner> = {}): LockOwner => ({
  host: 'h',
  machine: 'm',
  pid: 1,
  command: 'upload',
  started: NOW,
  heartbeat: NOW,
  token: 't',
  ...over,
});
const entry = (over: Partial<LockEntry> = {}): LockEntry => ({
  state: 'held',
  owner: owner(),
  stale: false,
  modified: NOW,
  ...over,
});
const PAST = NOW - CLAIM_SWEEP_MARGIN - 1;

describe('claimVerdict', () => {
  test('a live claim stays, however long its slot has been expired', () => {
    assert.deepEqual(claimVerdict(entry({ owner: owner({ until: NOW - 365 * 86_400_000 }) }), NOW), {
      remove: false,
      why: 'live',
    });
  });
  test('released, stale and damaged claims go once their slot expired more than the margin ago, not before', () => {
    for (const [state, stale, why] of [
      ['released', false, 'released'],
      ['held', true, 'stale'],
      ['damaged', true, 'orphan'],
    ] as const) {
      assert.deepEqual(claimVerdict(entry({ state, stale, owner: owner({ until: PAST }) }), NOW), {
        remove: true,
        why,
      });
      assert.deepEqual(claimVerdict(entry({ state, stale, owner: owner({ until: NOW - CLAIM_SWEEP_MARGIN }) }), NOW), {
        remove: false,
        why: 'slot valid',
      });
      assert.deepEqual(claimVerdict(entry({ state, stale, owner: owner({ until: NOW + 60_000 }) }), NOW), {
        remove: false,
        why: 'slot valid',
      });
    }
  });
  test('an entry without an expiry (damaged, a breaker file) goes once unchanged for ORPHAN_CLAIM_AGE', () => {
    const orphan = (modified: number | undefined): LockEntry =>
      entry({ state: 'damaged', owner: undefined, stale: true, modified });
    assert.deepEqual(claimVerdict(orphan(NOW - ORPHAN_CLAIM_AGE - 1), NOW), { remove: true, why: 'orphan' });
    assert.deepEqual(claimVerdict(orphan(NOW - ORPHAN_CLAIM_AGE), NOW), { remove: false, why: 'recent' });
    assert.deepEqual(claimVerdict(orphan(undefined), NOW), { remove: false, why: 'recent' });
    // A released claim written without an expiry is judged by its age as well.
    assert.deepEqual(
      claimVerdict(entry({ state: 'released', owner: owner(), modified: NOW - ORPHAN_CLAIM_AGE - 1 }), NOW),
      { remove: true, why: 'orphan' },
    );
  });
});

const names = async (locks: LockSpace): Promise<string[]> => {
  const out: string[] = [];
  for await (const n of locks.list(CLAIMS_FOLDER)) out.push(n);
  return out.sort();
};

/**
 * Takes a claim in a separate process, then kills it with SIGKILL: what a node killed mid-upload
 * leaves behind.
 */
async function claimAndDie(dir: string, id: string, until: number): Promise<void> {
  const code =
    `const { sharedSlotClaims } = await import(${JSON.stringify(new URL('../lock/slot-claims.ts', import.meta.url).href)});` +
    `const { fsLockSpace } = await import(${JSON.stringify(new URL('../lock/fs.ts', import.meta.url).href)});` +
    `const c = await sharedSlotClaims(fsLockSpace(${JSON.stringify(dir)})).claim(${JSON.stringify(id)}, ${until});` +
    `process.stdout.write(c ? 'held\\n' : 'refused\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await Promise.race([
      once(child.stdout, 'data'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('child did not claim')), 20_000)),
    ])) as [Buffer];
    assert.equal(line.toString().trim(), 'held');
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}

describe('sweepClaims on the fs store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-sweep-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const locks = fsLockSpace(dir);
  const claimPath = (id: string) => join(dir, CLAIMS_FOLDER, `${id}.claim`);

  test('a released claim leaves no file; a killed holder leaves its claim, which the sweep removes once its slot expired', async () => {
    assert.deepEqual(
      await sweepClaims(locks),
      { listed: 0, removed: 0, failed: 0 },
      'no claims/ folder yet: nothing to do',
    );
    const claims = sharedSlotClaims(locks);
    const done = await claims.claim(newSlotId(), Date.now() + 60_000);
    await done!.release();
    assert.deepEqual(readdirSync(join(dir, CLAIMS_FOLDER)), [], 'a released claim file is gone at once');

    const expired = newSlotId();
    const valid = newSlotId();
    await claimAndDie(dir, expired, Date.now() - CLAIM_SWEEP_MARGIN - 60_000);
    await claimAndDie(dir, valid, Date.now() + 60_000);
    // A live holder whose slot expired long ago (an upload that began in time and still runs).
    const running = newSlotId();
    const live = await claims.claim(running, Date.now() - 3_600_000);
    assert.ok(live);

    const report = await sweepClaims(locks);
    assert.deepEqual(report, { listed: 3, removed: 1, failed: 0 });
    assert.equal(existsSync(claimPath(expired)), false, "the killed upload's claim of an expired slot is gone");
    assert.equal(existsSync(claimPath(valid)), true, 'a slot still valid keeps its claim (a retry takes it over)');
    assert.equal(existsSync(claimPath(running)), true, 'a live claim stays');
    // The retry of the still-valid slot takes the dead node's claim over and leaves nothing.
    const retry = await claims.claim(valid, Date.now() + 60_000);
    assert.ok(retry, 'a dead pid on this machine makes the claim stale at once');
    await retry.release();
    await live.release();
    assert.deepEqual(readdirSync(join(dir, CLAIMS_FOLDER)), []);
  });

  test('a breaker file left behind and a damaged claim go after ORPHAN_CLAIM_AGE; a dry run removes nothing', async () => {
    mkdirSync(join(dir, CLAIMS_FOLDER), { recursive: true });
    const old = (Date.now() - ORPHAN_CLAIM_AGE - 60_000) / 1000;
    const breaker = `${claimPath(newSlotId())}.break`;
    const damaged = claimPath(newSlotId());
    const fresh = `${claimPath(newSlotId())}.break`;
    writeFileSync(breaker, 'token');
    writeFileSync(damaged, '{"half');
    writeFileSync(fresh, 'token');
    utimesSync(breaker, old, old);
    utimesSync(damaged, old, old);
    assert.deepEqual(await sweepClaims(locks, { dryRun: true }), { listed: 3, removed: 2, failed: 0 });
    assert.equal(readdirSync(join(dir, CLAIMS_FOLDER)).length, 3);
    assert.deepEqual(await sweepClaims(locks), { listed: 3, removed: 2, failed: 0 });
    assert.deepEqual(readdirSync(join(dir, CLAIMS_FOLDER)), [fresh.split('/').at(-1)]);
    rmSync(fresh);
  });

  test('purge runs the sweep under its lock and reports it', async () => {
    const store = new FsStore(dir);
    await store.open();
    try {
      await claimAndDie(dir, newSlotId(), Date.now() - CLAIM_SWEEP_MARGIN - 60_000);
      const settings = {
        slotLifetime: 300_000,
        maxAge: undefined,
        maxAgePurposes: [],
        maxRepoSize: undefined,
        purgeInterval: 0,
        minUploadRate: 4096,
        maxFileSize: 52_428_800,
      };
      const dry = await purgeOnce({ settings, repo: dir, store, dryRun: true });
      assert.deepEqual(dry.claims, { listed: 1, removed: 1, failed: 0 });
      const summary = await purgeOnce({ settings, repo: dir, store });
      assert.deepEqual(summary.claims, { listed: 1, removed: 1, failed: 0 });
      assert.deepEqual(readdirSync(join(dir, CLAIMS_FOLDER)), []);
    } finally {
      await store.close();
    }
  });
});

describe('sweepClaims on S3 (in-memory conditional objects)', () => {
  test('released claims stay until their slot expired; then they go; a live claim stays', async () => {
    const objects = new MemoryConditionalObjects();
    const locks = s3LockSpace(objects, 'fu/');
    const claims = sharedSlotClaims(locks);
    const [a, b, c] = [newSlotId(), newSlotId(), newSlotId()];
    await (await claims.claim(a, Date.now() - CLAIM_SWEEP_MARGIN - 1000))!.release();
    await (await claims.claim(b, Date.now() + 60_000))!.release();
    const live = await claims.claim(c, Date.now() - 3_600_000);
    assert.equal((await names(locks)).length, 3, 'a release leaves a "released" object');
    assert.deepEqual(await sweepClaims(locks), { listed: 3, removed: 1, failed: 0 });
    assert.deepEqual(await names(locks), [`claims/${b}.claim`, `claims/${c}.claim`].sort());
    await live!.release();
    assert.deepEqual(await sweepClaims(locks), { listed: 2, removed: 1, failed: 0 });
    assert.deepEqual(await names(locks), [`claims/${b}.claim`]);
  });
});

describe('sweepClaims, many claims and a lost lock (in-memory conditional objects)', () => {
  const expiredClaims = async (n: number) => {
    const locks = s3LockSpace(new MemoryConditionalObjects(), 'fu/');
    const claims = sharedSlotClaims(locks);
    for (let i = 0; i < n; i++)
      await (await claims.claim(newSlotId(), Date.now() - CLAIM_SWEEP_MARGIN - 1000))!.release();
    return locks;
  };

  test('a few at a time, every one of 200 claims is looked at and removed', async () => {
    const locks = await expiredClaims(200);
    assert.deepEqual(await sweepClaims(locks, { concurrency: 7 }), { listed: 200, removed: 200, failed: 0 });
    assert.deepEqual(await names(locks), []);
  });

  test('a listing that fails is counted as a failure, not thrown: the purge before it keeps its result', async () => {
    const locks = await expiredClaims(3);
    const broken: LockSpace = {
      ...locks,
      list: async function* () {
        yield 'claims/x.claim';
        throw new Error('connect ECONNREFUSED');
      },
    };
    assert.deepEqual(await sweepClaims(broken), { listed: 1, removed: 0, failed: 1 });
  });

  test('a lost maintenance lock stops the sweep with LockLostError before any removal', async () => {
    const locks = await expiredClaims(40);
    const lock = {
      assertHeld: () => {
        throw new LockLostError('locks/purge.lock');
      },
    } as unknown as HeldLock;
    await assert.rejects(sweepClaims(locks, { lock }), LockLostError);
    assert.equal((await names(locks)).length, 40);
  });
});

describe('sweepClaims on a real radosgw', () => {
  const rgw = testRadosgw();
  let store: S3Store;
  before(async () => {
    store = await rgw.store({ prefix: 'fu/' });
  });

  test('every upload leaves a released claim object; purge removes those of expired slots and keeps the rest', async () => {
    const locks = s3LockSpace(new S3ConditionalObjects(store.connection), store.layout.prefix);
    const claims = sharedSlotClaims(locks);
    const expired = Array.from({ length: 5 }, () => newSlotId());
    for (const id of expired) await (await claims.claim(id, Date.now() - CLAIM_SWEEP_MARGIN - 1000))!.release();
    const valid = newSlotId();
    await (await claims.claim(valid, Date.now() + 60_000))!.release();
    const running = newSlotId();
    const live = await claims.claim(running, Date.now() - 3_600_000);
    assert.ok(live);
    assert.equal((await names(locks)).length, 7);

    await store.open();
    const settings = {
      slotLifetime: 300_000,
      maxAge: undefined,
      maxAgePurposes: [],
      maxRepoSize: undefined,
      purgeInterval: 0,
      minUploadRate: 4096,
      maxFileSize: 52_428_800,
    };
    const summary = await purgeOnce({ settings, repo: (await rgw.server()).dir, store, locks });
    assert.deepEqual(summary.claims, { listed: 7, removed: 5, failed: 0 });
    assert.deepEqual(await names(locks), [`claims/${valid}.claim`, `claims/${running}.claim`].sort());
    // The kept claims still work: the valid slot can be claimed again, the running one cannot.
    const again = await claims.claim(valid, Date.now() + 60_000);
    assert.ok(again);
    assert.equal(await claims.claim(running), undefined);
    await again.release();
    await live.release();
  });
});
