import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveState } from './live.ts';
import { createMetricsRegistry } from './metrics.ts';
import {
  AdminBindError,
  adminListenTargets,
  isLoopbackHost,
  startAdminServer,
  startAdminServers,
} from './admin-server.ts';
import { AdminUnreachableError, adminClientTarget, fetchAdmin, fetchStatus, parseAdminUrl } from './admin-client.ts';
import { isStatusSnapshot } from './snapshot.ts';
import { adminProof, adminToken } from './admin-auth.ts';
import { sample } from '../../test/support/prometheus.ts';

function setup() {
  const live = new LiveState({ node: 'n1' });
  return { live, registry: createMetricsRegistry(live, { processMetrics: false }) };
}

/** A raw GET with full control over method and Host header. */
function get(
  url: string,
  path: string,
  opts: { method?: string; host?: string; authorization?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; type: string; body: string; headers: IncomingHttpHeaders }> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host) headers.Host = opts.host;
  if (opts.authorization) headers.Authorization = opts.authorization;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('serves /metrics and /status on 127.0.0.1', async () => {
  const { live, registry } = setup();
  const token = adminToken('k'.repeat(43));
  const admin = await startAdminServer({ live, registry, port: 0, token });
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

    const status = await get(admin.url, '/status', { authorization: `Bearer ${token}` });
    assert.equal(status.status, 200);
    assert.match(status.type, /^application\/json/);
    const doc = JSON.parse(status.body);
    assert.ok(isStatusSnapshot(doc));
    assert.equal(doc.xmpp.state, 'online');
    assert.equal(doc.uploadDetails, true);
    assert.deepEqual(
      doc.inFlight.map((u) => [u.filename, u.received]),
      [['a.txt', 4]],
    );

    // The client reads the same document.
    const viaClient = await fetchStatus(parseAdminUrl(admin.url), { token });
    assert.equal(viaClient.totals.slotsIssued, 1);
    assert.equal(viaClient.inFlight[0]?.uploader, 'alice@example.org');

    assert.equal((await get(admin.url, '/')).status, 200);
    assert.equal((await get(admin.url, '/nope')).status, 404);
    const post = await get(admin.url, '/status', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal((await get(admin.url, '/status', { method: 'HEAD' })).body, '');
  } finally {
    await admin.close();
  }
});

test('the client sends the admin token only to a server that proves it holds it: a program squatting on the port never sees it', async () => {
  const token = adminToken('q'.repeat(43));
  // What a local user may run on the admin port while serve is down: it answers like serve
  // (a status document) and records what it is sent.
  const seen: Array<string | undefined> = [];
  const { live, registry } = setup();
  const body = `${JSON.stringify(live.snapshot())}\n`;
  const squatter = createHttpServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Fileupload-Proof': 'made-up' }).end(body);
  });
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const admin = await startAdminServer({ live, registry, port: 0, token });
  try {
    const port = (squatter.address() as { port: number }).port;
    await assert.rejects(
      fetchStatus({ host: '127.0.0.1', port }, { token }),
      (err: unknown) => err instanceof AdminUnreachableError && err.status === 401,
    );
    await assert.rejects(
      fetchAdmin({ host: '127.0.0.1', port }, '/status', { token }),
      /did not prove it holds the admin token/,
    );
    assert.ok(seen.length >= 2, 'the squatter was asked');
    assert.deepEqual(
      seen.filter((a) => a !== undefined),
      [],
      'and never sent the token',
    );
    // serve answers a challenge with the proof (and only a well-formed one).
    const proved = await fetchStatus(parseAdminUrl(admin.url), { token });
    assert.equal(proved.uploadDetails, true);
    const challenge = 'c'.repeat(32);
    const answer = await get(admin.url, '/', { headers: { 'x-fileupload-challenge': challenge } });
    assert.equal(answer.headers['x-fileupload-proof'], adminProof(token, challenge));
    assert.equal(
      (await get(admin.url, '/', { headers: { 'x-fileupload-challenge': 'short' } })).headers['x-fileupload-proof'],
      undefined,
    );
  } finally {
    squatter.close();
    await admin.close();
  }
});

