import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockHeldError, LockLostError, isStale, parseOwner, thisMachine, type LockOwner } from './lock.ts';
import { acquireLock, lockInfo } from './fs.ts';

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lock-test-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const foreign = (over: Partial<LockOwner>): LockOwner => ({
  host: 'other-node',
  machine: 'other-node/boot/pid:[1]',
  pid: 1234,
  command: 'purge',
  started: Date.now(),
  heartbeat: Date.now(),
  token: 'tok-foreign',
  ...over,
});

test('a lock file is 0600 and the folder made for it 0700, whatever the umask', async () => {
  await withDir(async (dir) => {
    const old = process.umask(0);
    try {
      const lock = await acquireLock(join(dir, 'locks', 'purge.lock'), { command: 'test' });
      assert.equal((await stat(join(dir, 'locks', 'purge.lock'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'locks'))).mode & 0o777, 0o700);
      await lock.release();
    } finally {
      process.umask(old);
    }
  });
});

test('a held lock refuses a second holder until released', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'locks', 'purge.lock');
    const a = await acquireLock(path, { command: 'purge' });
    await assert.rejects(
      acquireLock(path),
      (err: unknown) => err instanceof LockHeldError && err.owner?.token === a.owner.token,
    );
    a.assertHeld();
    await a.release();
    const b = await acquireLock(path);
    await b.release();
    assert.deepEqual(await readdir(join(dir, 'locks')), []);
  });
});

test('a lock from another node is taken over once its heartbeat is older than the lease', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    await writeFile(path, JSON.stringify(foreign({ heartbeat: Date.now() - 10_000 })));
    await assert.rejects(acquireLock(path, { lease: 60_000 }), LockHeldError);
    const lock = await acquireLock(path, { lease: 5_000 });
    assert.equal(parseOwner(await readFile(path, 'utf8'))?.token, lock.owner.token);
    await lock.release();
    assert.deepEqual(await readdir(dir), [], 'no breaker left behind');
  });
});

test('a lock of a dead process on this machine is taken over at once', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    // pid 2^22 + 1 is above the kernel's pid_max: certainly not running.
    await writeFile(path, JSON.stringify(foreign({ machine: thisMachine(), pid: 4194305 })));
    const lock = await acquireLock(path);
    await lock.release();
    // The same entry with a live pid (ours) is respected.
    await writeFile(path, JSON.stringify(foreign({ machine: thisMachine(), pid: process.pid })));
    await assert.rejects(acquireLock(path), LockHeldError);
  });
});

test('an empty lock file (creator died before writing) is stale only after the lease', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    await writeFile(path, '');
    await assert.rejects(acquireLock(path, { lease: 60_000 }), LockHeldError);
    const lock = await acquireLock(path, { lease: 60_000, now: () => Date.now() + 120_000 });
    await lock.release();
  });
});

test('heartbeats renew the lock; a holder whose lock was taken over learns it', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    const lock = await acquireLock(path, { lease: 400, heartbeat: 20 });
    const first = lock.owner.started;
    for (let i = 0; i < 100 && (parseOwner(await readFile(path, 'utf8'))?.heartbeat ?? 0) === first; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok((parseOwner(await readFile(path, 'utf8'))?.heartbeat ?? 0) > first, 'heartbeat advanced');
    assert.equal(isStale(lock.owner, Date.now(), 400), false);
    // Someone replaces the file (as a takeover after a long pause would).
    await rm(path);
    await writeFile(path, JSON.stringify(foreign({})));
    for (let i = 0; i < 100 && !lock.signal.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(lock.signal.aborted);
    assert.throws(() => lock.assertHeld(), LockLostError);
    await lock.release();
    assert.equal(parseOwner(await readFile(path, 'utf8'))?.token, 'tok-foreign', 'release leaves the new owner alone');
  });
});

test('assertHeld refuses to go on after a pause longer than half the lease', async () => {
  await withDir(async (dir) => {
    let clock = Date.now();
    const lock = await acquireLock(join(dir, 'l'), { lease: 1000, heartbeat: 1_000_000, now: () => clock });
    lock.assertHeld();
    clock += 600;
    assert.throws(() => lock.assertHeld(), LockLostError);
    await lock.release();
  });
});

test('lockInfo tells who holds the lock', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    assert.equal(await lockInfo(path), undefined);
    const lock = await acquireLock(path, { command: 'slots rm' });
    const info = await lockInfo(path);
    assert.equal(info?.owner?.command, 'slots rm');
    assert.equal(info?.stale, false);
    await lock.release();
  });
});

test('only one contender breaks a stale lock at a time; a breaker left by a dead contender expires', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'purge.lock');
    await writeFile(path, JSON.stringify(foreign({ heartbeat: Date.now() - 600_000 })));
    await writeFile(`${path}.break`, 'someone');
    await assert.rejects(acquireLock(path), LockHeldError, 'a fresh breaker means someone else is breaking it');
    const { utimes } = await import('node:fs/promises');
    const old = (Date.now() - 60_000) / 1000;
    await utimes(`${path}.break`, old, old);
    const lock = await acquireLock(path);
    assert.deepEqual((await readdir(dir)).sort(), ['purge.lock']);
    await lock.release();
  });
});
