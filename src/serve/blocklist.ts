/**
 * The blocklist in serve: the repository's list (src/blocklist), the cached view every upload is
 * checked against, the inspector that refuses blocked content, and the admin API's routes onto
 * the same takedown that `fileupload blocklist add` runs.
 */
import type { Logger } from '../log.ts';
import type { OpenedStorage } from '../repository/open.ts';
import type { AdminBlocklist } from '../status/admin-server.ts';
import { createBlocklistInspector } from '../blocklist/inspect.ts';
import { BLOCKLIST_MAX_AGE, openBlocklist } from '../blocklist/open.ts';
import { BlocklistView, type BlocklistStore } from '../blocklist/store.ts';
import { NoSuchUploadError, takeDown, takedownTarget, type TakedownDeps } from '../blocklist/takedown.ts';
import type { UploadInspector } from '../storage/store.ts';

/** The blocklist as serve holds it. */
export interface ServeBlocklist {
  store: BlocklistStore;
  view: BlocklistView;
  inspector: UploadInspector;
  logger: Logger;
}

/**
 * Opens the repository's blocklist for serve.
 *
 * @example
 * const blocklist = await openServeBlocklist(storage, logger.child({ component: 'blocklist' }));
 */
export async function openServeBlocklist(storage: OpenedStorage, logger: Logger): Promise<ServeBlocklist> {
  const store = await openBlocklist(storage);
  const view = new BlocklistView(store, { maxAge: BLOCKLIST_MAX_AGE[storage.store.kind], logger });
  const inspector = createBlocklistInspector({ hashes: () => view.hashes(), logger });
  return { store, view, inspector, logger };
}

/** The takedown's dependencies, set once the repository's ledger is open. */
export interface TakedownHolder {
  deps?: TakedownDeps;
  /** Told the bytes a takedown removed (serve's usage figure). */
  onRemoved?: (bytes: number) => void;
}

/** An error the admin API answers with its status. */
class AdminRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The admin API's view of the blocklist: the entries, and the takedown (whose hash this serve
 * then checks at once, without waiting for its next look at the list).
 *
 * @example
 * startAdminServers({ ..., blocklist: adminBlocklist(blocklist, holder) });
 */
export function adminBlocklist(blocklist: ServeBlocklist, holder: TakedownHolder): AdminBlocklist {
  return {
    entries: async () => (await blocklist.store.read()).entries,
    async takeDown({ target, note, by }) {
      const parsed = takedownTarget(target);
      if (!parsed)
        throw new AdminRequestError(400, `not an upload URL, upload id or sha256: ${JSON.stringify(target)}`);
      if (!holder.deps) throw new Error('serve is still starting');
      try {
        const result = await takeDown(holder.deps, parsed, { by, note });
        holder.onRemoved?.(result.removed.reduce((sum, m) => sum + m.size, 0));
        return {
          sha256: result.sha256,
          added: result.added,
          removed: result.removed.map((m) => ({ id: m.id, size: m.size })),
          hashed: result.hashed,
          failed: result.failed,
        };
      } catch (err) {
        if (err instanceof NoSuchUploadError) throw new AdminRequestError(404, err.message);
        throw err;
      } finally {
        blocklist.view.invalidate();
      }
    },
  };
}
