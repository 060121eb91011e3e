import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryConditionalObjects } from '../storage/s3/conditional.ts';
import { createLogger } from '../log.ts';
import { S3BlocklistStore } from './s3.ts';
import { addToBlocklist, BlocklistView, removeFromBlocklist } from './store.ts';
import type { BlocklistEntry } from './list.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const entry = (sha256: string): BlocklistEntry => ({ sha256, added: '2030-01-01T00:00:00.000Z', by: 't', note: '' });

/** A store that counts its looks, on the in-memory bucket twin. */
function counted() {
  const objects = new MemoryConditionalObjects();
  const store = new S3BlocklistStore(objects, 'fu/blocklist.json');
  const looks = { version: 0, read: 0 };
  const version = store.version.bind(store);
  const read = store.read.bind(store);
  store.version = () => (looks.version++, version());
  store.read = () => (looks.read++, read());
  return { objects, store, looks };
}

test('the view looks at the version at most once per maxAge and re-reads only when it changed', async () => {
  const { store, looks } = counted();
  let now = 1000;
  const view = new BlocklistView(store, { maxAge: 500, now: () => now });
  assert.equal(view.mayBlock(), true, 'never looked: it may');
  assert.equal((await view.hashes()).size, 0);
  assert.equal(view.mayBlock(), false, 'empty at a fresh look: no upload needs hashing');
  await addToBlocklist(store, entry(A));
  now += 499;
  assert.equal((await view.hashes()).size, 0, 'within maxAge the last look holds');
  assert.deepEqual(looks, { version: 1, read: 1 });
  now += 1;
  assert.equal(view.mayBlock(), true, 'the look is stale');
  assert.deepEqual([...(await view.hashes())], [A], 'seen maxAge after the last look');
  assert.equal(view.mayBlock(), true);
  now += 500;
  await view.hashes();
  assert.deepEqual(looks, { version: 3, read: 2 }, 'unchanged: a version look, no read');
  await addToBlocklist(store, entry(B));
  view.invalidate();
  assert.equal((await view.hashes()).size, 2, 'invalidate: the next call looks at once');
});

test('concurrent callers share one look', async () => {
  const { store, looks } = counted();
  const view = new BlocklistView(store, { maxAge: 1000 });
  await Promise.all(Array.from({ length: 10 }, () => view.hashes()));
  assert.equal(looks.version, 1);
});

test('a list that cannot be read keeps the last one in force, logged once', async () => {
  const { objects, store } = counted();
  const lines: string[] = [];
  let now = 0;
  const view = new BlocklistView(store, {
    maxAge: 10,
    now: () => now,
    logger: createLogger({}, { write: (l) => lines.push(l) }),
  });
  await addToBlocklist(store, entry(A));
  assert.equal((await view.hashes()).size, 1);
  objects.objects.set('fu/blocklist.json', { text: '{broken', etag: '"x"', lastModified: 0 });
  for (let i = 0; i < 3; i++) {
    now += 10;
    assert.deepEqual([...(await view.hashes())], [A]);
  }
  assert.equal(lines.filter((l) => l.includes('cannot read the blocklist')).length, 1);
});

test('add and remove say whether they changed anything', async () => {
  const { store } = counted();
  assert.equal(await addToBlocklist(store, entry(A)), true);
  assert.equal(await addToBlocklist(store, { ...entry(A), note: 'again' }), false);
  assert.equal(await removeFromBlocklist(store, B), undefined);
  assert.equal((await removeFromBlocklist(store, A))?.sha256, A);
  assert.deepEqual((await store.read()).entries, []);
});
