import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { adminToken, checkAdminCredential } from './admin-auth.ts';

test('adminToken is HMAC-SHA256(slotSecret, "fileupload admin api") in base64url', () => {
  const expected = createHmac('sha256', 'secret').update('fileupload admin api').digest('base64url');
  assert.equal(adminToken('secret'), expected);
  assert.match(adminToken('secret'), /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(adminToken('secret'), adminToken('secreT'));
});

test('checkAdminCredential: none, valid, wrong', () => {
  const t = adminToken('secret');
  assert.equal(checkAdminCredential(undefined, t), 'none');
  assert.equal(checkAdminCredential('Basic dTpw', t), 'none');
  assert.equal(checkAdminCredential('Bearer', t), 'wrong');
  assert.equal(checkAdminCredential(`Bearer ${t}`, t), 'valid');
  assert.equal(checkAdminCredential(`bearer   ${t} `, t), 'valid');
  assert.equal(checkAdminCredential(`Bearer ${t}=`, t), 'wrong');
  assert.equal(checkAdminCredential(`Bearer ${t.slice(0, -1)}`, t), 'wrong');
  assert.equal(checkAdminCredential(`Bearer ${t} extra`, t), 'wrong');
  assert.equal(checkAdminCredential(`Bearer ${t}`, undefined), 'wrong');
});
