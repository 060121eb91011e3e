/**
 * The storage serve runs on: the configured one, opened by src/repository/open.ts (creating what
 * is missing), plus on S3 in direct mode the component hooks that put a presigned S3 URL into
 * each slot and record the slot's metadata in the bucket.
 */
import type { Settings } from '../config/settings.ts';
import { openStorage, type OpenedStorage } from '../repository/open.ts';
import type { Slot } from '../slots/slot.ts';

/** Opened storage, as serve uses it. */
export interface ServeStorage extends OpenedStorage {
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
  const opened = await openStorage(settings(), { create: true, folder: repositoryPath });
  const s3 = opened.s3;
  if (!s3) return opened;
  const direct = (): boolean => settings().s3UploadMode === 'direct';
  return {
    ...opened,
    direct: {
      putUrlFor: async (slot) => (direct() ? s3.presignPut(slot) : undefined),
      onSlotIssued: async (slot) => {
        if (direct()) await s3.recordSlot(slot);
      },
    },
  };
}
