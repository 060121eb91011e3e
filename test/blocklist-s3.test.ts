/** The blocklist suite (blocklist-suite.ts) on a bucket of a throw-away radosgw. */
import { S3IndexStore } from '../src/inventory/index-store/s3.ts';
import { S3ConditionalObjects } from '../src/storage/s3/conditional.ts';
import { S3BlocklistStore } from '../src/blocklist/s3.ts';
import { BLOCKLIST_NAME } from '../src/blocklist/fs.ts';
import { testRadosgw } from './support/radosgw.ts';
import { blocklistSuite } from './blocklist-suite.ts';

const rgw = testRadosgw();

blocklistSuite('s3', async () => {
  const store = await rgw.store();
  await store.open({ create: true });
  return {
    store,
    index: new S3IndexStore(store.connection, store.layout.index),
    blocklist: () =>
      new S3BlocklistStore(new S3ConditionalObjects(store.connection), store.layout.prefix + BLOCKLIST_NAME),
    close: async () => {},
  };
});
