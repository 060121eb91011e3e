/**
 * The blocklist in the bucket (`{s3Prefix}blocklist.json`), for nodes that share nothing but the
 * bucket. Same document as in a folder. Writes are read-modify-write with a precondition
 * (`If-Match: <ETag read>`, or `If-None-Match: *` when there is no list yet), retried on a lost
 * race, so two additions at once on two nodes both land. version() is the ETag (one HEAD).
 */
import { changeObject, type ConditionalObjects } from '../storage/s3/conditional.ts';
import { parseBlocklist, serializeBlocklist, type BlocklistEntry } from './list.ts';
import type { BlocklistStore } from './store.ts';

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
    let result: BlocklistEntry[] = [];
    await changeObject(this.#objects, this.key, 'application/json', (text) => {
      const entries = parseBlocklist(text, this.location);
      const next = edit(entries);
      result = next ?? entries;
      return next === undefined ? undefined : serializeBlocklist(next);
    });
    return result;
  }
}
