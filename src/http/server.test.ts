import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, readdir, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { request } from 'node:http';
import { startKit, type Kit } from '../../test/support/http-kit.ts';
import { SOCKET_IDLE_GRACE_MS } from './server.ts';
import { connect as netConnect, type Socket } from 'node:net';

/** Serves HTTPS and answers which certificate a new connection gets. */
function servedCommonName(origin: string): Promise<string> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: url.hostname, port: Number(url.port), rejectUnauthorized: false, servername: 'localhost' },
      () => {
        const cn = socket.getPeerCertificate().subject?.CN;
        socket.end();
        resolve(String(cn));
      },
    );
    socket.on('error', reject);
  });
}

function makeCert(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function httpsCall(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, rejectUnauthorized: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS', () => {
  let dir: string;
  let kit: Kit;
  let live: { cert: string; key: string };
  let second: { cert: string; key: string };
  let first: { cert: string; key: string };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fileupload-tls-'));
    first = makeCert(dir, 'first');
    second = makeCert(dir, 'second');
    live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    await copyFile(first.cert, live.cert);
    await copyFile(first.key, live.key);
    kit = await startKit({ settings: { tlsCertificate: live.cert, tlsKey: live.key } });
  });
  after(async () => {
    await kit.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('serves HTTPS: upload and download work', async () => {
    assert.equal(kit.server.tls, true);
    assert.match(kit.origin, /^https:/);
    const s = kit.slot({ size: 5 });
    assert.equal((await httpsCall(s.put, 'PUT', 'hello')).status, 201);
    assert.deepEqual(await httpsCall(s.get, 'GET'), { status: 200, body: 'hello' });
    assert.equal(await servedCommonName(kit.origin), 'first');
  });

  test('reloadTls() serves a renewed certificate to new connections', async () => {
    await copyFile(second.cert, live.cert);
    await copyFile(second.key, live.key);
    assert.equal(await kit.server.reloadTls(), true);
    assert.equal(await servedCommonName(kit.origin), 'second');
    assert.ok(kit.logs.some((l) => l.msg === 'tls certificate reloaded' && String(l.subject).includes('second')));
  });

  test('a broken or mismatched renewal is logged and the current certificate kept', async () => {
    await copyFile(first.cert, live.cert); // key is still the second one: mismatch
    assert.equal(await kit.server.reloadTls(), false);
    assert.equal(await servedCommonName(kit.origin), 'second');
    await writeFile(live.cert, 'not a certificate');
    assert.equal(await kit.server.reloadTls(), false);
    assert.equal(await servedCommonName(kit.origin), 'second');
    assert.ok(kit.logs.filter((l) => l.level === 'error' && /tls reload failed/.test(String(l.msg))).length >= 2);
  });

  test('an unusable certificate at start is refused before listening', async () => {
    await assert.rejects(startKit({ settings: { tlsCertificate: first.cert, tlsKey: second.key } }), /unusable/);
    await assert.rejects(startKit({ settings: { tlsCertificate: first.cert, tlsKey: undefined } }), /set together/);
  });
});

/** Starts a chunked PUT, sends `first`, and returns controls to send the rest or observe it. */
function slowPut(
  url: string,
  first: Buffer,
): { finish(rest: Buffer): void; result: Promise<{ status: number } | { error: string }> } {
  const req = request(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } });
  const result = new Promise<{ status: number } | { error: string }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
  });
  req.write(first);
  return { finish: (rest) => req.end(rest), result };
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`not reached: ${what}`);
}

describe('graceful drain', () => {
  test('new uploads get 503 while draining', async () => {
    const kit = await startKit();
    try {
      void kit.app.gate.drain(10_000); // the gate alone: the listener stays up for this check
      const s = kit.slot({ size: 2 });
      const res = await fetch(s.put, { method: 'PUT', body: 'hi' });
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal((await fetch(s.get)).status, 404, 'downloads are still answered');
    } finally {
      await kit.stop();
    }
  });

  test('a running upload finishes within the bound; new connections are refused', async () => {
    const kit = await startKit();
    try {
      const s = kit.slot({ size: 200_000 });
      const up = slowPut(s.put, Buffer.alloc(100_000, 1));
      await until(async () => kit.app.gate.activeUploads === 1, 'upload running');
      const drained = kit.server.drain(5_000);
      await assert.rejects(fetch(kit.slot().get), 'the listener is closed');
      up.finish(Buffer.alloc(100_000, 2));
      assert.deepEqual(await up.result, { status: 201 });
      assert.equal(await drained, true);
      assert.equal((await kit.store.stat(s.id))?.size, 200_000);
    } finally {
      await kit.stop();
    }
  });

  test('past the bound, a stalled upload is aborted and leaves nothing', async () => {
    const kit = await startKit();
    try {
      const s = kit.slot({ size: 1_000_000 });
      const up = slowPut(s.put, Buffer.alloc(300_000, 1));
      await until(async () => (await readdir(join(kit.dir, 'tmp'))).length === 1, 'temp file exists');
      assert.equal(await kit.server.drain(200), false);
      const seen = await up.result;
      assert.ok(
        'error' in seen || seen.status === 503,
        `the client is told to retry or sees the end: ${JSON.stringify(seen)}`,
      );
      assert.deepEqual(await readdir(join(kit.dir, 'tmp')), []);
      assert.equal(await kit.store.stat(s.id), undefined);
    } finally {
      await kit.stop();
    }
  });
});

