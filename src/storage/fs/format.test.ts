import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, encodeHeader, MAGIC, PREFIX_LENGTH } from './format.ts';
import type { UploadMeta } from '../store.ts';

const meta: UploadMeta = {
  id: 'abcdefghijklmnopqrstuv',
  filename: 'größe ✓.bin',
  size: 65536,
  contentType: 'application/octet-stream',
  uploader: 'alice@example.org',
  issuedAt: 1_700_000_000_000,
  storedAt: 1_700_000_001_000,
  purpose: 'message',
};

test('the header block: magic, length, the JSON in UTF-8, then spaces up to the length', () => {
  const block = encodeHeader(meta);
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  assert.deepEqual(block.subarray(0, 4), MAGIC);
  const length = block.readUInt32BE(4);
  assert.equal(block.length, PREFIX_LENGTH + length);
  assert.ok(length > json.length, 'slack is reserved for a longer storedAt');
  assert.deepEqual(block.subarray(PREFIX_LENGTH, PREFIX_LENGTH + json.length), json);
  assert.ok(block.subarray(PREFIX_LENGTH + json.length).every((b) => b === 0x20));
  assert.deepEqual(decodeHeader(block), { meta, bodyOffset: block.length });
});

test('a rewrite keeps the length, pads with spaces, and refuses metadata that no longer fits', () => {
  const first = encodeHeader(meta);
  const later = encodeHeader({ ...meta, storedAt: 99_999_999_999_999 }, first.length - PREFIX_LENGTH);
  assert.equal(later.length, first.length);
  assert.equal(decodeHeader(later).meta.storedAt, 99_999_999_999_999);
  const shorter = encodeHeader({ ...meta, storedAt: 1 }, first.length - PREFIX_LENGTH);
  assert.equal(shorter.length, first.length);
  assert.equal(shorter.at(-1), 0x20, 'a shorter JSON is padded to the end');
  assert.throws(
    () => encodeHeader({ ...meta, filename: meta.filename + 'x'.repeat(100) }, first.length - PREFIX_LENGTH),
    RangeError,
  );
});
