import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takedownTarget } from './takedown.ts';

const ID = 'q3W0n7V4uXy1Z2a_bC-dEfGh';
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('an upload URL names its id: GET or PUT URL, any host, context root and port', () => {
  assert.deepEqual(takedownTarget(`https://upload.example.org:443/${ID}/cat.jpg`), { id: ID });
  assert.deepEqual(takedownTarget(`http://127.0.0.1:7443/httpfileupload/${ID}/a%20b.png?t=abc`), { id: ID });
  assert.deepEqual(takedownTarget(`  https://x.example/up/load/${ID}/x  `), { id: ID });
});

test('a bare id, an imported id (a UUID in any case), a sha256 in any case', () => {
  assert.deepEqual(takedownTarget(ID), { id: ID });
  const uuid = '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c';
  assert.deepEqual(takedownTarget(`https://x.example/up/${uuid.toUpperCase()}/old.jpg`), { id: uuid });
  assert.deepEqual(takedownTarget(SHA.toUpperCase()), { sha256: SHA });
});

test('anything else is no target', () => {
  for (const text of [
    '',
    'cat.jpg',
    `ftp://x.example/${ID}/cat.jpg`,
    `https://x.example/${ID}`,
    `https://x.example/../etc/passwd`,
    `https://x.example/short/cat.jpg`,
    SHA.slice(1),
    `file:///srv/upload/files/${ID}`,
  ])
    assert.equal(takedownTarget(text), undefined, text);
});
