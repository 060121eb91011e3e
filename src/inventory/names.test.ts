import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchName,
  deltaName,
  forgottenName,
  openSegmentName,
  parseBatch,
  parseDelta,
  parseForgotten,
  parseOpenSegment,
  parseStored,
  parseTimed,
  storedName,
  timedName,
  userKey,
} from './names.ts';
import { keySegments } from './index-store/store.ts';
import { BloomFilter } from './bloom.ts';

test('entry names round-trip and sort by time', () => {
  const s = {
    storedAt: 1_733_000_000_000,
    id: 'q3W0n7V4uXy1Z2a_bC-dEfGh',
    size: 5,
    purpose: 'ephemeral' as const,
    expireBefore: 1_733_000_100_000,
  };
  assert.equal(storedName(s), '1733000000000.q3W0n7V4uXy1Z2a_bC-dEfGh.5.ephemeral.1733000100000');
  assert.deepEqual(parseStored(storedName(s)), s);
  const { expireBefore: _, ...plain } = s;
  assert.deepEqual(parseStored(storedName({ ...plain, purpose: 'message' })), { ...plain, purpose: 'message' });
  assert.deepEqual(parseTimed(timedName({ at: 5, id: 'abc', size: 0 })), { at: 5, id: 'abc', size: 0 });
  assert.ok(
    timedName({ at: 5, id: 'z', size: 1 }) < timedName({ at: 40, id: 'a', size: 1 }),
    'zero padding keeps time order',
  );
  const b = { at: 7, id: 'b4tch_Id-1', bytes: 9_000, count: 3 };
  assert.equal(batchName(b), '0000000000007.b4tch_Id-1.9000.3');
  assert.deepEqual(parseBatch(batchName(b)), b);
  assert.deepEqual(parseDelta(deltaName({ at: 1, id: 'x', size: 2, kind: 'del', count: 1 })), {
    at: 1,
    id: 'x',
    size: 2,
    kind: 'del',
    count: 1,
  });
  assert.equal(deltaName({ at: 1, id: 'x', size: 2_000, kind: 'add', count: 40 }), '0000000000001.x.2000.add.40');
});

test('foreign or damaged names are ignored, not misread', () => {
  for (const bad of [
    '',
    '.tmp',
    '123.abc.5',
    '0000000000001.abc.-5.message',
    '0000000000001.a/b.5.message',
    '0000000000001.abc.5.gift',
  ]) {
    assert.equal(parseStored(bad), undefined, bad);
  }
  assert.equal(parseBatch('0000000000001.abc.5'), undefined);
  assert.equal(parseBatch('0000000000001.abc.5.x'), undefined);
  assert.equal(parseBatch('0000000000001.a.b.5.3'), undefined, 'batch ids have no dots');
  assert.equal(parseDelta('0000000000001.abc.5.mod.1'), undefined);
  assert.equal(parseDelta('0000000000001.abc.5.add'), undefined, 'the count is part of the name');
  assert.equal(parseDelta('0000000000001.abc.5.add.-1'), undefined);
  assert.throws(() => storedName({ storedAt: -1, id: 'a', size: 1, purpose: 'message' }), RangeError);
  assert.throws(() => timedName({ at: 1, id: '../x', size: 1 }), RangeError);
});

test('open segments and tombstones: round-trip, and never taken for another kind of entry', () => {
  const seg = { firstAt: 1_733_000_000_000, id: 's3gm_Id-1' };
  assert.equal(openSegmentName(seg), '1733000000000.s3gm_Id-1.open');
  assert.deepEqual(parseOpenSegment(openSegmentName(seg)), seg);
  assert.equal(parseBatch(openSegmentName(seg)), undefined, 'readers of sealed names skip open segments');
  assert.equal(parseTimed(openSegmentName(seg)), undefined);
  assert.equal(parseOpenSegment(batchName({ at: 1, id: 'b', bytes: 1, count: 1 })), undefined);
  for (const bad of [
    '1733000000000.a.b.open',
    '1733000000000.abc.opened',
    '173300000000.abc.open',
    '1733000000000..open',
  ]) {
    assert.equal(parseOpenSegment(bad), undefined, bad);
  }
  const t = { expiresAt: 7, id: 'q3W0n7V4uXy1Z2a_bC-dEfGh' };
  assert.equal(forgottenName(t), '0000000000007.q3W0n7V4uXy1Z2a_bC-dEfGh');
  assert.deepEqual(parseForgotten(forgottenName(t)), t);
  for (const bad of ['0000000000007', '0000000000007.a.b', 'x.abc', '0000000000007.a/b'])
    assert.equal(parseForgotten(bad), undefined, bad);
  assert.throws(() => forgottenName({ expiresAt: 1, id: '../x' }), RangeError);
});

test('user keys: fixed length hex, case-insensitive JIDs', () => {
  assert.match(userKey('Alice@Example.org'), /^[0-9a-f]{32}$/);
  assert.equal(userKey('Alice@Example.org'), userKey('alice@example.org'));
  assert.notEqual(userKey('alice@example.org'), userKey('bob@example.org'));
});

test('index keys cannot leave the index folder', () => {
  assert.deepEqual(keySegments('users/ab/stored'), ['users', 'ab', 'stored']);
  for (const bad of ['../x', 'a/../b', '/abs', 'a//b', 'a/.hidden', 'a\\b'])
    assert.throws(() => keySegments(bad), RangeError, bad);
});

test('bloom filter: no false negatives, few false positives', () => {
  const f = new BloomFilter(1 << 16);
  for (let i = 0; i < 10_000; i++) f.add(`id-${i}`);
  for (let i = 0; i < 10_000; i++) assert.ok(f.has(`id-${i}`));
  let fp = 0;
  for (let i = 0; i < 10_000; i++) if (f.has(`other-${i}`)) fp++;
  assert.ok(fp < 500, `${fp} false positives in 10000`);
});
