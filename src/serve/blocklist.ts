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
import type { CommandOperations } from '../xmpp/commands.ts';

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
    takeDown: (request) => runTakedown(blocklist, holder, request),
  };
}

/** The takedown the admin API and the ad-hoc command run; the client's mistakes as AdminRequestError. */
async function runTakedown(
  blocklist: ServeBlocklist,
  holder: TakedownHolder,
  { target, note, by }: { target: string; note?: string; by: string },
): Promise<{
  sha256: string;
  added: boolean;
  removed: { id: string; size: number }[];
  hashed: number;
  failed: { id: string; error: string }[];
}> {
  const parsed = takedownTarget(target);
  if (!parsed) throw new AdminRequestError(400, `not an upload URL, upload id or sha256: ${JSON.stringify(target)}`);
  if (!holder.deps) throw new Error('serve is still starting');
  try {
    const result = await takeDown(holder.deps, parsed, { by, ...(note ? { note } : {}) });
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
}

/**
 * The admins' ad-hoc command "Take down by URL" (xmpp/commands.ts) onto the same takedown as the
 * admin API's.
 *
 * @example
 * const operations = { ...uploads, takeDown: commandTakedown(blocklist, holder) };
 */
export function commandTakedown(blocklist: ServeBlocklist, holder: TakedownHolder): CommandOperations['takeDown'] {
  return async (target, by, note) => {
    try {
      const done = await runTakedown(blocklist, holder, { target, by, ...(note ? { note } : {}) });
      return { kind: 'done', ...done, failed: done.failed.map((f) => f.id) };
    } catch (err) {
      if (err instanceof AdminRequestError && err.status === 400) return { kind: 'not-a-target' };
      if (err instanceof AdminRequestError && err.status === 404)
        return { kind: 'no-such-upload', message: err.message };
      throw err;
    }
  };
}
