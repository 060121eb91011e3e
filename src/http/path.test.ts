import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDownloadPath, parseUploadPath, slotToken } from './path.ts';

const id = 'AAAAAAAAAAAAAAAAAAAAAAAA';
const root = '/httpfileupload';

test('the upload path yields id, decoded filename and query', () => {
  assert.deepEqual(parseUploadPath(`${root}/${id}/a%20b%C3%BC.png?t=x.y`, root), {
    id,
    filename: 'a bü.png',
    query: 't=x.y',
  });
  assert.deepEqual(parseUploadPath(`${root}/${id}/100%25.txt`, root), { id, filename: '100%.txt', query: '' });
  assert.deepEqual(parseUploadPath(`/${id}/f`, ''), { id, filename: 'f', query: '' });
  assert.deepEqual(parseUploadPath(`${root}/${id}/f`, `${root}/`), { id, filename: 'f', query: '' });
  assert.deepEqual(parseUploadPath(`http://host:1${root}/${id}/f?t=1`, root), { id, filename: 'f', query: 't=1' });
});

test('every other spelling is refused, never normalised', () => {
  for (const p of [
    `${root}/../${id}/f`,
    `${root}/${id}/../f`,
    `${root}/${id}/..`,
    `${root}/${id}/%2e%2e`,
    `${root}/${id}/.`,
    `${root}/%2e%2e/%2e%2e/etc/passwd`,
    `${root}/${id}/..%2f..%2fetc%2fpasswd`,
    `${root}/${id}/..%5c..%5cetc`,
    `${root}/${id}//f`,
    `${root}//${id}/f`,
    `${root}/${id}/a/b`,
    `${root}/${id}/`,
    `${root}/${id}`,
    `${root}/${id}/%zz`,
    `${root}/${id}/a%00b`,
    `${root}/${id.slice(1)}/f`,
    `/other/${id}/f`,
    `${root}x/${id}/f`,
    `//etc/passwd`,
    `${root}\\${id}\\f`,
    `*`,
  ]) {
    assert.equal(parseUploadPath(p, root), undefined, p);
  }
});

test('slot token from ?t= first, else Authorization: Bearer', () => {
  assert.equal(slotToken('t=abc.def', undefined), 'abc.def');
  assert.equal(slotToken('x=1&t=abc.def', 'Bearer other'), 'abc.def');
  assert.equal(slotToken('', 'Bearer abc.def'), 'abc.def');
  assert.equal(slotToken('', 'bearer  abc.def'), 'abc.def');
  assert.equal(slotToken('', 'Basic abc'), undefined);
  assert.equal(slotToken('t=', undefined), undefined);
  assert.equal(slotToken('', undefined), undefined);
});

test('the ?t= value is taken as written: no percent- or plus-decoding gives a token a second spelling', () => {
  assert.equal(slotToken('t=abc%2Edef', undefined), 'abc%2Edef');
  assert.equal(slotToken('t=abc+def', undefined), 'abc+def');
  assert.equal(slotToken('t=abc.def&t=other', undefined), 'abc.def', 'the first t wins');
  assert.equal(slotToken('tt=x&t=abc.def', undefined), 'abc.def');
});

test("GET and HEAD take the Openfire plugin's old URLs of imported uploads, with any name after the id", () => {
  const secure = '-q3W0n7V4uXy1Z2a_bC-dEfGhIj';
  const uuid = '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c';
  assert.deepEqual(parseDownloadPath(`${root}/${secure}/cat%20photo.jpg?x=1`, root), {
    id: secure,
    filename: 'cat photo.jpg',
    query: 'x=1',
    imported: true,
  });
  assert.equal(
    parseDownloadPath(`${root}/${uuid.toUpperCase()}/f`, root)?.id,
    uuid,
    'a UUID is looked up in lower case',
  );
  assert.equal(parseDownloadPath(`http://h${root}/${uuid}/f`, root)?.id, uuid);
  for (const odd of ['%zz', '..', '%2e%2e', 'a%2Fb', 'a%5Cb', 'x'.repeat(256), '%C3%BC'.repeat(128)])
    assert.equal(parseDownloadPath(`${root}/${secure}/${odd}`, root)?.filename, secure, `${odd}: the id names it`);
  assert.deepEqual(parseDownloadPath(`${root}/${id}/f`, root), { id, filename: 'f', query: '', imported: false });
  for (const p of [
    `${root}/${secure}`,
    `${root}/${secure}/`,
    `${root}/${secure}/a/b`,
    `${root}/x/${secure}/f`,
    `${root}/${secure.slice(1)}/f`,
    `${root}/${uuid}x/f`,
    `/other/${secure}/f`,
    `${root}/${secure.replace('-', '.')}/f`,
  ])
    assert.equal(parseDownloadPath(p, root), undefined, p);
});

test('PUT paths never take an imported id', () => {
  assert.equal(parseUploadPath(`${root}/-q3W0n7V4uXy1Z2a_bC-dEfGhIj/f`, root), undefined);
  assert.equal(parseUploadPath(`${root}/9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c/f`, root), undefined);
});
