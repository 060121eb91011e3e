import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { watchSharedConfig } from './config-watch.ts';
import { FsSharedConfigStore, sharedConfigPath } from './shared-config/fs.ts';

const P = 'plugin.httpfileupload.';

async function withStore(f: (store: FsSharedConfigStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'config-watch-'));
  try {
    await f(new FsSharedConfigStore(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a change made by another node triggers one reload; no change, no reload', async () => {
  await withStore(async (store) => {
    await store.set(P + 'maxFileSize', '1M');
    await store.read(); // what serve loaded at start
    let reloads = 0;
    const watch = watchSharedConfig({
      store,
      interval: 60_000,
      onChange: async () => void (reloads++, await store.read()),
    });
    try {
      await watch.poll();
      assert.equal(reloads, 0);
      await new FsSharedConfigStore(store.repo).set(P + 'maxFileSize', '2M');
      await watch.poll();
      assert.equal(reloads, 1);
      await watch.poll();
      assert.equal(reloads, 1, 'the reload read the new version');
    } finally {
      watch.stop();
    }
  });
});

test('a change between the start-up read and the first poll is not missed', async () => {
  await withStore(async (store) => {
    await store.read();
    await new FsSharedConfigStore(store.repo).set(P + 'maxFileSize', '2M');
    let reloads = 0;
    const watch = watchSharedConfig({
      store,
      interval: 60_000,
      onChange: async () => void (reloads++, await store.read()),
    });
    try {
      await watch.poll();
      assert.equal(reloads, 1);
    } finally {
      watch.stop();
    }
  });
});

test('a version whose reload failed is not retried until the document changes again', async () => {
  await withStore(async (store) => {
    await store.read();
    await mkdir(dirname(store.location), { recursive: true });
    await writeFile(sharedConfigPath(store.repo), '<jive><broken></jive>');
    let attempts = 0;
    const errors: unknown[] = [];
    // serve.reload() logs and swallows a failed read: so does this stand-in.
    const onChange = async () => {
      attempts++;
      await store.read().catch((err: unknown) => errors.push(err));
    };
    const watch = watchSharedConfig({ store, interval: 60_000, onChange });
    try {
      await watch.poll();
      await watch.poll();
      assert.equal(attempts, 1);
      assert.equal(errors.length, 1);
      await writeFile(sharedConfigPath(store.repo), '<jive></jive>');
      await watch.poll();
      assert.equal(attempts, 2);
    } finally {
      watch.stop();
    }
  });
});

test('the timer polls by itself', async () => {
  await withStore(async (store) => {
    await store.read();
    let resolveChange: () => void = () => {};
    const changed = new Promise<void>((r) => (resolveChange = r));
    const watch = watchSharedConfig({ store, interval: 20, onChange: async () => resolveChange() });
    // Keep the event loop alive while the unref'ed timer does its work.
    const keepAlive = setTimeout(() => {}, 10_000);
    try {
      await store.set(P + 'maxFileSize', '3M');
      await changed;
    } finally {
      clearTimeout(keepAlive);
      watch.stop();
    }
  });
});
