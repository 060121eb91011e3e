/**
 * The cluster's shared configuration in the S3 bucket (`{s3Prefix}cluster/openfire.xml`), for
 * clusters whose nodes share nothing but the bucket. Same document format as on a folder.
 *
 * Writes are read-modify-write with a precondition: `If-Match: <ETag read>` (or `If-None-Match: *`
 * when there is no document yet), retried on a lost race, so two `config set` on two nodes at
 * once both land and neither overwrites the other's change. A PUT is atomic: readers see the old
 * or the new document. version() is the ETag (one HEAD), which is what the nodes poll.
 */
import {
  parseOpenfireXml,
  readProperty,
  setProperty,
  unsetProperty,
  EMPTY_DOCUMENT,
  type XmlDocument,
} from '../../config/openfire-xml.ts';
import { changeObject, type ConditionalObjects } from '../../storage/s3/conditional.ts';
import { recordRead, type SharedConfigStore } from './store.ts';

/**
 * The shared configuration as one object of the bucket.
 *
 * @example
 * const store = new S3SharedConfigStore(new S3ConditionalObjects(connection), 'fu/cluster/openfire.xml');
 * await store.set('plugin.httpfileupload.maxFileSize', '100M');
 */
export class S3SharedConfigStore implements SharedConfigStore {
  readonly location: string;
  readonly key: string;
  readonly #objects: ConditionalObjects;

  constructor(objects: ConditionalObjects, key: string) {
    this.#objects = objects;
    this.key = key;
    this.location = objects.location + key;
  }

  async read(): Promise<{ doc: XmlDocument | undefined; version: string }> {
    const o = await this.#objects.get(this.key);
    const version = o?.etag ?? 'absent';
    const doc = o && o.text.replace(/^\uFEFF/, '').trim() !== '' ? parseOpenfireXml(o.text, this.location) : undefined;
    recordRead(this.location, version);
    return { doc, version };
  }

  async version(): Promise<string> {
    return (await this.#objects.etag(this.key)) ?? 'absent';
  }

  async set(dotted: string, value: string): Promise<void> {
    await this.#change((text) => setProperty(text ?? EMPTY_DOCUMENT, dotted, value));
  }

  async unset(dotted: string): Promise<boolean> {
    let removed = false;
    await this.#change((text) => {
      if (text === undefined) return undefined;
      const next = unsetProperty(text, dotted);
      removed = next !== text;
      return removed ? next : undefined;
    });
    return removed;
  }

  async setIfAbsent(dotted: string, value: string): Promise<string> {
    let result = value;
    await this.#change((text) => {
      const existing =
        text !== undefined && text.trim() !== ''
          ? readProperty(parseOpenfireXml(text, this.location), dotted)?.trim()
          : undefined;
      if (existing) {
        result = existing;
        return undefined;
      }
      result = value;
      return setProperty(text && text.trim() !== '' ? text : EMPTY_DOCUMENT, dotted, value);
    });
    return result;
  }

  /**
   * Applies `edit` to the current text (undefined: no document) and writes the result
   * conditionally; `edit` returning undefined means "nothing to write". A malformed document is
   * reported (ConfigSyntaxError from the parse in `edit`) and never overwritten.
   */
  async #change(edit: (text: string | undefined) => string | undefined): Promise<void> {
    await changeObject(this.#objects, this.key, 'application/xml', (text) => {
      if (text !== undefined && text.trim() !== '') parseOpenfireXml(text, this.location);
      return edit(text);
    });
  }
}