describe('idle timeout', () => {
  test('sockets time out at idleTimeout plus a grace; a reload applies a new idleTimeout to open connections too', async () => {
    const kit = await startKit({ settings: { idleTimeout: 60_000 } });
    const url = new URL(kit.origin);
    const client = netConnect({ host: url.hostname, port: Number(url.port) });
    client.on('error', () => {});
    try {
      const raw = kit.server.server;
      assert.equal(raw.timeout, 60_000 + SOCKET_IDLE_GRACE_MS);
      let seen: Socket | undefined;
      raw.on('connection', (s: Socket) => (seen = s));
      // A request whose head has not arrived yet: the connection runs on the idle timeout.
      client.write('GET /httpfileupload/x/y HTTP/1.1\r\n');
      await until(() => seen !== undefined, 'the connection accepted');
      assert.equal(seen?.timeout, 60_000 + SOCKET_IDLE_GRACE_MS);
      kit.settings.idleTimeout = 10_000;
      kit.server.reloadTimeouts();
      assert.equal(raw.timeout, 10_000 + SOCKET_IDLE_GRACE_MS);
      assert.equal(seen?.timeout, 10_000 + SOCKET_IDLE_GRACE_MS, 'the open connection has the new timeout');
    } finally {
      client.destroy();
      await kit.stop();
    }
  });
});

/** A TLS connection from `localAddress`, once its handshake is done; rejects when it is closed before. */
function tlsOpen(origin: string, localAddress: string): Promise<import('node:tls').TLSSocket> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: url.hostname, port: Number(url.port), localAddress });
    tcp.on('error', () => {});
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake')));
  });
}

describe('connection caps over TLS', () => {
  test('over a cap the connection is closed before the handshake; behind a trusted proxy the forwarded client is logged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fileupload-tls-caps-'));
    const pair = makeCert(dir, 'caps');
    const kit = await startKit({
      settings: { tlsCertificate: pair.cert, tlsKey: pair.key, maxConnectionsPerAddress: 1 },
    });
    const held: import('node:tls').TLSSocket[] = [];
    try {
      held.push(await tlsOpen(kit.origin, '127.0.0.2'));
      await assert.rejects(tlsOpen(kit.origin, '127.0.0.2'));
      assert.equal(kit.server.connections().refused.address, 1);
      kit.settings.trustedProxies = ['127.0.0.1/32'];
      const url = `${kit.origin}${kit.settings.announcedWebContextRoot}/unknown/file.bin`;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          url,
          { rejectUnauthorized: false, headers: { 'X-Forwarded-For': '203.0.113.5' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 404);
      assert.ok(
        kit.logs.some((l) => l.msg === 'request' && l.remote === '203.0.113.5'),
        JSON.stringify(kit.logs.filter((l) => l.msg === 'request')),
      );
    } finally {
      for (const s of held) s.destroy();
      await kit.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('a maxConnections beyond what the open-file limit can serve is warned about at start', async () => {
  const within = await startKit({ settings: { maxConnections: 100 } });
  const beyond = await startKit({ settings: { maxConnections: 1_000_000 } });
  const unlimited = await startKit({ settings: { maxConnections: -1 } });
  try {
    const warned = (kit: Kit) => kit.logs.some((l) => l.level === 'warn' && /open-file limit/.test(String(l.msg)));
    assert.equal(warned(within), false);
    assert.equal(warned(beyond), true);
    assert.equal(warned(unlimited), true);
    assert.equal(beyond.server.connections().max, 1_000_000);
    assert.equal(unlimited.server.connections().max, null);
  } finally {
    await Promise.all([within.stop(), beyond.stop(), unlimited.stop()]);
  }
});
