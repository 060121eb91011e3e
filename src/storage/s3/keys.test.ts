import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSlotId } from '../../slots/id.ts';
import { InvalidIdError } from '../errors.ts';
import {
  idOfKey,
  keyLayout,
  normalizePrefix,
  parsePartialName,
  partialName,
  slotRecordKey,
  uploadKey,
} from './keys.ts';

const id = newSlotId();

test('keys: prefix normalisation, ids only, partial names', () => {
  assert.equal(normalizePrefix(''), '');
  assert.equal(normalizePrefix('a/b//'), 'a/b/');
  for (const bad of ['/a', 'a/../b', 'a//b', '.', 'a\\b', 'a\nb'])
    assert.throws(() => normalizePrefix(bad), RangeError, bad);
  const layout = keyLayout('fu');
  assert.equal(uploadKey(layout, id), `fu/files/${id}`);
  assert.equal(slotRecordKey(layout, id), `fu/slots/${id}.json`);
  assert.equal(layout.marker, 'fu/.fileupload-repository');
  assert.throws(() => uploadKey(layout, '../x'), InvalidIdError);
  assert.throws(() => slotRecordKey(layout, 'a/b'), InvalidIdError);
  assert.equal(idOfKey(layout, `fu/files/${id}`), id);
  assert.equal(idOfKey(layout, `fu/slots/${id}.json`), id);
  assert.equal(idOfKey(layout, `fu/files/${id}x`), undefined);
  assert.equal(idOfKey(layout, `other/files/${id}`), undefined);
  for (const p of [
    { kind: 'slot' as const, id },
    { kind: 'multipart' as const, id, uploadId: '2~abc.DEF/+=' },
  ]) {
    const name = partialName(p);
    assert.ok(name.startsWith(id));
    assert.deepEqual(parsePartialName(name), p);
  }
  for (const bad of ['', 'x.slot', `${id}.slot.x`, '../files/x', `${id}..mpu`, `${id}.AA==.mpu`])
    assert.equal(parsePartialName(bad), undefined, bad);
});

test('keys: uploads imported from the Openfire plugin have keys and multipart names; slot records never', () => {
  const layout = keyLayout('fu');
  for (const imported of ['-q3W0n7V4uXy1Z2a_bC-dEfGhIj', '9b2f4c1e-8d3a-4f6b-a1c2-3d4e5f6a7b8c']) {
    assert.equal(uploadKey(layout, imported), `fu/files/${imported}`);
    assert.equal(idOfKey(layout, `fu/files/${imported}`), imported);
    assert.equal(idOfKey(layout, `fu/slots/${imported}.json`), undefined);
    assert.throws(() => slotRecordKey(layout, imported), InvalidIdError);
    const p = { kind: 'multipart' as const, id: imported, uploadId: '2~x' };
    assert.deepEqual(parsePartialName(partialName(p)), p);
    assert.equal(parsePartialName(`${imported}.slot`), undefined);
  }
  assert.equal(parsePartialName(`${'-'.repeat(36)}.eA.mpu`), undefined);
  assert.throws(() => uploadKey(layout, '9B2F4C1E-8D3A-4F6B-A1C2-3D4E5F6A7B8C'), InvalidIdError);
});
