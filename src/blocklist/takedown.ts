/**
 * Taking content down: one function that `fileupload blocklist add`, the admin API and the
 * admins' ad-hoc command share. Given an upload (its URL or id) it hashes the upload's bytes;
 * given a sha256 it takes that. The hash goes on the blocklist first (so no new copy is published
 * from then on, on any node), then every stored upload with those bytes is removed for good
 * (inventory/removal.ts: a tombstone where a slot is still live, so its PUT URL answers 410 and
 * its GET 410 "removed"). Candidates are the uploads of the same size, from the store's listing;
 * only those are read and hashed — never the whole repository, unless a bare sha256 comes
 * without its size.
 */
import type { Logger } from '../log.ts';
import { isStoredId } from '../slots/id.ts';
import { UploadRemovedError } from '../storage/errors.ts';
import type { Store, UploadMeta } from '../storage/store.ts';
import { liveSlots, removeForGood } from '../inventory/removal.ts';
import type { Ledger } from '../inventory/ledger.ts';
import { normalizeSha256 } from './list.ts';
import { addToBlocklist, type BlocklistStore } from './store.ts';
import { sha256OfChunks } from './inspect.ts';

/** What to take down: an upload, or content by its hash (and, to narrow the search, its size). */
export type TakedownTarget = { id: string } | { sha256: string; size?: number };

/**
 * Reads what an admin names: an upload URL (GET or PUT URL, any host: the id is the path segment
 * before the file name), a bare upload id, or a sha256 in hex. Undefined for anything else.
 *
 * @example
 * takedownTarget('https://upload.example.org:443/q3W0n7V4uXy1Z2a_bC-dEfGh/cat.jpg'); // { id: 'q3W0n7V4uXy1Z2a_bC-dEfGh' }
 * takedownTarget('E3B0C442…B855'); // { sha256: 'e3b0c442…b855' }
 */
export function takedownTarget(text: string): TakedownTarget | undefined {
  const trimmed = text.trim();
  const sha256 = normalizeSha256(trimmed);
  if (sha256 !== undefined) return { sha256 };
  if (isStoredId(trimmed)) return { id: trimmed };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const segments = url.pathname.split('/');
  if (segments.length < 3) return undefined;
  const raw = segments[segments.length - 2]!;
  // The Openfire plugin's UUIDs are stored in lower case, whatever case a URL spells them in.
  const id = /^[0-9A-Fa-f-]{36}$/.test(raw) ? raw.toLowerCase() : raw;
  return isStoredId(id) ? { id } : undefined;
}

/**
 * The upload named is not stored (never was, or was removed already): nothing was changed.
 *
 * @example
 * if (err instanceof NoSuchUploadError) reply(404, err.message);
 */
export class NoSuchUploadError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`no stored upload ${id}`);
    this.name = 'NoSuchUploadError';
    this.id = id;
  }
}

export interface TakedownDeps {
  store: Store;
  ledger: Ledger;
  blocklist: BlocklistStore;
  logger?: Logger;
  now?: () => number;
}

/** Who takes it down and why: kept in the blocklist entry. */
export interface TakedownRequest {
  by: string;
  note?: string;
}

/** What a takedown did. */
export interface TakedownResult {
  sha256: string;
  /** False when the hash was listed already (its earlier entry stays). */
  added: boolean;
  /** The uploads removed (the one named first, when it was named). */
  removed: UploadMeta[];
  /** Uploads read and hashed to find the copies. */
  hashed: number;
  /** Copies found but not removed (each logged), e.g. a storage error. */
  failed: { id: string; error: string }[];
}

/**
 * Blocks the content of `target` and removes every stored upload of it. Throws
 * NoSuchUploadError when an id names no stored upload.
 *
 * @example
 * const r = await takeDown({ store, ledger, blocklist }, { id }, { by: 'root@host', note: 'DMCA 2030-17' });
 * console.log(r.sha256, r.removed.map((m) => m.id));
 */
export async function takeDown(
  deps: TakedownDeps,
  target: TakedownTarget,
  request: TakedownRequest,
): Promise<TakedownResult> {
  const { store, ledger, blocklist, logger } = deps;
  const now = deps.now ?? Date.now;
  let sha256: string;
  let size: number | undefined;
  let hashed = 0;
  let named: UploadMeta | undefined;
  if ('id' in target) {
    const stored = await store.read(target.id).catch((err: unknown) => {
      if (err instanceof UploadRemovedError) return undefined; // removed already
      throw err;
    });
    if (!stored) throw new NoSuchUploadError(target.id);
    sha256 = await sha256OfChunks(stored.body);
    named = stored.meta;
    size = named.size;
    hashed++;
  } else {
    sha256 = target.sha256;
    size = target.size;
  }
  const added = await addToBlocklist(blocklist, {
    sha256,
    added: new Date(now()).toISOString(),
    by: request.by,
    note: request.note ?? '',
  });
  logger?.warn('content blocked', { sha256, ...('id' in target ? { id: target.id } : {}), by: request.by });

  // Copies: same size, then same hash. The upload named is one, listed or not.
  const copies: UploadMeta[] = named ? [named] : [];
  for await (const meta of store.list()) {
    if (size !== undefined && meta.size !== size) continue;
    if (meta.id === named?.id) continue;
    const stored = await store.read(meta.id).catch(() => undefined);
    if (!stored) continue; // gone meanwhile
    hashed++;
    if ((await sha256OfChunks(stored.body)) === sha256) copies.push(stored.meta);
  }
  const slots = await liveSlots(
    ledger,
    copies.map((m) => m.id),
    now(),
  );
  const removed: UploadMeta[] = [];
  const failed: { id: string; error: string }[] = [];
  for (const meta of copies) {
    try {
      const slot = slots.get(meta.id);
      const gone = await removeForGood(
        { store, ledger, now: now() },
        { id: meta.id, upload: meta, ...(slot !== undefined ? { slot } : {}) },
      );
      if (gone !== undefined) {
        removed.push(gone);
        logger?.warn('upload taken down', { id: meta.id, sha256 });
      }
    } catch (err) {
      failed.push({ id: meta.id, error: (err as Error).message });
      logger?.error('could not take an upload down', { id: meta.id, sha256, err });
    }
  }
  return { sha256, added, removed, hashed, failed };
}
