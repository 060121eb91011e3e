import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveState } from './live.ts';
import { createMetricsRegistry } from './metrics.ts';
import { AdminBindError, adminListenTargets, isLoopbackHost, startAdminServer, startAdminServers } from './admin-server.ts';
import { AdminUnreachableError, adminClientTarget, fetchAdmin, fetchStatus, parseAdminUrl } from './admin-client.ts';
import { isStatusSnapshot } from './snapshot.ts';
import { sample } from '../../test/support/prometheus.ts';

function setup() {
  const live = new LiveState({ node: 'n1' });
  return { live, registry: createMetricsRegistry(live, { processMetrics: false }) };
}

/** A raw GET with full control over method and Host header. */
function get(url: string, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', agent: false, headers: opts.host ? { Host: opts.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('serves /metrics and /status on 127.0.0.1', async () => {
  const { live, registry } = setup();
  const admin = await startAdminServer({ live, registry, port: 0 });
  try {
    assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    live.xmppState('online');
    live.slotIssued();
    live.uploadStarted({ id: 'u1', filename: 'a.txt', size: 10, uploader: 'alice@example.org' });
    live.uploadProgress('u1', 4);

    const metrics = await get(admin.url, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(metrics.body, 'fileupload_slots_issued_total'), 1);
    assert.equal(sample(metrics.body, 'fileupload_uploads_in_flight'), 1);

    const status = await get(admin.url, '/status');
    assert.equal(status.status, 200);
    assert.match(status.type, /^application\/json/);
    const doc = JSON.parse(status.body);
    assert.ok(isStatusSnapshot(doc));
    assert.equal(doc.xmpp.state, 'online');
    assert.deepEqual(doc.inFlight.map((u) => [u.filename, u.received]), [['a.txt', 4]]);

    // The client reads the same document.
    const viaClient = await fetchStatus(parseAdminUrl(admin.url));
    assert.equal(viaClient.totals.slotsIssued, 1);

    assert.equal((await get(admin.url, '/')).status, 200);
    assert.equal((await get(admin.url, '/nope')).status, 404);
    const post = await get(admin.url, '/status', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal((await get(admin.url, '/status', { method: 'HEAD' })).body, '');
  } finally {
    await admin.close();
  }
});

test('refuses to listen on a non-loopback address unless allowed, and says why', async () => {
  const { live, registry } = setup();
  for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.org']) {
    await assert.rejects(
      startAdminServer({ live, registry, host, port: 0 }),
      (err: unknown) => err instanceof AdminBindError && /not a loopback address/.test(err.message) && err.message.includes(host),
      host,
    );
  }
  const allowed = await startAdminServer({ live, registry, host: '0.0.0.0', port: 0, allowNonLoopback: true });
  await allowed.close();
  assert.equal(isLoopbackHost('127.1.2.3'), true);
  assert.equal(isLoopbackHost('::1'), true);
  assert.equal(isLoopbackHost('[::1]'), true);
  assert.equal(isLoopbackHost('::ffff:127.0.0.1'), true);
  assert.equal(isLoopbackHost('localhost'), true);
  assert.equal(isLoopbackHost('10.0.0.1'), false);
  assert.equal(isLoopbackHost('::ffff:10.0.0.1'), false);
});

test('answers loopback Host names only (no DNS rebinding from a web page)', async () => {
  const { live, registry } = setup();
  const admin = await startAdminServer({ live, registry, port: 0 });
  try {
    const port = new URL(admin.url).port;
    assert.equal((await get(admin.url, '/status', { host: `evil.example:${port}` })).status, 403);
    assert.equal((await get(admin.url, '/status', { host: `localhost:${port}` })).status, 200);
    assert.equal((await get(admin.url, '/status', { host: `[::1]:${port}` })).status, 200);
  } finally {
    await admin.close();
  }
});

test('a port in use is a clear error', async () => {
  const { live, registry } = setup();
  const first = await startAdminServer({ live, registry, port: 0 });
  try {
    const port = Number(new URL(first.url).port);
    await assert.rejects(startAdminServer({ live, registry, port }), (err: unknown) => err instanceof AdminBindError && /in use/.test(err.message) && /adminPort/.test(err.message));
  } finally {
    await first.close();
  }
});