test('without the admin token /status names no upload; a wrong token is 401; the socket needs none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-admin-'));
  const { live, registry } = setup();
  const token = adminToken('s'.repeat(43));
  const admin = await startAdminServer({ live, registry, port: 0, token });
  const untokened = await startAdminServer({ live, registry, port: 0 });
  const socketPath = join(dir, 'admin.sock');
  const bySocket = await startAdminServer({ live, registry, socketPath, token });
  try {
    live.uploadStarted({ id: 'slot-id-7f3a', filename: 'secret-plans.pdf', size: 100, uploader: 'carol@example.org' });
    live.uploadProgress('slot-id-7f3a', 40);
    const names = /slot-id-7f3a|secret-plans|carol/;
    for (const [url, auth] of [
      [admin.url, undefined],
      [admin.url, 'Basic Zm9vOmJhcg=='],
      [untokened.url, undefined],
    ] as const) {
      const anonymous = await get(url, '/status', auth ? { authorization: auth } : {});
      assert.equal(anonymous.status, 200);
      assert.doesNotMatch(anonymous.body, names, `${url} ${auth}`);
      const doc = JSON.parse(anonymous.body);
      assert.ok(isStatusSnapshot(doc));
      assert.equal(doc.uploadDetails, false);
      assert.equal(doc.inFlightCount, 1);
      assert.deepEqual(doc.inFlight, [{ size: 100, received: 40, startedAt: doc.inFlight[0]?.startedAt }]);
      // Counters stay readable.
      assert.equal(sample((await get(url, '/metrics')).body, 'fileupload_uploads_in_flight'), 1);
      assert.doesNotMatch((await get(url, '/metrics')).body, names);
    }
    for (const [url, bad] of [
      [admin.url, 'Bearer x'],
      [admin.url, `Bearer ${token}x`],
      [admin.url, `Bearer ${token}=`],
      [untokened.url, `Bearer ${token}`],
    ] as const) {
      const wrong = await get(url, '/status', { authorization: bad });
      assert.equal(wrong.status, 401, bad);
      assert.doesNotMatch(wrong.body, names);
    }
    const good = await get(admin.url, '/status', { authorization: `bearer  ${token}` });
    assert.equal(good.status, 200);
    assert.match(good.body, /slot-id-7f3a/);
    assert.match(good.body, /secret-plans\.pdf/);
    assert.match(good.body, /carol@example\.org/);
    await assert.rejects(
      fetchStatus(parseAdminUrl(admin.url), { token: 'nope' }),
      (err: unknown) => err instanceof AdminUnreachableError && err.status === 401,
    );
    const viaSocket = await fetchStatus({ socketPath });
    assert.equal(viaSocket.uploadDetails, true);
    assert.deepEqual(
      viaSocket.inFlight.map((u) => [u.id, u.filename, u.uploader]),
      [['slot-id-7f3a', 'secret-plans.pdf', 'carol@example.org']],
    );
  } finally {
    await admin.close();
    await untokened.close();
    await bySocket.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses to listen on a non-loopback address unless allowed, and says why', async () => {
  const { live, registry } = setup();
  for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.org']) {
    await assert.rejects(
      startAdminServer({ live, registry, host, port: 0 }),
      (err: unknown) =>
        err instanceof AdminBindError && /not a loopback address/.test(err.message) && err.message.includes(host),
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
    await assert.rejects(
      startAdminServer({ live, registry, port }),
      (err: unknown) => err instanceof AdminBindError && /in use/.test(err.message) && /adminPort/.test(err.message),
    );
  } finally {
    await first.close();
  }
});

