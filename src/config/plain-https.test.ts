import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainHttpsMismatch } from './plain-https.ts';

const base = {
  announcedWebProtocol: 'https' as const,
  announcedWebHost: 'upload.example.org',
  announcedWebPort: 7443,
  webPort: 7443,
  tlsCertificate: undefined,
  tlsKey: undefined,
};

test('https announced for webPort without TLS is named, with both properties and the URL clients get', () => {
  const text = plainHttpsMismatch(base) ?? '';
  assert.match(text, /^announcedWebProtocol is https for announcedWebPort 7443, which is webPort/);
  assert.match(text, /tlsCertificate\/tlsKey are not set/);
  assert.match(text, /https:\/\/upload\.example\.org:7443/);
});

test('no mismatch: a reverse proxy on another port, plain http announced, or built-in TLS', () => {
  assert.equal(plainHttpsMismatch({ ...base, announcedWebPort: 443 }), undefined);
  assert.equal(plainHttpsMismatch({ ...base, announcedWebProtocol: 'http' }), undefined);
  assert.equal(plainHttpsMismatch({ ...base, tlsCertificate: '/etc/c.pem', tlsKey: '/etc/k.pem' }), undefined);
});

test('only one of the two TLS files set is still plain HTTP', () => {
  assert.notEqual(plainHttpsMismatch({ ...base, tlsCertificate: '/etc/c.pem' }), undefined);
});
