import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BlocklistSyntaxError,
  isSha256,
  normalizeSha256,
  parseBlocklist,
  serializeBlocklist,
  withEntry,
  withoutEntry,
  type BlocklistEntry,
} from './list.ts';

const A = 'a'.repeat(64);
const B = '0123456789abcdef'.repeat(4);
const entry = (sha256: string, note = ''): BlocklistEntry => ({
  sha256,
  added: '2030-06-01T12:00:00.000Z',
  by: 'root@host',
  note,
});

test('a sha256 is 64 hex digits; the list keeps it in lower case', () => {
  assert.equal(isSha256(A), true);
  assert.equal(isSha256(A.toUpperCase()), false);
  assert.equal(isSha256(A.slice(1)), false);
  assert.equal(isSha256(`${A.slice(1)}g`), false);
  assert.equal(normalizeSha256(` ${B.toUpperCase()}\n`), B);
  assert.equal(normalizeSha256('not a hash'), undefined);
});

test('serialize and parse give the entries back; nothing or blank is an empty list', () => {
  const entries = [entry(A, 'DMCA "17"'), entry(B)];
  assert.deepEqual(parseBlocklist(serializeBlocklist(entries), 'x'), entries);
  assert.deepEqual(parseBlocklist(serializeBlocklist([]), 'x'), []);
  assert.deepEqual(parseBlocklist(undefined, 'x'), []);
  assert.deepEqual(parseBlocklist('  \n', 'x'), []);
  assert.equal(serializeBlocklist(entries).split('\n').length, 5, 'one entry per line');
});

test('a malformed document is refused with its location and what is wrong', () => {
  assert.throws(
    () => parseBlocklist('{', '/srv/up/blocklist.json'),
    (err: Error) => {
      assert.ok(err instanceof BlocklistSyntaxError);
      assert.match(err.message, /^\/srv\/up\/blocklist\.json: not a blocklist/);
      return true;
    },
  );
  assert.throws(() => parseBlocklist('{"entries":{}}', 'x'), /no "entries" list/);
  assert.throws(() => parseBlocklist(`{"entries":[{"sha256":"${A.toUpperCase()}"}]}`, 'x'), /entry 1: "sha256"/);
});

test('missing fields read as empty; a hash listed twice counts once', () => {
  assert.deepEqual(parseBlocklist(`{"entries":[{"sha256":"${A}"},{"sha256":"${A}","note":"again"}]}`, 'x'), [
    { sha256: A, added: '', by: '', note: '' },
  ]);
});

test('withEntry adds once (the first entry stays); withoutEntry removes, undefined when not listed', () => {
  const one = withEntry([], entry(A, 'first'));
  assert.deepEqual(one, [entry(A, 'first')]);
  assert.equal(withEntry(one!, entry(A, 'second')), undefined);
  assert.deepEqual(withoutEntry([entry(A), entry(B)], A), [entry(B)]);
  assert.equal(withoutEntry([entry(B)], A), undefined);
});
