/**
 * Where things live in the bucket (pure). Under the configured prefix:
 *
 *   {prefix}.fileupload-repository   marker: this prefix belongs to fileupload (maintenance checks it)
 *   {prefix}files/{id}               one published upload; its metadata is the object's x-amz-meta-fu-*
 *   {prefix}slots/{id}.json          direct mode: the slot record written when the slot was issued
 *   {prefix}index/…                  the inventory index (src/inventory/index-store/s3.ts)
 *
 * Keys are only ever built from ids that pass isStoredId (slot records: isSlotId), so no key
 * outside these folders can be named through an id.
 */
import { isSlotId, isStoredId } from '../../slots/id.ts';
import { InvalidIdError } from '../errors.ts';

/** Name of the marker object (same name as the fs repository's marker file). */
export const MARKER_OBJECT = '.fileupload-repository';

/**
 * The configured prefix as used in keys: "" or ending in exactly one "/". Throws RangeError for a
 * prefix that could not be a folder of its own (leading "/", "." or ".." segments, control chars).
 *
 * @example
 * normalizePrefix('chat/uploads'); // 'chat/uploads/'
 * normalizePrefix('');             // ''
 */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (trimmed.startsWith('/') || /[\x00-\x1f\x7f\\]/.test(trimmed))
    throw new RangeError(`invalid S3 key prefix ${JSON.stringify(prefix)}`);
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw new RangeError(`invalid S3 key prefix ${JSON.stringify(prefix)}`);
  }
  return `${trimmed}/`;
}

/** The key layout of one store (prefix already normalized). */
export interface KeyLayout {
  readonly prefix: string;
  readonly marker: string;
  /** Folder of published uploads (a ListObjectsV2 prefix). */
  readonly files: string;
  /** Folder of direct-mode slot records. */
  readonly slots: string;
  /** Folder of the inventory index. */
  readonly index: string;
}

/**
 * The layout under a (raw, configured) prefix.
 *
 * @example
 * keyLayout('fu').files; // 'fu/files/'
 */
export function keyLayout(prefix: string): KeyLayout {
  const p = normalizePrefix(prefix);
  return { prefix: p, marker: p + MARKER_OBJECT, files: `${p}files/`, slots: `${p}slots/`, index: `${p}index/` };
}

/**
 * The object key of an upload; InvalidIdError for anything that is not a stored-upload id.
 *
 * @example
 * uploadKey(keyLayout(''), id); // 'files/' + id
 */
export function uploadKey(layout: KeyLayout, id: string): string {
  if (!isStoredId(id)) throw new InvalidIdError(id);
  return layout.files + id;
}

/**
 * The key of a direct-mode slot record; InvalidIdError for anything that is not a slot id.
 *
 * @example
 * slotRecordKey(keyLayout(''), id); // 'slots/' + id + '.json'
 */
export function slotRecordKey(layout: KeyLayout, id: string): string {
  if (!isSlotId(id)) throw new InvalidIdError(id);
  return `${layout.slots}${id}.json`;
}

/**
 * The id of a key listed under files/ or slots/, or undefined for anything else (foreign objects
 * in the bucket are ignored, never touched).
 *
 * @example
 * idOfKey(layout, layout.files + id);          // id
 * idOfKey(layout, layout.slots + id + '.json'); // id
 * idOfKey(layout, layout.files + 'x/y');        // undefined
 */
export function idOfKey(layout: KeyLayout, key: string): string | undefined {
  let rest: string;
  if (key.startsWith(layout.files)) rest = key.slice(layout.files.length);
  else if (key.startsWith(layout.slots) && key.endsWith('.json'))
    rest = key.slice(layout.slots.length, -'.json'.length);
  else return undefined;
  return key.startsWith(layout.files) ? (isStoredId(rest) ? rest : undefined) : isSlotId(rest) ? rest : undefined;
}

/**
 * An unfinished upload as purge names it: an incomplete multipart upload (`{id}.{uploadId}.mpu`,
 * the upload id base64url-encoded) or the record of a direct-mode slot that was never used
 * (`{id}.slot`). Names start with the id, like the fs store's temp files.
 */
export type PartialName = { kind: 'multipart'; id: string; uploadId: string } | { kind: 'slot'; id: string };

/**
 * Formats a partial's name.
 *
 * @example
 * partialName({ kind: 'slot', id }); // `${id}.slot`
 */
export function partialName(p: PartialName): string {
  return p.kind === 'slot' ? `${p.id}.slot` : `${p.id}.${Buffer.from(p.uploadId, 'utf8').toString('base64url')}.mpu`;
}

/**
 * Parses a partial's name; undefined for anything this store never produced.
 *
 * @example
 * parsePartialName(`${id}.slot`); // { kind: 'slot', id }
 * parsePartialName('../files/x'); // undefined
 */
export function parsePartialName(name: string): PartialName | undefined {
  const slot = /^([A-Za-z0-9_-]{24})\.slot$/.exec(name);
  if (slot) return { kind: 'slot', id: slot[1]! };
  // The id of a multipart upload may be an imported one (an import into the bucket that stopped).
  const mpu = /^([A-Za-z0-9_-]{24}|[A-Za-z0-9_-]{27}|[0-9a-f-]{36})\.([A-Za-z0-9_-]{1,1400})\.mpu$/.exec(name);
  if (!mpu || !isStoredId(mpu[1]!)) return undefined;
  const uploadId = Buffer.from(mpu[2]!, 'base64url').toString('utf8');
  if (uploadId === '' || /[\x00-\x1f]/.test(uploadId)) return undefined;
  return { kind: 'multipart', id: mpu[1]!, uploadId };
}
