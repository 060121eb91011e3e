import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log.ts';
import { testSettings } from '../../test/support/http-kit.ts';
import { componentLeasePath, type LeaseView } from './component-lease.ts';
import { createClusterNode, type LeasedComponent } from './node.ts';
import { FsSharedConfigStore } from './shared-config/fs.ts';

/** Records what the cluster node asks of the component. */
class FakeComponent extends EventEmitter implements LeasedComponent {
  calls: string[] = [];
  start(): void {
    this.calls.push('start');
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
    await new Promise((r) => setTimeout(r, 20));
  }
  override on(event: 'offline', listener: (failure: { message: string }) => void): this {
    return super.on(event, listener);
  }
}

async function withRepo(f: (repo: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cluster-node-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const until = async (what: string, check: () => boolean): Promise<void> => {
  const deadline = Date.now() + 15_000; // generous: the suite runs three files at once on two cores
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const takeOver = (repo: string) =>
  writeFile(
    componentLeasePath(repo),
    JSON.stringify({
      host: 'h',
      machine: 'other/boot/pid',
      pid: 1,
      command: 'node2',
      started: Date.now(),
      heartbeat: Date.now(),
      token: 'other',
    }),
  );

test('losing the lease disconnects the component and puts it back into standby; the status follows', async () => {
  await withRepo(async (repo) => {
    const node = createClusterNode({
      settings: testSettings({ fileRepo: repo, cluster: true, nodeName: 'node1' }),
      logger: silentLogger,
      lease: 400,
      heartbeat: 50,
    });
    const component = new FakeComponent();
    const views: LeaseView[] = [];
    node.attach({ component, live: { componentHolder: (v) => views.push(v) }, reload: async () => {} });
    try {
      assert.equal(await node.componentOptions.hooks.shouldConnect(), true);
      assert.equal(node.componentOptions.standbyInterval, 50);
      await takeOver(repo);
      await until('restart', () => component.calls.join() === 'stop,start');
      assert.deepEqual(
        views.map((v) => [v.holder, v.holding]),
        [
          [null, false],
          ['node1', true],
          [null, false],
        ],
      );
      assert.equal(await node.componentOptions.hooks.shouldConnect(), false);
      assert.equal(views.at(-1)?.holder, 'node2');
    } finally {
      await node.stop();
    }
  });
});

test('a holder whose connection failed gives the lease back', async () => {
  await withRepo(async (repo) => {
    const node = createClusterNode({
      settings: testSettings({ fileRepo: repo, cluster: true, nodeName: 'node1' }),
      logger: silentLogger,
    });
    const component = new FakeComponent();
    node.attach({ component, live: { componentHolder: () => {} }, reload: async () => {} });
    try {
      assert.equal(await node.componentOptions.hooks.shouldConnect(), true);
      component.emit('offline', { message: 'connection refused' });
      await until('release', () => !node.lease.view.holding && !existsSync(componentLeasePath(repo)));
      const other = createClusterNode({
        settings: testSettings({ fileRepo: repo, cluster: true, nodeName: 'node2' }),
        logger: silentLogger,
      });
      assert.equal(await other.componentOptions.hooks.shouldConnect(), true);
      await other.stop();
    } finally {
      await node.stop();
    }
  });
});

test('stop() after a lost lease leaves the component stopped and the lease free', async () => {
  await withRepo(async (repo) => {
    const node = createClusterNode({
      settings: testSettings({ fileRepo: repo, cluster: true, nodeName: 'node1' }),
      logger: silentLogger,
      lease: 400,
      heartbeat: 50,
    });
    const component = new FakeComponent();
    node.attach({ component, live: { componentHolder: () => {} }, reload: async () => {} });
    assert.equal(await node.componentOptions.hooks.shouldConnect(), true);
    await takeOver(repo);
    await until('lost', () => component.calls.length > 0);
    await node.stop(); // while the restart is still under way
    assert.equal(component.calls.at(-1), 'stop', `calls: ${component.calls.join()}`);
    assert.equal(await node.componentOptions.hooks.shouldConnect(), false, 'closed');
  });
});

test('a change of the shared configuration calls reload', async () => {
  await withRepo(async (repo) => {
    const store = new FsSharedConfigStore(repo);
    await store.read();
    const node = createClusterNode({
      settings: testSettings({ fileRepo: repo, cluster: true, nodeName: 'node1' }),
      logger: silentLogger,
      configPoll: 20,
    });
    let reloads = 0;
    node.attach({
      component: new FakeComponent(),
      live: { componentHolder: () => {} },
      reload: async () => void (reloads++, await store.read()),
    });
    const keepAlive = setTimeout(() => {}, 10_000);
    try {
      await store.set('plugin.httpfileupload.maxFileSize', '1M');
      await until('reload', () => reloads === 1);
    } finally {
      clearTimeout(keepAlive);
      await node.stop();
    }
  });
});
