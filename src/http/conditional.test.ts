import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etagFor, httpDate, ifRangeAllows, isNotModified } from './conditional.ts';

const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const etag = etagFor('AAAAAAAAAAAAAAAAAAAAAAAA');

test('If-None-Match: exact, listed, weak and * match; others do not', () => {
  assert.equal(isNotModified({ ifNoneMatch: etag }, etag, t), true);
  assert.equal(isNotModified({ ifNoneMatch: `"x", ${etag}` }, etag, t), true);
  assert.equal(isNotModified({ ifNoneMatch: `W/${etag}` }, etag, t), true);
  assert.equal(isNotModified({ ifNoneMatch: '*' }, etag, t), true);
  assert.equal(isNotModified({ ifNoneMatch: '"other"' }, etag, t), false);
});

test('If-Modified-Since at second precision; If-None-Match wins over it', () => {
  assert.equal(isNotModified({ ifModifiedSince: httpDate(t) }, etag, t), true);
  assert.equal(isNotModified({ ifModifiedSince: httpDate(t - 1000) }, etag, t), false);
  assert.equal(isNotModified({ ifModifiedSince: 'nonsense' }, etag, t), false);
  assert.equal(isNotModified({ ifNoneMatch: '"other"', ifModifiedSince: httpDate(t) }, etag, t), false);
  assert.equal(isNotModified({}, etag, t), false);
});

test('If-Range: a strong matching ETag or the exact date allows the range', () => {
  assert.equal(ifRangeAllows(undefined, etag, t), true);
  assert.equal(ifRangeAllows(etag, etag, t), true);
  assert.equal(ifRangeAllows('"other"', etag, t), false);
  assert.equal(ifRangeAllows(`W/${etag}`, etag, t), false);
  assert.equal(ifRangeAllows(httpDate(t), etag, t), true);
  assert.equal(ifRangeAllows(httpDate(t - 1000), etag, t), false);
});
