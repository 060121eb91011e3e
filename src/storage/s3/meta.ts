/**
 * An upload's metadata on S3 (pure): object user metadata (`x-amz-meta-fu-*`), so that one HEAD
 * or GET returns metadata and body together, and — for direct-mode uploads on stores that do not
 * keep metadata from a presigned URL — the slot record JSON written when the slot was issued.
 *
 * Header values must be ASCII: the filename and the uploader are percent-encoded. The size is
 * the object's length and the content type the object's Content-Type, so neither can disagree
 * with what is served.
 */
import { isPurpose, type Purpose, type Slot } from '../../slots/slot.ts';
import type { UploadMeta } from '../store.ts';

/** What an object without a Content-Type gets from S3 and radosgw. */
const S3_DEFAULT_TYPE = 'binary/octet-stream';
const FALLBACK_TYPE = 'application/octet-stream';

/** Version of the metadata layout (`fu-v`). */
export const META_VERSION = '1';

/** The object facts a HEAD or GET returns that metadata is read from. */
export interface ObjectHead {
  /** User metadata, keys lower-case without `x-amz-meta-` (as the AWS SDK returns them). */
  metadata: Record<string, string> | undefined;
  /** Total object size in bytes. */
  size: number;
  contentType: string | undefined;
  lastModified: Date | undefined;
}

/**
 * The user metadata of an upload. `storedAt` is left out for direct-mode presigned URLs (the
 * object's Last-Modified is the publish time then).
 *
 * @example
 * encodeUploadMeta({ id, filename: 'a b.txt', uploader: 'a@b', issuedAt: 1, purpose: 'message', storedAt: 2 });
 * // { 'fu-v': '1', 'fu-id': id, 'fu-filename': 'a%20b.txt', 'fu-uploader': 'a%40b', 'fu-issued': '1', 'fu-purpose': 'message', 'fu-stored': '2' }
 */
export function encodeUploadMeta(
  meta: Pick<UploadMeta, 'id' | 'filename' | 'uploader' | 'issuedAt' | 'purpose' | 'expireBefore'> & {
    storedAt?: number;
  },
): Record<string, string> {
  const out: Record<string, string> = {
    'fu-v': META_VERSION,
    'fu-id': meta.id,
    'fu-filename': encodeURIComponent(meta.filename),
    'fu-uploader': encodeURIComponent(meta.uploader),
    'fu-issued': String(meta.issuedAt),
    'fu-purpose': meta.purpose,
  };
  if (meta.storedAt !== undefined) out['fu-stored'] = String(meta.storedAt);
  if (meta.expireBefore !== undefined) out['fu-expire-before'] = String(meta.expireBefore);
  return out;
}

const int = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\d{1,16}$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
};

const decode = (v: string | undefined): string | undefined => {
  if (v === undefined) return undefined;
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
};

/**
 * The content type to record for an object: its Content-Type, with S3's default for "none sent"
 * read as application/octet-stream.
 *
 * @example
 * objectContentType('binary/octet-stream'); // 'application/octet-stream'
 */
export function objectContentType(contentType: string | undefined): string {
  const t = contentType?.trim();
  return t === undefined || t === '' || t === S3_DEFAULT_TYPE ? FALLBACK_TYPE : t;
}

/**
 * The user metadata of a tombstone: an empty object at an upload's key that says the upload was
 * removed (Store.tombstone), so the HEAD a write already does before its PUT refuses it.
 */
export const TOMBSTONE_METADATA: Readonly<Record<string, string>> = { 'fu-removed': '1' };

/**
 * Whether an object is a tombstone (TOMBSTONE_METADATA).
 *
 * @example
 * isTombstone({ metadata: { 'fu-removed': '1' }, size: 0, contentType: undefined, lastModified: undefined }); // true
 */
export function isTombstone(head: ObjectHead): boolean {
  return head.metadata?.['fu-removed'] === '1';
}

