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