test('unix socket: mode 0600, a stale socket is replaced, a live one or a plain file is not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-admin-'));
  const { live, registry } = setup();
  try {
    const path = join(dir, 'admin.sock');
    // A stale socket: left behind by a process killed with SIGKILL (a clean close unlinks it).
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok((await stat(path)).isSocket(), 'the killed process left its socket');
    await writeFile(join(dir, 'x'), '');
    const admin = await startAdminServer({ live, registry, socketPath: path });
    try {
      assert.equal(admin.url, `unix:${path}`);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const s = await fetchStatus({ socketPath: path });
      assert.equal(s.node, 'n1');
      assert.match(await fetchAdmin({ socketPath: path }, '/metrics'), /fileupload_slots_issued_total 0/);
      await assert.rejects(startAdminServer({ live, registry, socketPath: path }), /another process is listening/);
    } finally {
      await admin.close();
    }
    await assert.rejects(
      startAdminServer({ live, registry, socketPath: join(dir, 'x') }),
      /exists and is not a socket/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('client: a closed port or missing socket is "serve is not running"', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(
    fetchStatus({ host: '127.0.0.1', port }),
    (err: unknown) => err instanceof AdminUnreachableError && /serve is not running/.test(err.message),
  );
  await assert.rejects(
    fetchStatus({ socketPath: '/nonexistent/admin.sock' }),
    (err: unknown) => err instanceof AdminUnreachableError && /does not exist/.test(err.message),
  );
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
  assert.deepEqual(adminListenTargets({ adminPort: 7444, adminSocket: '/run/a.sock' }), [
    { host: '127.0.0.1', port: 7444 },
    { socketPath: '/run/a.sock' },
  ]);
  assert.deepEqual(adminListenTargets({ adminPort: 0, adminSocket: undefined }), []);
  assert.deepEqual(adminClientTarget({ adminPort: 7444, adminSocket: '/run/a.sock' }), { socketPath: '/run/a.sock' });
  assert.deepEqual(adminClientTarget({ adminPort: 7444, adminSocket: undefined }), { host: '127.0.0.1', port: 7444 });
  assert.equal(adminClientTarget({ adminPort: 0, adminSocket: undefined }), undefined);
  assert.deepEqual(parseAdminUrl('http://[::1]:9000/status'), { host: '::1', port: 9000 });
  assert.deepEqual(parseAdminUrl('unix:/run/x.sock'), { socketPath: '/run/x.sock' });
  assert.deepEqual(parseAdminUrl('/run/x.sock'), { socketPath: '/run/x.sock' });
  for (const bad of ['https://127.0.0.1:1', 'unix:relative', 'nonsense'])
    assert.throws(() => parseAdminUrl(bad), RangeError, bad);
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
    const slotSecret = 'q'.repeat(43);
    const both = await startAdminServers({
      settings: { adminPort: port, adminSocket: socketPath, slotSecret },
      live,
      registry,
    });
    assert.deepEqual(both.urls, [`http://127.0.0.1:${port}`, `unix:${socketPath}`]);
    assert.equal((await fetchStatus({ host: '127.0.0.1', port })).node, 'n1');
    // The token is derived from slotSecret.
    assert.equal(
      (await fetchStatus({ host: '127.0.0.1', port }, { token: adminToken(slotSecret) })).uploadDetails,
      true,
    );
    assert.equal((await fetchStatus({ host: '127.0.0.1', port })).uploadDetails, false);
    assert.equal((await fetchStatus({ socketPath })).node, 'n1');
    await both.close();
    // The socket cannot be created (a plain file is in the way): the port listener started first is closed again.
    await writeFile(join(dir, 'plain'), '');
    await assert.rejects(
      startAdminServers({ settings: { adminPort: port, adminSocket: join(dir, 'plain') }, live, registry }),
      AdminBindError,
    );
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
    assert.equal(
      sample(metrics.body, 'fileupload_connections_refused_total', { listener: 'admin', reason: 'address' }),
      12,
    );
    assert.equal(
      sample(metrics.body, 'fileupload_connections_open', { listener: 'admin' }),
      9,
      'the flood and this scrape',
    );
  } finally {
    for (const s of sockets) s.destroy();
    await admin.close();
  }
  assert.equal(live.snapshot().connections?.admin, undefined, 'a closed listener is no longer shown');
});

