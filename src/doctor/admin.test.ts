import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { adminEndpoints, fetchLiveStatus, parseLiveStatus } from './admin.ts';

test('adminEndpoints lists the socket first and leaves out port 0', () => {
  assert.deepEqual(adminEndpoints({ adminPort: 7444, adminSocket: '/run/fileupload/admin.sock' }), [
    { socketPath: '/run/fileupload/admin.sock' },
    { host: '127.0.0.1', port: 7444 },
  ]);
  assert.deepEqual(adminEndpoints({ adminPort: 0, adminSocket: undefined }), []);
});

test("parseLiveStatus reads the xmpp state, its detail and serve's clock", () => {
  const s = parseLiveStatus(
    {
      schema: 1,
      now: 1234,
      pid: 7,
      version: '0.1.0',
      xmpp: { state: 'auth-failed', since: 1, detail: 'not-authorized', reconnects: 2 },
    },
    'x',
    undefined,
  );
  assert.deepEqual(s, {
    where: 'x',
    xmpp: { state: 'auth-failed', lastError: 'not-authorized' },
    serveTime: 1234,
    pid: 7,
    version: '0.1.0',
  });
  assert.equal(parseLiveStatus({ hello: 'world' }, 'x', undefined), undefined);
  assert.equal(parseLiveStatus('nope', 'x', undefined), undefined);
});

test('fetchLiveStatus gets /status from the first endpoint that answers, undefined when none does', async () => {
  const server = createServer((req, res) => {
    if (req.url !== '/status') return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ now: Date.now(), xmpp: { state: 'online', detail: null } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const live = await fetchLiveStatus([{ socketPath: '/nonexistent/admin.sock' }, { host: '127.0.0.1', port }], 1000);
    assert.equal(live?.xmpp?.state, 'online');
    assert.equal(live?.where, `http://127.0.0.1:${port}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.equal(await fetchLiveStatus([{ host: '127.0.0.1', port }], 500), undefined);
});
