import type { UploadMeta } from '../store.ts';
import { isPurpose, type Purpose } from '../../slots/slot.ts';

/**
 * The on-disk form of one upload: `FUP1`, a uint32 big-endian header length, the UploadMeta as
 * JSON (space-padded to that length), then the body. Metadata and data live in ONE file so that a
 * single link() publishes both atomically, and any process or node can read either without a
 * second file that could be missing or stale.
 */

/** The first four bytes of every upload file (format version 1). */
export const MAGIC = Buffer.from('FUP1', 'latin1');
const MAGIC_NUMBER = MAGIC.readUInt32BE(0);
/** Magic + length field. */
export const PREFIX_LENGTH = 8;
/** A header longer than this is corruption, not metadata (filename ≤ 255 bytes, JIDs ≤ 3 KiB). */
export const MAX_HEADER_LENGTH = 64 * 1024;
/**
 * Spare bytes reserved after the JSON so the header can be rewritten at publish time with the final
 * `storedAt` without moving the body (the number may gain a digit; the rest is whitespace).
 */
const HEADER_SLACK = 16;

/**
 * The file is not a well-formed upload (truncated, foreign or damaged).
 *
 * @example
 * if (err instanceof CorruptUploadError) logger.error('damaged upload', { id, err });
 */
export class CorruptUploadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptUploadError';
  }
}

/**
 * Serialises the header block (magic, length, padded JSON). With `length`, pads to exactly that
 * many header bytes so a rewrite keeps the body offset; throws if the JSON no longer fits.
 *
 * @example
 * const block = encodeHeader(meta);                    // first write, reserves slack
 * const final = encodeHeader(done, block.length - 8);  // same size, body stays put
 */
export function encodeHeader(meta: UploadMeta, length?: number): Buffer {
  // Encoded straight into the block (twice per upload: no intermediate buffer).
  const json = JSON.stringify(meta);
  const jsonLength = Buffer.byteLength(json, 'utf8');
  const headerLength = length ?? jsonLength + HEADER_SLACK;
  if (jsonLength > headerLength) throw new RangeError('upload metadata grew past its reserved header');
  if (headerLength > MAX_HEADER_LENGTH) throw new RangeError('upload metadata too large');
  const block = Buffer.allocUnsafe(PREFIX_LENGTH + headerLength);
  MAGIC.copy(block, 0);
  block.writeUInt32BE(headerLength, 4);
  block.write(json, PREFIX_LENGTH, jsonLength, 'utf8');
  block.fill(0x20, PREFIX_LENGTH + jsonLength);
  return block;
}

/**
 * How many bytes from the start of the file are needed to decode the header, given its first
 * `available` bytes; undefined when the prefix itself is incomplete.
 *
 * @example
 * const need = headerEnd(buf.subarray(0, n)); if (need !== undefined && need > n) readMore(need);
 */
export function headerEnd(prefix: Uint8Array): number | undefined {
  const buf = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  return headerEndIn(buf, 0, buf.length);
}

/**
 * headerEnd() of the `available` bytes of a file's start found at `buf[start]` (a batch of
 * headers in one buffer, src/native/scan.ts), relative to the file's start.
 *
 * @example
 * const need = headerEndIn(batch, 4096, 300);
 */
export function headerEndIn(buf: Buffer, start: number, available: number): number | undefined {
  if (available < PREFIX_LENGTH) return undefined;
  if (buf.readUInt32BE(start) !== MAGIC_NUMBER) throw new CorruptUploadError('not a fileupload file (bad magic)');
  const length = buf.readUInt32BE(start + 4);
  if (length > MAX_HEADER_LENGTH) throw new CorruptUploadError(`header length ${length} is implausible`);
  return PREFIX_LENGTH + length;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * Decodes and validates the header at the start of `buf` (which must hold at least headerEnd()
 * bytes). Returns the metadata and the file offset where the body starts.
 *
 * @example
 * const { meta, bodyOffset } = decodeHeader(firstBytes);
 */
export function decodeHeader(buf: Uint8Array): { meta: UploadMeta; bodyOffset: number } {
  const end = headerEnd(buf);
  if (end === undefined || end > buf.length) throw new CorruptUploadError('truncated header');
  return { meta: decodeMetaIn(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), 0, end), bodyOffset: end };
}

/**
 * The metadata of the header block at `buf[start, start + end)` (`end` as headerEndIn() gives it),
 * validated. No view of the block is made: a listing decodes a million of them.
 *
 * @example
 * const meta = decodeMetaIn(batch, 4096, headerEndIn(batch, 4096, 300)!);
 */
export function decodeMetaIn(buf: Buffer, start: number, end: number): UploadMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', start + PREFIX_LENGTH, start + end));
  } catch {
    throw new CorruptUploadError('header is not JSON');
  }
  const m = raw as Record<string, unknown> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    !isStr(m.id) ||
    !isStr(m.filename) ||
    !isInt(m.size) ||
    m.size < 0 ||
    !isStr(m.contentType) ||
    !isStr(m.uploader) ||
    !isInt(m.issuedAt) ||
    !isInt(m.storedAt) ||
    !isPurpose(m.purpose) ||
    !(m.expireBefore === undefined || isInt(m.expireBefore))
  ) {
    throw new CorruptUploadError('header fields are missing or of the wrong type');
  }
  const meta: UploadMeta = {
    id: m.id,
    filename: m.filename,
    size: m.size,
    contentType: m.contentType,
    uploader: m.uploader,
    issuedAt: m.issuedAt,
    storedAt: m.storedAt,
    purpose: m.purpose as Purpose,
  };
  if (m.expireBefore !== undefined) meta.expireBefore = m.expireBefore as number;
  return meta;
}
