import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareJid, normalizeDomain, parentDomain, parseJid } from './jid.ts';

test('parseJid splits local, domain and resource (resource may contain @ and /)', () => {
  assert.deepEqual(parseJid('alice@example.org/phone'), { local: 'alice', domain: 'example.org', resource: 'phone' });
  assert.deepEqual(parseJid('example.org'), { local: '', domain: 'example.org', resource: '' });
  assert.deepEqual(parseJid('a@b.org/r@x/y'), { local: 'a', domain: 'b.org', resource: 'r@x/y' });
  assert.equal(parseJid(''), undefined);
  assert.equal(parseJid('@example.org'), undefined);
  assert.equal(parseJid('alice@'), undefined);
  assert.equal(parseJid('/res'), undefined);
});

test('normalizeDomain: lower case, IDN in ASCII, no trailing dot', () => {
  assert.equal(normalizeDomain('Example.ORG.'), 'example.org');
  assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeDomain('BÜCHER.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeDomain('xn--bcher-kva.example'), 'xn--bcher-kva.example');
});

test('bareJid lower-cases the localpart and normalises the domain', () => {
  assert.equal(bareJid(parseJid('Alice@Bücher.Example/Phone')!), 'alice@xn--bcher-kva.example');
  assert.equal(bareJid(parseJid('Example.org/x')!), 'example.org');
});

test('parentDomain drops the first label', () => {
  assert.equal(parentDomain('upload.example.org'), 'example.org');
  assert.equal(parentDomain('upload.localhost'), 'localhost');
  assert.equal(parentDomain('localhost'), 'localhost');
  assert.equal(parentDomain('upload.example.org.'), 'example.org');
});
