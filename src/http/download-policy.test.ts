import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDownload } from './download-policy.ts';
import { cacheControl, downloadHeaders, IMMUTABLE_CACHE } from './headers.ts';
import type { UploadMeta } from '../storage/store.ts';

const now = Date.UTC(2026, 5, 1);
const meta: UploadMeta = {
  id: 'AAAAAAAAAAAAAAAAAAAAAAAA',
  filename: 'a.jpg',
  size: 1000,
  contentType: 'image/jpeg',
  uploader: 'a@example.org',
  issuedAt: now - 5000,
  storedAt: now - 4000,
  purpose: 'message',
};

test('order: wrong filename 404, expired ephemeral 410, then 304, then range', () => {
  assert.deepEqual(decideDownload(meta, 'b.jpg', {}, now), { kind: 'not-found' });
  const eph = { ...meta, purpose: 'ephemeral' as const, expireBefore: now };
  assert.deepEqual(decideDownload(eph, 'a.jpg', { ifNoneMatch: '*' }, now), { kind: 'gone' });
  assert.deepEqual(decideDownload(eph, 'a.jpg', {}, now - 1), { kind: 'full' });
  assert.deepEqual(decideDownload(meta, 'a.jpg', { ifNoneMatch: `"${meta.id}"`, range: 'bytes=0-1' }, now), {
    kind: 'not-modified',
  });
  assert.deepEqual(decideDownload(meta, 'a.jpg', { range: 'bytes=10-' }, now), {
    kind: 'partial',
    start: 10,
    end: 999,
  });
  assert.deepEqual(decideDownload(meta, 'a.jpg', { range: 'bytes=1000-' }, now), { kind: 'unsatisfiable' });
  assert.deepEqual(decideDownload(meta, 'a.jpg', { range: 'bytes=10-', ifRange: '"stale"' }, now), { kind: 'full' });
});

test('download headers: stored type, length, validators, disposition', () => {
  const h = downloadHeaders(meta, 1000, now);
  assert.equal(h['Content-Type'], 'image/jpeg');
  assert.equal(h['Content-Length'], '1000');
  assert.equal(h.ETag, `"${meta.id}"`);
  assert.equal(h['Last-Modified'], new Date(meta.storedAt).toUTCString());
  assert.equal(h['Cache-Control'], IMMUTABLE_CACHE);
  assert.equal(h['Accept-Ranges'], 'bytes');
  assert.match(h['Content-Disposition'] ?? '', /^inline; /);
  assert.match(
    downloadHeaders({ ...meta, contentType: 'image/svg+xml' }, 1, now)['Content-Disposition'] ?? '',
    /^attachment; /,
  );
});

test('ephemeral uploads are never cached past their expire-before', () => {
  assert.equal(cacheControl({ expireBefore: now + 60_500 }, now), 'public, max-age=60, immutable');
  assert.equal(cacheControl({ expireBefore: now - 1 }, now), 'public, max-age=0, immutable');
  assert.equal(cacheControl({}, now), IMMUTABLE_CACHE);
});
