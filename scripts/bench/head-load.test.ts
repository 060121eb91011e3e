import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { countHeads, runHeadLoad } from './head-load.ts';

test('countHeads counts answers by their blank line and flags non-2xx', () => {
  const r = countHeads('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\nHTTP/1.1 2');
  assert.deepEqual(r, { count: 2, non2xx: 1, rest: 'HTTP/1.1 2' });
});

test('runHeadLoad sends HEAD, counts answers, and reports non-2xx', async () => {
  const methods = new Set<string>();
  const server = createServer((req, res) => {
    methods.add(req.method ?? '');
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-length': 65536 }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const ok = await runHeadLoad({ url: `http://127.0.0.1:${port}/f`, connections: 4, threads: 1, seconds: 1 });
    assert.ok(ok.requests > 0);
    assert.equal(ok.non2xx, 0);
    assert.deepEqual([...methods], ['HEAD']);
    const missing = await runHeadLoad({
      url: `http://127.0.0.1:${port}/missing`,
      connections: 2,
      threads: 1,
      seconds: 1,
    });
    assert.ok(missing.requests > 0);
    assert.equal(missing.non2xx, missing.requests);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
