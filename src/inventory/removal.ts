/**
 * Removal for good (`slots rm`, doctor's probe): an upload and its slot go together, so that
 * neither is listed again and the slot's PUT URL is refused from that moment, on every node.
 *
 * While the slot could still be used (its pending-journal entry has not expired), the removal
 * forgets the slot in the index (`pending-forgotten/{expiresAt}.{id}`, which hides it from
 * `slots ls` on every node) and leaves a tombstone in the store where the upload would be
 * published (Store.tombstone), which the existence check of every PUT meets: 410. Index first:
 * repair (purge) drops the store's tombstone together with the index's record once the slot
 * and any upload of it still running are over, so a crash between the two leaves at worst an
 * index record without a tombstone, never a tombstone nobody drops. A slot that expired needs
 * no tombstone: its URL is refused anyway, and the upload is simply deleted.
 */
import type { Store, UploadMeta } from '../storage/store.ts';
import type { Ledger, PendingSlot } from './ledger.ts';

export interface RemovalDeps {
  store: Store;
  ledger: Ledger;
  /** The instant slot expiry is judged at (ms since epoch). */
  now: number;
}

/** What to remove: an id, its upload's metadata when already read, its slot's journal entry when found. */
export interface RemovalTarget {
  id: string;
  /** The upload as stat() or list() returned it (saves a read when there is no live slot). */
  upload?: UploadMeta;
  /** The id's pending-journal entry (ledger.pendingSlots()), if any. */
  slot?: PendingSlot;
}

/**
 * Removes the upload of `target.id`, if any, and forgets its slot; resolves to the metadata of
 * the upload removed (recorded in the ledger as deleted), undefined when there was none.
 *
 * @example
 * for await (const p of ledger.pendingSlots()) if (p.id === id) slot = p;
 * const removed = await removeForGood({ store, ledger, now: Date.now() }, { id, slot });
 */
export async function removeForGood(deps: RemovalDeps, target: RemovalTarget): Promise<UploadMeta | undefined> {
  const { store, ledger } = deps;
  const { id, slot } = target;
  let removed: UploadMeta | undefined;
  if (slot !== undefined && slot.expiresAt > deps.now) {
    await ledger.forgetPending([slot]);
    removed = await store.tombstone(id);
  } else {
    const meta = target.upload ?? (await store.stat(id));
    if (meta !== undefined && (await store.delete(id))) removed = meta;
  }
  if (removed !== undefined) await ledger.recordUploadDeleted(removed);
  return removed;
}

/**
 * The live pending-journal entries of the given ids (expired ones left out: they need no
 * tombstone), read in one pass over the journal.
 *
 * @example
 * const slots = await liveSlots(ledger, [id], Date.now()); // Map { id → PendingSlot }
 */
export async function liveSlots(ledger: Ledger, ids: Iterable<string>, now: number): Promise<Map<string, PendingSlot>> {
  const wanted = new Set(ids);
  const out = new Map<string, PendingSlot>();
  if (wanted.size === 0) return out;
  for await (const p of ledger.pendingSlots()) {
    if (wanted.has(p.id) && p.expiresAt > now && !out.has(p.id)) out.set(p.id, p);
  }
  return out;
}
