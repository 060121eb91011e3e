/**
 * The blocklist of the configured storage: the file in the repository folder, or the object under
 * the bucket's prefix — the same place for serve, the CLI and every node.
 */
import type { S3Store } from '../storage/s3/index.ts';
import type { Store } from '../storage/store.ts';
import { BLOCKLIST_NAME, FsBlocklistStore } from './fs.ts';
import type { BlocklistStore } from './store.ts';

/**
 * How long serve trusts its last look at the blocklist's version (ms): an entry added on any node
 * holds for every upload checked that much later. A look is an open + fstat on a folder, a HEAD
 * on a bucket (which costs a request), and happens only when an upload asks.
 */
export const BLOCKLIST_MAX_AGE = { fs: 1000, s3: 5000 } as const;

/**
 * The blocklist beside the opened storage (src/repository/open.ts's result).
 *
 * @example
 * const blocklist = await openBlocklist(await openStorage(settings, { create: false }));
 */
export async function openBlocklist(storage: {
  store: Store;
  location: string;
  s3?: S3Store;
}): Promise<BlocklistStore> {
  if (!storage.s3) return new FsBlocklistStore(storage.location);
  const [{ S3ConditionalObjects }, { S3BlocklistStore }] = await Promise.all([
    import('../storage/s3/conditional.ts'),
    import('./s3.ts'),
  ]);
  return new S3BlocklistStore(
    new S3ConditionalObjects(storage.s3.connection),
    storage.s3.layout.prefix + BLOCKLIST_NAME,
  );
}
