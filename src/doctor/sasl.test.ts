import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainMessage, scramSha1 } from './sasl.ts';

test('SCRAM-SHA-1 matches the RFC 5802 example exchange', () => {
  const scram = scramSha1('user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
  assert.equal(scram.first, 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const final = scram.final('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
  assert.equal(final, 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.equal(scram.verify('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='), true);
  assert.equal(scram.verify('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA='), false);
});

test('SCRAM refuses a challenge that does not extend the client nonce', () => {
  const scram = scramSha1('user', 'pencil', 'abc');
  assert.throws(() => scram.final('r=xyz,s=QSXCR+Q6sek8bf92,i=4096'), /nonce/);
});

test('SCRAM escapes = and , in the user name', () => {
  assert.equal(scramSha1('a=b,c', 'p', 'n').first, 'n,,n=a=3Db=2Cc,r=n');
});

test('PLAIN is NUL user NUL password', () => {
  assert.equal(plainMessage('alice', 'pw'), '\0alice\0pw');
});
