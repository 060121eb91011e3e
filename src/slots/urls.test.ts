import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announcedEndpoint, encodePathSegment, slotUrls, urlHost } from './urls.ts';

test('filenames are percent-encoded per RFC 3986', () => {
  assert.equal(encodePathSegment("a b(1)!'*.txt"), 'a%20b%281%29%21%27%2A.txt');
  assert.equal(encodePathSegment('ü/..%'), '%C3%BC%2F..%25');
});

test('IDN hosts are written in ASCII, IPv6 in brackets', () => {
  assert.equal(urlHost('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(urlHost('::1'), '[::1]');
});

test('PUT carries the token, GET carries no secret, the port is always written', () => {
  const urls = slotUrls(
    { protocol: 'https', host: 'upload.example.org', port: 443, contextRoot: '/httpfileupload' },
    'AAAAAAAAAAAAAAAAAAAAAAAA',
    'my file.png',
    'payload.mac',
  );
  assert.equal(urls.get, 'https://upload.example.org:443/httpfileupload/AAAAAAAAAAAAAAAAAAAAAAAA/my%20file.png');
  assert.equal(urls.put, `${urls.get}?t=payload.mac`);
});

test('announcedEndpoint reads the announced* settings', () => {
  const s = {
    announcedWebProtocol: 'http',
    announcedWebHost: 'h',
    announcedWebPort: 1,
    announcedWebContextRoot: '',
  } as const;
  assert.deepEqual(announcedEndpoint(s), { protocol: 'http', host: 'h', port: 1, contextRoot: '' });
});