/**
 * The UploadMeta of an object named `id`, or undefined when it carries no (valid) fileupload
 * metadata — an object written by something else, or a direct-mode upload on a store that
 * dropped the presigned metadata (then the slot record supplies it: metaFromRecord).
 *
 * @example
 * const meta = metaFromObject(id, { metadata: out.Metadata, size: out.ContentLength ?? 0, contentType: out.ContentType, lastModified: out.LastModified });
 */
export function metaFromObject(id: string, head: ObjectHead): UploadMeta | undefined {
  const m = head.metadata;
  if (!m || m['fu-v'] !== META_VERSION || m['fu-id'] !== id) return undefined;
  const filename = decode(m['fu-filename']);
  const uploader = decode(m['fu-uploader']);
  const issuedAt = int(m['fu-issued']);
  const purpose = m['fu-purpose'] as Purpose | undefined;
  const storedAt = int(m['fu-stored']) ?? head.lastModified?.getTime();
  const expireRaw = m['fu-expire-before'];
  const expireBefore = int(expireRaw);
  if (
    filename === undefined ||
    uploader === undefined ||
    issuedAt === undefined ||
    storedAt === undefined ||
    purpose === undefined ||
    !isPurpose(purpose) ||
    (expireRaw !== undefined && expireBefore === undefined)
  ) {
    return undefined;
  }
  const meta: UploadMeta = {
    id,
    filename,
    size: head.size,
    contentType: objectContentType(head.contentType),
    uploader,
    issuedAt,
    storedAt,
    purpose,
  };
  if (expireBefore !== undefined) meta.expireBefore = expireBefore;
  return meta;
}

/** What serve records about a direct-mode slot at issue time (`slots/{id}.json`). */
export interface SlotRecord {
  v: 1;
  id: string;
  filename: string;
  size: number;
  contentType?: string;
  uploader: string;
  issuedAt: number;
  expiresAt: number;
  purpose: Purpose;
  expireBefore?: number;
}

/**
 * The record of a slot, as JSON text.
 *
 * @example
 * await put(slotRecordKey(layout, slot.id), encodeSlotRecord(slot));
 */
export function encodeSlotRecord(slot: Slot): string {
  const r: SlotRecord = {
    v: 1,
    id: slot.id,
    filename: slot.filename,
    size: slot.size,
    uploader: slot.uploader,
    issuedAt: slot.issuedAt,
    expiresAt: slot.expiresAt,
    purpose: slot.purpose,
  };
  if (slot.contentType !== undefined) r.contentType = slot.contentType;
  if (slot.expireBefore !== undefined) r.expireBefore = slot.expireBefore;
  return JSON.stringify(r);
}

/**
 * Parses a slot record; undefined when it is not one for `id`.
 *
 * @example
 * const record = decodeSlotRecord(text, id);
 */
export function decodeSlotRecord(text: string, id: string): SlotRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
  if (
    r.v !== 1 ||
    r.id !== id ||
    typeof r.filename !== 'string' ||
    !isInt(r.size) ||
    typeof r.uploader !== 'string' ||
    !isInt(r.issuedAt) ||
    !isInt(r.expiresAt) ||
    !isPurpose(r.purpose) ||
    (r.contentType !== undefined && typeof r.contentType !== 'string') ||
    (r.expireBefore !== undefined && !isInt(r.expireBefore))
  ) {
    return undefined;
  }
  return r as unknown as SlotRecord;
}

/**
 * The UploadMeta of a direct-mode upload from its slot record and the object (size, type and
 * Last-Modified — the publish time — come from the object).
 *
 * @example
 * const meta = metaFromRecord(record, head);
 */
export function metaFromRecord(record: SlotRecord, head: ObjectHead): UploadMeta {
  const meta: UploadMeta = {
    id: record.id,
    filename: record.filename,
    size: head.size,
    contentType: record.contentType ?? objectContentType(head.contentType),
    uploader: record.uploader,
    issuedAt: record.issuedAt,
    storedAt: head.lastModified?.getTime() ?? record.issuedAt,
    purpose: record.purpose,
  };
  if (record.expireBefore !== undefined) meta.expireBefore = record.expireBefore;
  return meta;
}
