/**
 * The storage serve runs on, chosen by `plugin.httpfileupload.storage`: the fs repository folder,
 * or an S3 bucket (the AWS SDK is only loaded for s3). For s3 it also gives the inventory index
 * in the bucket (shared by every node) and, in direct mode, the component hooks that put a
 * presigned S3 URL into each slot and record the slot's metadata in the bucket.
 */
import type { Settings } from '../config/settings.ts';
import type { IndexStore } from '../inventory/index-store.ts';
import type { Slot } from '../slots/slot.ts';
import { FsStore } from '../storage/fs/index.ts';
import { fsLockSpace } from '../lock/fs.ts';
import { type LockSpace } from '../lock/lock.ts';
import type { Store } from '../storage/store.ts';

/** Opened storage, as serve uses it. */
export interface ServeStorage {
  store: Store;
  /** Where the uploads are, for logs (no credentials). */
  location: string;
  /** The index to keep the inventory in; undefined = the fs default under the repository folder. */
  index?: IndexStore;
  /**
   * Where the cross-node locks are (purge, the cluster's component lease): the repository
   * folder, or on S3 the bucket — so an S3 deployment needs no shared folder.
   */
  locks: LockSpace;
  /**
   * Component hooks for direct uploads; they look at s3UploadMode on every slot (it is dynamic),
   * and do nothing in proxy mode. Undefined for fs.
   */
  direct?: {
    putUrlFor(slot: Slot): Promise<string | undefined>;
    onSlotIssued(slot: Slot): Promise<void>;
  };
}

/**
 * Opens the configured storage (checks it is usable; creates the fs layout or the S3 marker).
 * Throws RepositoryError with a message naming the problem.
 *
 * @example
 * const storage = await openServeStorage(() => settings, repository.path);
 */
export async function openServeStorage(settings: () => Settings, repositoryPath: string): Promise<ServeStorage> {
  const s = settings();
  if (s.storage !== 's3') {
    const store = new FsStore(repositoryPath);
    await store.open();
    return { store, location: repositoryPath, locks: fsLockSpace(repositoryPath) };
  }
  const [{ openS3 }, { s3LockSpace }] = await Promise.all([
    import('../storage/s3/settings.ts'),
    import('../lock/s3.ts'),
  ]);
  const { store, index } = await openS3(s);
  const direct = (): boolean => settings().s3UploadMode === 'direct';
  return {
    store,
    location: store.location,
    index,
    locks: s3LockSpace(await store.conditionalObjects(), store.layout.prefix),
    direct: {
      putUrlFor: async (slot) => (direct() ? store.presignPut(slot) : undefined),
      onSlotIssued: async (slot) => {
        if (direct()) await store.recordSlot(slot);
      },
    },
  };
}
