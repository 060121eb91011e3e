import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filenameProblem } from './filename.ts';

test('plain, Unicode and punctuation-rich names are fine', () => {
  for (const ok of [
    'a.txt',
    'grüße (1) & co.bin',
    'my photo.jpg',
    '.hidden',
    '...',
    '日本語.png',
    '😀.gif',
    "it's #1 100%.txt",
    'שלום.txt',
  ]) {
    assert.equal(filenameProblem(ok), undefined, ok);
  }
});

test('255 UTF-8 bytes pass, 256 do not', () => {
  assert.equal(filenameProblem('a'.repeat(255)), undefined);
  assert.equal(filenameProblem('é'.repeat(127) + 'a'), undefined);
  assert.match(filenameProblem('a'.repeat(256)) ?? '', /256 bytes/);
  assert.match(filenameProblem('é'.repeat(128)) ?? '', /256 bytes/);
  assert.match(filenameProblem('😀'.repeat(64)) ?? '', /256 bytes/);
});

test('each unusable name is named', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a/b', /"\/"/],
    ['a\\b', /contains "\\"/],
    ['a\u0000b', /NUL/],
    ['a\tb', /control/],
    ['a\nb', /control/],
    ['a\rb', /control/],
    ['a\u001fb', /control/],
    ['a\u007fb', /control/],
    ['a\u0085b', /control/],
    ['photo\u202egpj.exe', /bidirectional/],
    ['a\u2066b\u2069', /bidirectional/],
    ['a\ud800b', /Unicode/],
    ['a\udc00', /Unicode/],
    ['.', /not a file name/],
    ['..', /not a file name/],
  ];
  for (const [name, why] of cases) assert.match(filenameProblem(name) ?? 'accepted', why, JSON.stringify(name));
});
