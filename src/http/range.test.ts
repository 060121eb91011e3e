import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentRange, parseRange } from './range.ts';

test('single ranges: closed, open (resume), suffix; ends are clamped', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'partial', start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=100-', 1000), { kind: 'partial', start: 100, end: 999 });
  assert.deepEqual(parseRange('bytes=-10', 1000), { kind: 'partial', start: 990, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'partial', start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=900-5000', 1000), { kind: 'partial', start: 900, end: 999 });
  assert.deepEqual(parseRange('Bytes = 5 - 6', 1000), { kind: 'partial', start: 5, end: 6 });
  assert.deepEqual(parseRange('bytes=999-', 1000), { kind: 'partial', start: 999, end: 999 });
});

test('unsatisfiable: start at or past the size, empty suffix, anything on an empty body', () => {
  assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=5000-6000', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=99999999999999999999-', 1000), { kind: 'unsatisfiable' });
});

test('absent, invalid, other units and multiple ranges are served whole', () => {
  for (const h of [
    undefined,
    '',
    'bytes=',
    'bytes=-',
    'bytes=abc',
    'items=0-1',
    'bytes=5-1',
    'bytes=0-1,3-4',
    'bytes 0-1',
  ]) {
    assert.deepEqual(parseRange(h, 1000), { kind: 'full' }, String(h));
  }
});

test('Content-Range values', () => {
  assert.equal(contentRange({ start: 0, end: 99 }, 1000), 'bytes 0-99/1000');
  assert.equal(contentRange(undefined, 1000), 'bytes */1000');
});
