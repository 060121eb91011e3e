import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log.ts';
import { componentLeasePath, createComponentLease, type ComponentLease, type LeaseView } from './component-lease.ts';

async function withRepo(f: (repo: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'component-lease-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const lease = (repo: string, nodeName: string, timing = { lease: 400, heartbeat: 50 }): ComponentLease =>
  createComponentLease({ path: componentLeasePath(repo), nodeName, logger: silentLogger, ...timing });

const until = async (what: string, check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('exactly one node holds the lease; the others see who', async () => {
  await withRepo(async (repo) => {
    const nodes = ['node1', 'node2', 'node3'].map((n) => lease(repo, n));
    try {
      const answers = await Promise.all(nodes.map((n) => n.shouldConnect()));
      assert.equal(answers.filter(Boolean).length, 1);
      const holder = nodes[answers.indexOf(true)]!;
      assert.deepEqual(
        [holder.view.holding, holder.view.holder],
        [true, ['node1', 'node2', 'node3'][answers.indexOf(true)]],
      );
      // The standbys learn the holder's name from the lease when they ask again.
      for (const n of nodes) if (n !== holder) assert.equal(await n.shouldConnect(), false);
      for (const n of nodes) assert.equal(n.view.holder, holder.view.holder);
      assert.equal(await holder.shouldConnect(), true, 'the holder keeps it');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});

test('a released lease goes to the next node that asks; a closed lease is never taken again', async () => {
  await withRepo(async (repo) => {
    const a = lease(repo, 'a');
    const b = lease(repo, 'b');
    try {
      assert.equal(await a.shouldConnect(), true);
      assert.equal(await b.shouldConnect(), false);
      await a.release();
      assert.equal(a.view.holding, false);
      assert.equal(await b.shouldConnect(), true);
      await a.close();
      await b.release();
      assert.equal(await a.shouldConnect(), false, 'closed');
    } finally {
      await a.close();
      await b.close();
    }
    assert.deepEqual(await readdir(join(repo, 'cluster')), [], 'nothing left behind');
  });
});

test('a holder whose lease was taken over learns it and fires lost', async () => {
  await withRepo(async (repo) => {
    const a = lease(repo, 'a');
    const views: LeaseView[] = [];
    let lost = 0;
    a.on('lost', () => lost++).on('change', (v) => views.push(v));
    try {
      assert.equal(await a.shouldConnect(), true);
      // Another node replaced the lease (as after a takeover while a was paused).
      await writeFile(
        componentLeasePath(repo),
        JSON.stringify({
          host: 'h',
          machine: 'other/boot/pid',
          pid: 1,
          command: 'b',
          started: Date.now(),
          heartbeat: Date.now(),
          token: 'other',
        }),
      );
      await until('lost', () => lost === 1);
      assert.equal(a.view.holding, false);
      assert.equal(await a.shouldConnect(), false);
      assert.equal(a.view.holder, 'b');
      assert.deepEqual(
        views.map((v) => [v.holder, v.holding]),
        [
          ['a', true],
          [null, false],
          ['b', false],
        ],
      );
    } finally {
      await a.close();
    }
  });
});

test('a lease that is no longer renewed (holder paused or gone on another machine) is taken over after the lease time', async () => {
  await withRepo(async (repo) => {
    const b = lease(repo, 'b');
    try {
      const started = Date.now();
      await mkdir(join(repo, 'cluster'));
      // A holder on another machine that stopped renewing 100 ms ago.
      await writeFile(
        componentLeasePath(repo),
        JSON.stringify({
          host: 'h',
          machine: 'other/boot/pid',
          pid: 1,
          command: 'a',
          started,
          heartbeat: started - 100,
          token: 'a-token',
        }),
      );
      assert.equal(await b.shouldConnect(), false);
      assert.equal(b.view.holder, 'a');
      await until('takeover', () => Date.now() - started > 400);
      assert.equal(await b.shouldConnect(), true);
      assert.equal(b.view.holder, 'b');
    } finally {
      await b.close();
    }
  });
});

test('the holder renews: a live holder is never taken over', async () => {
  await withRepo(async (repo) => {
    // A roomy lease (heartbeat 100 ms) so that a busy test machine cannot make it lapse.
    const timing = { lease: 1500, heartbeat: 100 };
    const a = lease(repo, 'a', timing);
    const b = lease(repo, 'b', timing);
    let lost = 0;
    a.on('lost', () => lost++);
    try {
      assert.equal(await a.shouldConnect(), true);
      for (let i = 0; i < 25; i++) {
        await new Promise((r) => setTimeout(r, 100)); // 2.5 s: longer than the lease
        assert.equal(await b.shouldConnect(), false);
      }
      assert.equal(lost, 0);
      assert.equal(await a.shouldConnect(), true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('an unreachable shared folder means standing by, not connecting', async () => {
  await withRepo(async (repo) => {
    await writeFile(join(repo, 'cluster'), 'a file where the folder should be');
    const a = lease(repo, 'a');
    try {
      assert.equal(await a.shouldConnect(), false);
      assert.deepEqual([a.view.holder, a.view.holding], [null, false]);
    } finally {
      await a.close();
    }
  });
});