test('unix socket: mode 0660, a stale socket is replaced, a live one or a plain file is not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-admin-'));
  const { live, registry } = setup();
  try {
    const path = join(dir, 'admin.sock');
    // A stale socket: left behind by a process killed with SIGKILL (a clean close unlinks it).
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok((await stat(path)).isSocket(), 'the killed process left its socket');
    await writeFile(join(dir, 'x'), '');
    const admin = await startAdminServer({ live, registry, socketPath: path });
    try {
      assert.equal(admin.url, `unix:${path}`);
      assert.equal((await stat(path)).mode & 0o777, 0o660);
      const s = await fetchStatus({ socketPath: path });
      assert.equal(s.node, 'n1');
      assert.match(await fetchAdmin({ socketPath: path }, '/metrics'), /fileupload_slots_issued_total 0/);
      await assert.rejects(startAdminServer({ live, registry, socketPath: path }), /another process is listening/);
    } finally {
      await admin.close();
    }
    await assert.rejects(startAdminServer({ live, registry, socketPath: join(dir, 'x') }), /exists and is not a socket/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('client: a closed port or missing socket is "serve is not running"', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(fetchStatus({ host: '127.0.0.1', port }), (err: unknown) => err instanceof AdminUnreachableError && /serve is not running/.test(err.message));
  await assert.rejects(fetchStatus({ socketPath: '/nonexistent/admin.sock' }), (err: unknown) => err instanceof AdminUnreachableError && /does not exist/.test(err.message));
});

test('client: something else answering is not taken for serve', async () => {
  const { createServer: createHttp } = await import('node:http');
  const other = createHttp((_req, res) => res.end('{"hello": "world"}'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    const port = (other.address() as { port: number }).port;
    await assert.rejects(fetchStatus({ host: '127.0.0.1', port }), /not fileupload's status document/);
  } finally {
    other.close();
  }
});

test('targets from settings; --url forms', () => {
  assert.deepEqual(adminListenTargets({ adminPort: 7444, adminSocket: '/run/a.sock' }), [{ host: '127.0.0.1', port: 7444 }, { socketPath: '/run/a.sock' }]);
  assert.deepEqual(adminListenTargets({ adminPort: 0, adminSocket: undefined }), []);
  assert.deepEqual(adminClientTarget({ adminPort: 7444, adminSocket: '/run/a.sock' }), { socketPath: '/run/a.sock' });
  assert.deepEqual(adminClientTarget({ adminPort: 7444, adminSocket: undefined }), { host: '127.0.0.1', port: 7444 });
  assert.equal(adminClientTarget({ adminPort: 0, adminSocket: undefined }), undefined);
  assert.deepEqual(parseAdminUrl('http://[::1]:9000/status'), { host: '::1', port: 9000 });
  assert.deepEqual(parseAdminUrl('unix:/run/x.sock'), { socketPath: '/run/x.sock' });
  assert.deepEqual(parseAdminUrl('/run/x.sock'), { socketPath: '/run/x.sock' });
  for (const bad of ['https://127.0.0.1:1', 'unix:relative', 'nonsense']) assert.throws(() => parseAdminUrl(bad), RangeError, bad);
});

test('startAdminServers: every configured listener, none when off, all or nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-admin-'));
  const { live, registry } = setup();
  try {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const socketPath = join(dir, 'a.sock');
    const both = await startAdminServers({ settings: { adminPort: port, adminSocket: socketPath }, live, registry });
    assert.deepEqual(both.urls, [`http://127.0.0.1:${port}`, `unix:${socketPath}`]);
    assert.equal((await fetchStatus({ host: '127.0.0.1', port })).node, 'n1');
    assert.equal((await fetchStatus({ socketPath })).node, 'n1');
    await both.close();
    // The socket cannot be created (a plain file is in the way): the port listener started first is closed again.
    await writeFile(join(dir, 'plain'), '');
    await assert.rejects(startAdminServers({ settings: { adminPort: port, adminSocket: join(dir, 'plain') }, live, registry }), AdminBindError);
    await assert.rejects(fetchStatus({ host: '127.0.0.1', port }), AdminUnreachableError);
    await assert.rejects(fetchStatus({ socketPath }), AdminUnreachableError);
    const off = await startAdminServers({ settings: { adminPort: 0, adminSocket: undefined }, live, registry });
    assert.deepEqual(off.urls, []);
    await off.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('connection caps: a local flood of idle sockets from one address is refused, /metrics still answers another', async () => {
  const { live, registry } = setup();
  const admin = await startAdminServer({ live, registry, port: 0 });
  const port = (admin.target as { port: number }).port;
  const sockets: import('node:net').Socket[] = [];
  const { connect: tcp } = await import('node:net');
  try {
    const closed: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const s = tcp({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const n = sockets.push(s) - 1;
      closed[n] = false;
      s.on('error', () => {});
      s.resume();
      s.once('close', () => (closed[n] = true));
      await new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      });
    }
    // The refused ones close within a moment; the capped number stays open.
    for (let i = 0; i < 100 && closed.filter(Boolean).length < 12; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed.filter(Boolean).length, 12);
    const metrics = await get(admin.url, '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(sample(metrics.body, 'fileupload_connections_refused_total', { listener: 'admin', reason: 'address' }), 12);
    assert.equal(sample(metrics.body, 'fileupload_connections_open', { listener: 'admin' }), 9, 'the flood and this scrape');
  } finally {
    for (const s of sockets) s.destroy();
    await admin.close();
  }
  assert.equal(live.snapshot().connections?.admin, undefined, 'a closed listener is no longer shown');
});
