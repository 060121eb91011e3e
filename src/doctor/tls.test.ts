import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, type CertFiles } from '../../test/doctor/certs.ts';
import { probeHttp } from './http-probe.ts';
import { connectionFailure, type ConnectionFailure } from './probe-upload.ts';
import { explainTlsFailure, readTlsFiles, tlsVerdict, type TlsInput } from './tls.ts';

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
  return { protocol: 'https', host: 'upload.example.org', port: 443, webPort: 7443, ...read, now: Date.now(), ...over };
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

  test('https announced for webPort itself without built-in TLS fails, naming both properties and the fix', async () => {
    const r = tlsVerdict(await input({}, { port: 7443, webPort: 7443 }));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /announcedWebProtocol is https for announcedWebPort 7443, which is webPort/);
    assert.match(r.message, /tlsCertificate\/tlsKey are not set/);
    assert.match(r.fix ?? '', /set tlsCertificate and tlsKey, or point announcedWebPort at the TLS reverse proxy/);
    assert.equal(tlsVerdict(await input({}, { port: 7443, webPort: 7443, protocol: 'http' })).status, 'warn');
    assert.equal(tlsVerdict(await input(good, { port: 7443, webPort: 7443 })).status, 'pass');
  });
});

describe('explainTlsFailure on the errors of real TLS connections', () => {
  const servers: Server[] = [];
  after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  /** A listener on 127.0.0.1: HTTPS with `files`, or plain HTTP without. */
  async function listen(files?: CertFiles): Promise<number> {
    const handler = (_req: unknown, res: { end(body: string): void }) => res.end('ok');
    const server = files
      ? createHttpsServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, handler)
      : createHttpServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  /** Connects as clients do, to `name` at 127.0.0.1:port, trusting `ca` alone when given (the machine's CAs otherwise). */
  function failureOf(port: number, name: string, ca?: string): Promise<ConnectionFailure> {
    return new Promise((resolve, reject) => {
      const r = httpsRequest(
        { host: '127.0.0.1', port, servername: name, agent: false, ...(ca ? { ca: readFileSync(ca) } : {}) },
        (res) => {
          res.resume();
          reject(new Error(`TLS worked: status ${res.statusCode}`));
        },
      );
      r.on('error', (err) => resolve(connectionFailure(err)));
      r.end();
    });
  }

  test('https to a plain HTTP listener: "answers plain HTTP", with the TLS settings as the fix', async () => {
    const port = await listen();
    const err = await probeHttp(`https://127.0.0.1:${port}/`, { method: 'GET', timeoutMs: 3000 }).then(
      () => assert.fail('a plain HTTP listener completed a TLS handshake'),
      (e: unknown) => connectionFailure(e),
    );
    const x = explainTlsFailure(err, `127.0.0.1:${port}`);
    assert.equal(x?.message, `127.0.0.1:${port} answers plain HTTP, not TLS`);
    assert.match(x?.fix ?? '', /set tlsCertificate and tlsKey .* or announce the port of the TLS reverse proxy/);
  });

  test('a self-signed certificate: says so, and the fix is NODE_EXTRA_CA_CERTS (not a Node option)', async () => {
    const port = await listen(ca.selfSigned('self-served', ['upload.example.org']));
    const x = explainTlsFailure(await failureOf(port, 'upload.example.org'), `upload.example.org:${port}`);
    assert.match(x?.message ?? '', /^the certificate of upload\.example\.org:\d+ is self-signed/);
    assert.match(x?.fix ?? '', /NODE_EXTRA_CA_CERTS=\/path\/ca\.pem/);
    assert.doesNotMatch(x?.fix ?? '', /use-system-ca/);
  });

  test('a certificate of a private CA: an untrusted CA, with the same fix', async () => {
    const port = await listen(good);
    const x = explainTlsFailure(await failureOf(port, 'upload.example.org'), `upload.example.org:${port}`);
    assert.match(x?.message ?? '', /is signed by a CA this machine does not trust/);
    assert.match(x?.fix ?? '', /NODE_EXTRA_CA_CERTS=\/path\/ca\.pem/);
  });

  test('a certificate for other names: lists them', async () => {
    const port = await listen(ca.issue('others', { names: ['files.example.net', 'cdn.example.net'] }));
    const x = explainTlsFailure(await failureOf(port, 'upload.example.org', ca.caCert), `upload.example.org:${port}`);
    assert.match(x?.message ?? '', /is for other names: files\.example\.net, cdn\.example\.net$/);
    assert.match(x?.fix ?? '', /a certificate that names upload\.example\.org/);
  });

  test('an expired certificate: says it expired, the fix is to renew', async () => {
    const port = await listen(
      ca.issue('expired-served', {
        names: ['upload.example.org'],
        notBefore: Date.now() - 60 * DAY,
        notAfter: Date.now() - 30 * DAY,
      }),
    );
    const x = explainTlsFailure(await failureOf(port, 'upload.example.org', ca.caCert), `upload.example.org:${port}`);
    assert.match(x?.message ?? '', /the certificate of upload\.example\.org:\d+ has expired/);
    assert.match(x?.fix ?? '', /renew/);
  });

  test('a refused connection is no TLS failure', () => {
    assert.equal(
      explainTlsFailure({ code: 'ECONNREFUSED', error: 'connect ECONNREFUSED 127.0.0.1:1' }, 'x:1'),
      undefined,
    );
  });
});
