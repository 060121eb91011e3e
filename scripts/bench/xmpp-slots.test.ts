import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr, scanIqs } from './xmpp-slots.ts';

test('attr reads either quote style', () => {
  assert.equal(attr(`<iq type='result' id='s1'>`, 'id'), 's1');
  assert.equal(attr(`<iq type="error" id="s2">`, 'type'), 'error');
  assert.equal(attr(`<iq type='result'>`, 'id'), undefined);
});

test('scanIqs finds complete iq start tags and keeps a tag split across reads', () => {
  const first = scanIqs(`<iq type='result' id='s1' from='upload.localhost'><slot><put url='x'/></slot></iq><iq type='err`);
  assert.deepEqual(first.tags, [`<iq type='result' id='s1' from='upload.localhost'>`]);
  const second = scanIqs(first.rest + `or' id='s2'/>`);
  assert.deepEqual(second.tags, [`<iq type='error' id='s2'/>`]);
  assert.equal(second.rest, '');
});