test('/uploads: the admin credential for reading too, DELETE only there, 503 until serve has its index', async () => {
  const { live, registry } = setup();
  const token = adminToken('u'.repeat(43));
  const admin = await startAdminServer({ live, registry, port: 0, token, uploads: () => undefined });
  try {
    const auth = `Bearer ${token}`;
    assert.equal((await get(admin.url, '/uploads?user=alice@example.org')).status, 401);
    assert.equal((await get(admin.url, '/uploads?user=alice@example.org', { authorization: auth })).status, 503);
    const post = await get(admin.url, '/uploads?user=alice@example.org', { method: 'POST', authorization: auth });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD, DELETE');
    const elsewhere = await get(admin.url, '/status', { method: 'DELETE', authorization: auth });
    assert.equal(elsewhere.status, 405);
    assert.equal(elsewhere.headers.allow, 'GET, HEAD');
  } finally {
    await admin.close();
  }
});

test('the blocklist routes: listing and takedown need the admin credential; bad requests are named', async () => {
  const { live, registry } = setup();
  const token = adminToken('b'.repeat(43));
  const asked: Array<{ target: string; note: string; by: string }> = [];
  const admin = await startAdminServer({
    live,
    registry,
    port: 0,
    token,
    blocklist: {
      entries: async () => [{ sha256: 'a'.repeat(64), added: '', by: 'x', note: '' }],
      async takeDown(request) {
        asked.push(request);
        if (request.target === 'unknown') throw Object.assign(new Error('no stored upload unknown'), { status: 404 });
        if (request.target === 'bad') throw Object.assign(new Error('not a target'), { status: 400 });
        return { sha256: 'a'.repeat(64), removed: [{ id: 'x', size: 1 }] };
      },
    },
  });
  const auth = { Authorization: `Bearer ${token}` };
  const post = (body: string, headers: Record<string, string> = auth) =>
    fetch(`${admin.url}/blocklist/takedown`, { method: 'POST', body, headers });
  try {
    assert.equal((await get(admin.url, '/blocklist')).status, 401, 'the listing needs the token');
    const listed = await get(admin.url, '/blocklist', { authorization: `Bearer ${token}` });
    assert.equal(listed.status, 200);
    assert.equal(JSON.parse(listed.body).entries[0].sha256, 'a'.repeat(64));

    const anonymous = await post('{"target":"https://x/AAAAAAAAAAAAAAAAAAAAAAAA/a"}', {});
    assert.equal(anonymous.status, 401, 'a takedown needs the token');
    assert.equal(asked.length, 0, 'and nothing was called');

    const done = await post('{"target":"https://x/AAAAAAAAAAAAAAAAAAAAAAAA/a","note":"DMCA"}');
    assert.equal(done.status, 200);
    assert.deepEqual(((await done.json()) as { removed: unknown }).removed, [{ id: 'x', size: 1 }]);
    assert.deepEqual(asked.at(-1), { target: 'https://x/AAAAAAAAAAAAAAAAAAAAAAAA/a', note: 'DMCA', by: 'admin API' });

    assert.equal((await post('{"target":"unknown"}')).status, 404);
    assert.equal((await post('{"target":"bad"}')).status, 400);
    const malformed = await post('not json');
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /expected \{"target"/);
    assert.equal((await post('x'.repeat(20_000))).status, 400, 'too long');
    const wrongMethod = await get(admin.url, '/blocklist/takedown', { method: 'PUT' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    assert.equal((await get(admin.url, '/status', { method: 'POST' })).status, 405, 'everything else stays read-only');
  } finally {
    await admin.close();
  }
});

test('without a blocklist the routes are not there', async () => {
  const { live, registry } = setup();
  const token = adminToken('c'.repeat(43));
  const admin = await startAdminServer({ live, registry, port: 0, token });
  try {
    assert.equal((await get(admin.url, '/blocklist', { authorization: `Bearer ${token}` })).status, 404);
  } finally {
    await admin.close();
  }
});
