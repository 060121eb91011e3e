import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, type CertFiles } from '../../test/doctor/certs.ts';
import { readTlsFiles, tlsVerdict, type TlsInput } from './tls.ts';

const DAY = 86_400_000;
let dir: string;
let ca: ReturnType<typeof makeCa>;
let good: CertFiles;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'doctor-tls-'));
  ca = makeCa(dir);
  good = ca.issue('good', { names: ['upload.example.org'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function input(files: { cert?: string; key?: string }, over: Partial<TlsInput> = {}): Promise<TlsInput> {
  const read = await readTlsFiles(files.cert, files.key);
  return { protocol: 'https', host: 'upload.example.org', ...read, now: Date.now(), ...over };
}

describe('tlsVerdict', () => {
  test('a CA-issued certificate for the host with its key passes', async () => {
    const r = tlsVerdict(await input(good));
    assert.equal(r.status, 'pass', r.message);
    assert.match(r.message, /matches its key/);
  });

  test('a key of another certificate fails as a mismatch', async () => {
    const r = tlsVerdict(await input({ cert: good.cert, key: ca.strayKey('stray') }));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /is not the private key of the certificate/);
  });

  test('an expired certificate fails', async () => {
    const old = ca.issue('expired', {
      names: ['upload.example.org'],
      notBefore: Date.now() - 60 * DAY,
      notAfter: Date.now() - 30 * DAY,
    });
    const r = tlsVerdict(await input(old));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /expired on/);
    assert.match(r.fix ?? '', /renew/);
  });

  test('a certificate that expires within 14 days warns', async () => {
    const soon = ca.issue('soon', { names: ['upload.example.org'], notAfter: Date.now() + 5 * DAY });
    const r = tlsVerdict(await input(soon));
    assert.equal(r.status, 'warn');
    assert.match(r.message, /expires in [45] days/);
  });

  test('a certificate not valid yet fails', async () => {
    const r = tlsVerdict(await input(good, { now: Date.now() - 3 * DAY }));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /not valid before/);
  });

  test('a certificate for another name warns with the announced host', async () => {
    const r = tlsVerdict(await input(good, { host: 'files.example.net' }));
    assert.equal(r.status, 'warn');
    assert.match(r.message, /does not name the announced host files\.example\.net/);
  });

  test('an IP address host is checked against IP names', async () => {
    const ip = ca.issue('ip', { names: ['127.0.0.1'] });
    assert.equal(tlsVerdict(await input(ip, { host: '127.0.0.1' })).status, 'pass');
    assert.equal(tlsVerdict(await input(ip, { host: '127.0.0.2' })).status, 'warn');
  });

  test('a self-signed certificate warns', async () => {
    const self = ca.selfSigned('self', ['upload.example.org']);
    const r = tlsVerdict(await input(self));
    assert.equal(r.status, 'warn');
    assert.match(r.message, /self-signed/);
  });

  test('unreadable files fail naming the file', async () => {
    const r = tlsVerdict(await input({ cert: join(dir, 'missing.pem'), key: good.key }));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /cannot read tlsCertificate .*missing\.pem/);
    const k = tlsVerdict(await input({ cert: good.cert, key: join(dir, 'nokey.pem') }));
    assert.match(k.message, /cannot read tlsKey/);
  });

  test('a key file in the certificate slot is not a certificate', async () => {
    const r = tlsVerdict(await input({ cert: good.key, key: good.key }));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /is not a PEM certificate/);
  });

  test('without built-in TLS: plain http warns, https (reverse proxy) is skipped', async () => {
    assert.equal(tlsVerdict(await input({}, { protocol: 'http' })).status, 'warn');
    assert.equal(tlsVerdict(await input({}, { protocol: 'https' })).status, 'skip');
  });
});
