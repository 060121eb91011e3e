import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSlotId } from '../../slots/id.ts';
import type { Slot } from '../../slots/slot.ts';
import {
  decodeSlotRecord,
  encodeSlotRecord,
  encodeUploadMeta,
  isTombstone,
  metaFromObject,
  metaFromRecord,
  objectContentType,
  TOMBSTONE_METADATA,
} from './meta.ts';

const id = newSlotId();
const head = (metadata: Record<string, string> | undefined, over: object = {}) => ({
  metadata,
  size: 42,
  contentType: 'text/plain; charset=utf-8',
  lastModified: new Date(5_000),
  ...over,
});

test('upload metadata survives the trip through ASCII x-amz-meta headers', () => {
  const meta = {
    id,
    filename: 'Grüße «x»\u{1F600}.txt',
    uploader: 'zoë@exämple.org',
    issuedAt: 1,
    purpose: 'ephemeral' as const,
    expireBefore: 9,
    storedAt: 2,
  };
  const headers = encodeUploadMeta(meta);
  for (const v of Object.values(headers)) assert.match(v, /^[\x20-\x7e]*$/, 'ASCII only');
  assert.deepEqual(metaFromObject(id, head(headers)), { ...meta, size: 42, contentType: 'text/plain; charset=utf-8' });
  const { 'fu-stored': _, ...noStored } = headers;
  assert.equal(
    metaFromObject(id, head(noStored))?.storedAt,
    5_000,
    'direct uploads: Last-Modified is the publish time',
  );
});

test('objects that are not ours, or carry another id or broken fields, have no metadata', () => {
  const good = encodeUploadMeta({ id, filename: 'a', uploader: 'a@b', issuedAt: 1, purpose: 'message' });
  assert.equal(metaFromObject(id, head(undefined)), undefined);
  assert.equal(metaFromObject(id, head({})), undefined);
  assert.equal(metaFromObject(newSlotId(), head(good)), undefined, 'copied under another id');
  assert.equal(metaFromObject(id, head({ ...good, 'fu-purpose': 'bogus' })), undefined);
  assert.equal(metaFromObject(id, head({ ...good, 'fu-issued': '1e3' })), undefined);
  assert.equal(metaFromObject(id, head({ ...good, 'fu-filename': '%E0%A4%A' })), undefined);
  assert.equal(metaFromObject(id, head({ ...good, 'fu-expire-before': 'x' })), undefined);
  assert.equal(metaFromObject(id, head({ ...good, 'fu-v': '2' })), undefined);
});

test("S3's default type reads as application/octet-stream", () => {
  assert.equal(objectContentType('binary/octet-stream'), 'application/octet-stream');
  assert.equal(objectContentType(undefined), 'application/octet-stream');
  assert.equal(objectContentType(' image/png '), 'image/png');
});

test('slot records round-trip and are joined with the object', () => {
  const slot: Slot = {
    id,
    filename: 'ü.png',
    size: 42,
    contentType: 'image/png',
    uploader: 'a@b',
    issuedAt: 1,
    expiresAt: 2,
    purpose: 'profile',
  };
  const record = decodeSlotRecord(encodeSlotRecord(slot), id);
  assert.ok(record);
  assert.deepEqual(metaFromRecord(record, head(undefined, { contentType: 'binary/octet-stream' })), {
    id,
    filename: 'ü.png',
    size: 42,
    contentType: 'image/png',
    uploader: 'a@b',
    issuedAt: 1,
    storedAt: 5_000,
    purpose: 'profile',
  });
  const untyped = decodeSlotRecord(encodeSlotRecord({ ...slot, contentType: undefined as unknown as string }), id)!;
  assert.equal(
    metaFromRecord(untyped, head(undefined)).contentType,
    'text/plain; charset=utf-8',
    'no slot type: what the client sent',
  );
  assert.equal(decodeSlotRecord(encodeSlotRecord(slot), newSlotId()), undefined);
  assert.equal(decodeSlotRecord('{', id), undefined);
  assert.equal(decodeSlotRecord(JSON.stringify({ ...JSON.parse(encodeSlotRecord(slot)), size: -0.5 }), id), undefined);
});

test('a tombstone is told apart from an upload by its metadata alone, and carries no upload metadata', () => {
  const tomb = head({ ...TOMBSTONE_METADATA }, { size: 0 });
  assert.equal(isTombstone(tomb), true);
  assert.equal(metaFromObject(id, tomb), undefined);
  const upload = encodeUploadMeta({ id, filename: 'a', uploader: 'a@b', issuedAt: 1, purpose: 'message', storedAt: 2 });
  assert.equal(isTombstone(head(upload)), false);
  assert.equal(isTombstone(head(undefined)), false);
  assert.equal(isTombstone(head({ 'fu-removed': '0' })), false);
});
