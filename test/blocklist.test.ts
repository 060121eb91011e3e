/** The blocklist suite (blocklist-suite.ts) on a repository folder. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../src/storage/fs/index.ts';
import { FsIndexStore } from '../src/inventory/index-store/fs.ts';
import { FsBlocklistStore } from '../src/blocklist/fs.ts';
import { blocklistSuite } from './blocklist-suite.ts';

blocklistSuite('fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blocklist-'));
  const store = new FsStore(dir);
  await store.open();
  return {
    store,
    index: new FsIndexStore(join(dir, 'index')),
    blocklist: () => new FsBlocklistStore(dir),
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
