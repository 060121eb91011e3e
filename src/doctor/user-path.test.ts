import { test } from 'node:test';
import assert from 'node:assert/strict';
import { c2sEndpoint, idFromUrl, parseBareJid } from './user-path.ts';

test('parseBareJid takes user@domain only', () => {
  assert.deepEqual(parseBareJid('alice@Example.org'), { local: 'alice', domain: 'example.org' });
  assert.equal(parseBareJid('alice'), undefined);
  assert.equal(parseBareJid('alice@example.org/phone'), undefined);
  assert.equal(parseBareJid('a@b@c'), undefined);
});

test('idFromUrl finds the upload id before the file name', () => {
  assert.equal(
    idFromUrl('https://h:443/httpfileupload/q3W0n7V4uXy1Z2a_bC-dEfGh/a%20b.txt'),
    'q3W0n7V4uXy1Z2a_bC-dEfGh',
  );
});

test('c2sEndpoint: flags win; without an SRV record the domain on 5222', async () => {
  assert.deepEqual(await c2sEndpoint('example.org', '127.0.0.1', 15222, 500), { host: '127.0.0.1', port: 15222 });
  assert.deepEqual(await c2sEndpoint('localhost', undefined, undefined, 500), { host: 'localhost', port: 5222 });
  assert.deepEqual(await c2sEndpoint('localhost', undefined, 5999, 500), { host: 'localhost', port: 5999 });
});
