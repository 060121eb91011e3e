import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { estimateSecretBits, MIN_SECRET_BITS, slotSecretVerdict } from './slot-secret.ts';

test('a generated 32-byte secret is strong', () => {
  const secret = randomBytes(32).toString('base64url');
  assert.ok(estimateSecretBits(secret) > MIN_SECRET_BITS);
  assert.equal(slotSecretVerdict(secret, 'other').status, 'pass');
});

test('short, repetitive or word-like secrets are weak and fail', () => {
  for (const weak of ['changeme', 'secret123', 'a'.repeat(64), 'abcabcabcabcabcabcabcabcabcabcabcabc', 'Password1!']) {
    const r = slotSecretVerdict(weak, undefined);
    assert.equal(r.status, 'fail', weak);
    assert.match(r.message, /weak/);
    assert.match(r.fix ?? '', /config set slotSecret/);
  }
});

test('the estimate takes the smaller of charset and repetition bounds', () => {
  assert.ok(estimateSecretBits('aaaaaaaaaaaaaaaa') < 1);
  assert.ok(Math.abs(estimateSecretBits('abcdefgh') - 8 * Math.log2(8)) < 1e-9);
  assert.equal(estimateSecretBits(''), 0);
});

test('an unset secret warns: serve generates one', () => {
  const r = slotSecretVerdict(undefined, 'x', 'fileupload --config /tmp/x.xml');
  assert.equal(r.status, 'warn');
  assert.match(r.fix ?? '', /fileupload --config \/tmp\/x\.xml config set slotSecret/);
});

test('reusing the component secret warns', () => {
  const secret = randomBytes(32).toString('base64url');
  assert.equal(slotSecretVerdict(secret, secret).status, 'warn');
});
