import { test } from 'node:test';
import assert from 'node:assert/strict';
import { essence, sameMediaType, servedContentType } from './media-type.ts';

test('essence lower-cases type/subtype and drops parameters; malformed is undefined', () => {
  assert.equal(essence('Image/JPEG; charset=binary'), 'image/jpeg');
  assert.equal(essence('text/plain;charset="utf-8"'), 'text/plain');
  for (const bad of ['', 'text', 'text/', '/plain', 'text/html\r\nSet-Cookie: x=y', 'a/b; c', 'a b/c']) {
    assert.equal(essence(bad), undefined, JSON.stringify(bad));
  }
});

test('slot and PUT types agree on type/subtype, case-insensitively, parameters ignored', () => {
  assert.equal(sameMediaType('image/jpeg', 'IMAGE/JPEG'), true);
  assert.equal(sameMediaType('text/plain', 'text/plain; charset=utf-8'), true);
  assert.equal(sameMediaType('text/plain; charset=utf-8', 'text/plain'), true);
  assert.equal(sameMediaType('image/png', undefined), true, 'a PUT without Content-Type is accepted');
  assert.equal(sameMediaType('image/png', 'image/jpeg'), false);
  assert.equal(sameMediaType('image/png', 'image/png+x'), false);
  assert.equal(sameMediaType('image/png', 'garbage'), false);
});

test('a malformed stored type is served as application/octet-stream', () => {
  assert.equal(servedContentType('text/plain; charset=utf-8'), 'text/plain; charset=utf-8');
  assert.equal(servedContentType('text/html\r\nX: 1'), 'application/octet-stream');
  assert.equal(servedContentType(''), 'application/octet-stream');
});
