import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareJid, normalizeDomain, parseJid } from './jid.ts';

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

test('normalizeDomain: look-alike full stops stay inside their label (no UTS #46 dot mapping)', () => {
  for (const dot of ['\u3002', '\uff0e', '\uff61']) {
    const name = `Example${dot}Test`;
    assert.equal(normalizeDomain(name), `example${dot}test`, name);
    assert.notEqual(normalizeDomain(name), normalizeDomain('example.test'));
    assert.notEqual(
      normalizeDomain(`example.test${dot}`),
      normalizeDomain('example.test'),
      'not a trailing dot either',
    );
    assert.notEqual(
      normalizeDomain(`bücher${dot}example`),
      normalizeDomain('bücher.example'),
      'nor inside an IDN label',
    );
  }
  // A character UTS #46 maps to text with a dot in it (U+2488 → "1.") does not split a label.
  assert.notEqual(normalizeDomain('a\u2488example'), normalizeDomain('a1.example'));
  assert.equal(normalizeDomain('Example.ORG.'), 'example.org', 'one trailing U+002E is still dropped');
  assert.equal(normalizeDomain(' example.org'), ' example.org', 'no trimming: a JID has no spaces to forgive');
});

test('bareJid lower-cases the localpart and normalises the domain', () => {
  assert.equal(bareJid(parseJid('Alice@Bücher.Example/Phone')!), 'alice@xn--bcher-kva.example');
  assert.equal(bareJid(parseJid('Example.org/x')!), 'example.org');
});
