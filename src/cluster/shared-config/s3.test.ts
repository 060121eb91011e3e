import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readProperty } from '../../config/openfire-xml.ts';
import { MemoryConditionalObjects } from '../../storage/s3/conditional.ts';
import { S3SharedConfigStore } from './s3.ts';
import { ConfigSyntaxError } from '../../config/errors.ts';

const KEY = 'fu/cluster/openfire.xml';
const P = 'plugin.httpfileupload.';
const make = (objects = new MemoryConditionalObjects()) => ({
  objects,
  store: new S3SharedConfigStore(objects, KEY),
});

test('concurrent set of different properties from many writers: every change lands (conditional writes, retried)', async () => {
  const { objects, store } = make();
  // Each writer uses its own store object, like separate nodes.
  const writers = Array.from({ length: 8 }, () => new S3SharedConfigStore(objects, KEY));
  await Promise.all(writers.map((w, i) => w.set(`${P}p${i}`, String(i))));
  const { doc } = await store.read();
  for (let i = 0; i < 8; i++) assert.equal(readProperty(doc!, `${P}p${i}`), String(i));
});

test('version changes with every write and is "absent" before the first; unset says whether it removed', async () => {
  const { store } = make();
  assert.equal(await store.version(), 'absent');
  await store.set(`${P}maxFileSize`, '10M');
  const v1 = await store.version();
  assert.notEqual(v1, 'absent');
  assert.equal(await store.unset(`${P}nope`), false);
  assert.equal(await store.version(), v1, 'nothing written for a property that was not set');
  assert.equal(await store.unset(`${P}maxFileSize`), true);
  assert.notEqual(await store.version(), v1);
});

test('setIfAbsent keeps the first value (the slotSecret the first node generated)', async () => {
  const { objects } = make();
  const a = new S3SharedConfigStore(objects, KEY);
  const b = new S3SharedConfigStore(objects, KEY);
  const [ra, rb] = await Promise.all([a.setIfAbsent(`${P}slotSecret`, 'A'), b.setIfAbsent(`${P}slotSecret`, 'B')]);
  assert.equal(ra, rb, 'both nodes end up with the same secret');
});

test('a malformed shared document is reported and never overwritten', async () => {
  const { objects, store } = make();
  objects.objects.set(KEY, { text: '<jive><plugin>', etag: '"1"', lastModified: Date.now() });
  await assert.rejects(store.read(), ConfigSyntaxError);
  await assert.rejects(store.set(`${P}maxFileSize`, '1M'), ConfigSyntaxError);
  assert.equal(objects.objects.get(KEY)?.text, '<jive><plugin>');
});
