/**
 * The blocklist in the bucket (`{s3Prefix}blocklist.json`), for nodes that share nothing but the
 * bucket. Same document as in a folder. Writes are read-modify-write with a precondition
 * (`If-Match: <ETag read>`, or `If-None-Match: *` when there is no list yet), retried on a lost
 * race, so two additions at once on two nodes both land. version() is the ETag (one HEAD).
 */
import { PreconditionFailedError, type ConditionalObjects } from '../storage/s3/conditional.ts';
import { parseBlocklist, serializeBlocklist, type BlocklistEntry } from './list.ts';
import type { BlocklistStore } from './store.ts';

/** Bounded retries of a write that keeps losing races (each retry re-reads). */
const MAX_TRIES = 20;

/**
 * The blocklist as one object of the bucket.
 *
 * @example
 * const store = new S3BlocklistStore(new S3ConditionalObjects(connection), 'fu/blocklist.json');
 */
export class S3BlocklistStore implements BlocklistStore {
  readonly location: string;
  readonly key: string;
  readonly #objects: ConditionalObjects;

  constructor(objects: ConditionalObjects, key: string) {
    this.#objects = objects;
    this.key = key;
    this.location = objects.location + key;
  }

  async read(): Promise<{ entries: BlocklistEntry[]; version: string }> {
    const o = await this.#objects.get(this.key);
    return { entries: parseBlocklist(o?.text, this.location), version: o?.etag ?? 'absent' };
  }

  async version(): Promise<string> {
    return (await this.#objects.etag(this.key)) ?? 'absent';
  }

  async change(edit: (entries: BlocklistEntry[]) => BlocklistEntry[] | undefined): Promise<BlocklistEntry[]> {
    for (let i = 0; i < MAX_TRIES; i++) {
      const current = await this.#objects.get(this.key);
      const entries = parseBlocklist(current?.text, this.location);
      const next = edit(entries);
      if (next === undefined) return entries;
      const text = serializeBlocklist(next);
      try {
        if (current) await this.#objects.putIfMatch(this.key, current.etag, text, 'application/json');
        else await this.#objects.putIfAbsent(this.key, text, 'application/json');
        return next;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
      }
    }
    throw new Error(`${this.location}: changed by others ${MAX_TRIES} times in a row; try again`);
  }
}
