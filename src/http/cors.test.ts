import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corsHeaders } from './cors.ts';

test('wildcard: every origin (and none) gets *, without Vary', () => {
  const h = corsHeaders('https://chat.example', ['*'], false);
  assert.equal(h['Access-Control-Allow-Origin'], '*');
  assert.match(h['Access-Control-Expose-Headers'] ?? '', /Content-Range/);
  assert.equal(h.Vary, undefined);
  assert.equal(corsHeaders(undefined, ['*'], false)['Access-Control-Allow-Origin'], '*');
});

test('a list echoes a matching origin with Vary: Origin and leaves others without allow-origin', () => {
  const allowed = ['https://chat.example', 'https://web.example'];
  assert.deepEqual(corsHeaders('https://web.example', allowed, false), {
    Vary: 'Origin',
    'Access-Control-Allow-Origin': 'https://web.example',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Content-Disposition, ETag, Location',
  });
  assert.deepEqual(corsHeaders('https://evil.example', allowed, true), { Vary: 'Origin' });
  assert.deepEqual(corsHeaders(undefined, allowed, false), { Vary: 'Origin' });
});

test('preflight answers carry methods, headers and max-age', () => {
  const h = corsHeaders('https://chat.example', ['*'], true);
  assert.equal(h['Access-Control-Allow-Methods'], 'OPTIONS, HEAD, GET, PUT');
  assert.equal(h['Access-Control-Allow-Headers'], 'Authorization, Content-Type');
  assert.ok(Number(h['Access-Control-Max-Age']) > 0);
});
